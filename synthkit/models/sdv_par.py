"""``sdv-par``: SDV's PARSynthesizer behind the ``sequence`` interface, for side-by-side benchmarks.

sdv is imported at module top on purpose: without the optional ``synthkit[sdv]`` extra the
registry simply leaves this model out. Same call shape as ``sequence``: ``fit(df_long, entity=...,
time=..., context=[...])`` and ``sample(n)`` → ``n`` entities in long format.

Not pickle-free: PAR's fitted state (RDT transformers, torch module inside Python objects) can only
be stored with cloudpickle, so ``save`` refuses with a clear error, as the other sdv-* adapters do.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sdv.metadata import Metadata as SdvMetadata
from sdv.sequential import PARSynthesizer

from synthkit.errors import ConfigError, DataError, ModelError
from synthkit.models.base import SequenceSynthesizer as SequenceProtocol
from synthkit.models.base import Synthesizer, _validate_n
from synthkit.models.registry import register
from synthkit.utils.seeding import seed_everything

__all__ = ["SdvPar"]

log = logging.getLogger(__name__)


@register("sdv-par")
class SdvPar(Synthesizer):
    """PARSynthesizer adapter (long-format sequences with per-entity context)."""

    protocol: ClassVar[type] = SequenceProtocol
    pickle_free: ClassVar[bool] = False
    test_params: ClassVar[dict[str, Any]] = {"epochs": 2}

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 entity: str | None = None, time: str | None = None, context: list[str] | None = None,
                 epochs: int = 128, segment_size: int | None = None) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.entity, self.time, self.context, self.epochs, self.segment_size = entity, time, context, epochs, segment_size

    def fit(self, data: pd.DataFrame, entity: str | None = None, time: str | None = None,  # type: ignore[override]
            context: list[str] | None = None) -> SdvPar:
        """Fit PAR on long-format ``data``."""
        data = self._validate_input(data)
        self.entity_, self.time_ = entity or self.entity, time or self.time
        self.context_ = list(context if context is not None else self.context or [])
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(f"sdv-par: epochs must be a positive integer, got {self.epochs!r}")
        for role, col in [("entity", self.entity_), ("time", self.time_)] + [("context", c) for c in self.context_]:
            if col is None and role == "entity":
                raise DataError("sdv-par: name the entity column (fit(..., entity='id'))")
            if col is not None and col not in data.columns:
                raise DataError(f"sdv-par: {role} column {col!r} is not in the data")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            meta = SdvMetadata.detect_from_dataframes({"events": data})
        meta.update_column(self.entity_, sdtype="id", table_name="events")
        meta.set_sequence_key(self.entity_, table_name="events")
        if self.time_:
            kind = "datetime" if pd.api.types.is_datetime64_any_dtype(data[self.time_]) else "numerical"
            meta.update_column(self.time_, sdtype=kind, table_name="events")
            meta.set_sequence_index(self.time_, table_name="events")
        if self.seed is not None:
            seed_everything(self.seed)
        self.columns_ = list(data.columns)
        self.dtypes_ = {c: str(t) for c, t in data.dtypes.items()}
        self.sdv_synthesizer_ = PARSynthesizer(meta, context_columns=self.context_ or None, epochs=self.epochs,
                                               segment_size=self.segment_size, cuda=False, verbose=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.sdv_synthesizer_.fit({"events": data})
        self.n_training_rows_ = len(data)
        self._sample_rng_ = np.random.default_rng(self.seed)
        self.fitted_ = True
        return self

    def sample(self, n: int, seed: int | None = None, conditions: dict[str, Any] | None = None) -> pd.DataFrame:
        """``n`` entities in long format (PAR samples lengths itself)."""
        self._require_fitted()
        if conditions:
            raise ConfigError("sdv-par: conditions are not supported")
        n = _validate_n(n)
        seed = int(seed) if seed is not None else int(self._sample_rng_.integers(0, 2**31 - 1))
        seed_everything(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.sdv_synthesizer_.sample_sequences(num_sequences=n)
        if isinstance(out, dict):
            out = next(iter(out.values()))
        out = out[self.columns_].reset_index(drop=True)
        out[self.entity_] = _fresh_ids(out[self.entity_], np.random.default_rng(seed))
        return out

    def save(self, path: str | Path, key: bytes | str | None = None) -> Path:
        raise ModelError("the sdv-par adapter cannot be saved without pickle (SDV stores its state with cloudpickle); "
                         "refit it, or call model.sdv_synthesizer_.save(path) for files you trust")


def _fresh_ids(ids: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Entity ids drawn from the sampling seed: RDT's key generators keep state across calls, so
    the ids SDV writes differ between two samples with the same seed."""
    codes, _ = pd.factorize(ids, sort=False)
    k = int(codes.max()) + 1 if len(codes) else 0
    if pd.api.types.is_integer_dtype(ids.dtype):
        fresh = (int(rng.integers(10**8, 10**9)) + rng.permutation(k)).astype(ids.dtype)
    else:
        fresh = np.array([f"ID{i:08d}" for i in rng.permutation(k)], dtype=object)
    return pd.Series(fresh[codes], index=ids.index)

