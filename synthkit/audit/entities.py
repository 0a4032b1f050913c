"""The audit's whole-record rule for sequences: a synthetic entity whose steps equal, one by one and
in order, those of a real entity that is unique in the real data.

A sequence can repeat a person without any single row doing so (rows carry absolute times, which
seldom match), so rows alone miss it. Records compare on the learned columns (:func:`row_columns`,
the entity id excluded: models regenerate it), with the time column as the offset from the entity's
first step: a recited stay moved to another day is still recited. Like the row rule, a real record
counts only when no other real entity has it and at least ``min_values`` values are present in it;
values compare as in :func:`~synthkit.audit.normalize.row_frame`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthkit.audit.normalize import row_frame
from synthkit.audit.sources import row_columns
from synthkit.errors import DataError
from synthkit.meta import TableMeta

__all__ = ["ReproducedEntities"]


class ReproducedEntities:
    """Which synthetic entities reproduce a unique real entity's whole record. The real records are
    hashed once, so a sampler can ask round after round about the entities it drew again."""

    def __init__(self, real: pd.DataFrame, table: TableMeta, entity: str, time: str | None, min_values: int) -> None:
        if entity not in real.columns:
            raise DataError(f"the real data has no entity column {entity!r}")
        self.entity, self.time = entity, (time if time in real.columns else None)
        self.columns = [c for c in row_columns(table, real) if c != entity]
        self.numeric = {c: pd.api.types.is_numeric_dtype(real[c].dtype) and not pd.api.types.is_bool_dtype(real[c].dtype)
                        for c in self.columns}
        self.dates = {c: pd.api.types.is_datetime64_any_dtype(real[c].dtype) or table.column(c).kind == "datetime"
                      for c in self.columns}
        hashes, present = self._records(real)
        unique = ~hashes.duplicated(keep=False)
        self.identifying = pd.Index(hashes[unique & (present >= min_values)].to_numpy())

    def __call__(self, synthetic: pd.DataFrame) -> pd.Series:
        """Per synthetic entity id (in order of appearance): whether it reproduces a unique real record."""
        missing = [c for c in [self.entity, *self.columns] if c not in synthetic.columns]
        if missing:
            raise DataError(f"the synthetic table lacks columns {missing[:5]} of the real records")
        hashes, _ = self._records(synthetic)
        return pd.Series(hashes.isin(self.identifying), index=hashes.index)

    def _records(self, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """One hash per entity of its rows in time order (times as offsets), and its present values."""
        frame = frame.reset_index(drop=True)
        codes, ids = pd.factorize(frame[self.entity], use_na_sentinel=False)
        values = row_frame(frame, self.columns, self.numeric, self.dates)
        order = np.lexsort((values[self.time].to_numpy(dtype=float), codes)) if self.time else np.argsort(codes, kind="stable")
        values, codes = values.iloc[order].reset_index(drop=True), codes[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        lengths = np.diff(np.r_[starts, len(codes)])
        if self.time:  # offsets from the entity's first step: the same record on another day is the same record
            clock = values[self.time].to_numpy(dtype=float)
            values[self.time] = np.round(clock - np.repeat(clock[starts], lengths), 6)
        rows = pd.util.hash_pandas_object(values, index=False).to_numpy(dtype=np.uint64)
        step = np.arange(len(codes)) - np.repeat(starts, lengths)
        # each row's hash mixed with its position, summed per entity (wrapping in 64 bits), then mixed
        # with the length: order-sensitive, and equal records always hash alike
        mixed = pd.util.hash_pandas_object(pd.DataFrame({"row": rows, "step": step}), index=False).to_numpy(dtype=np.uint64)
        sums = np.add.reduceat(mixed, starts) if len(starts) else np.empty(0, dtype=np.uint64)
        record = pd.util.hash_pandas_object(pd.DataFrame({"sum": sums, "length": lengths}), index=False).to_numpy(dtype=np.uint64)
        counted = [c for c in self.columns if c != self.time]  # an offset says nothing until there are steps to compare
        present = np.add.reduceat(frame[counted].iloc[order].notna().sum(axis=1).to_numpy(), starts) if len(starts) else np.empty(0)
        index = pd.Index(ids[codes[starts]], name=self.entity)
        return pd.Series(record, index=index), pd.Series(present, index=index)
