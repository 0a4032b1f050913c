"""Check, align and subsample the three frames an evaluation compares.

Every later metric assumes one canonical form: the same columns in real, holdout and synthetic;
numeric and datetime columns as float64 (datetimes as seconds since the epoch); categories and
booleans as strings with NaN for missing. Columns that cannot be compared (ids, free text, PII,
all-missing) are dropped here *with a recorded reason* so no metric silently sees a subset.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthkit.errors import EvaluationError
from synthkit.io import Dataset
from synthkit.meta import Metadata, TableMeta
from synthkit.profile import profile

__all__ = ["EVALUATED_KINDS", "Prepared", "prepare", "split_holdout"]

log = logging.getLogger(__name__)

EVALUATED_KINDS = ("numerical", "datetime", "categorical", "boolean")
MIN_ROWS = 20  # cross-validation folds, second neighbours and interval estimates need a few rows


def split_holdout(df: pd.DataFrame, share: float = 0.5, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split real rows into ``(train, holdout)`` *before* fitting, so the model never sees the holdout.

    The privacy tests compare synthetic rows with train rows against the same comparison with
    holdout rows; a 50/50 split (as MOSTLY AI's QA uses) makes both references the same size.
    """
    if not isinstance(df, pd.DataFrame):
        raise EvaluationError(f"split_holdout expects a pandas DataFrame, got {type(df).__name__}")
    if not 0.0 < share < 1.0:
        raise EvaluationError(f"holdout share must be strictly between 0 and 1, got {share}")
    n = len(df)
    n_hold = round(n * share)
    if n_hold < 1 or n - n_hold < 1:
        raise EvaluationError(f"cannot split {n} rows into train and holdout with share {share}")
    perm = np.random.default_rng(seed).permutation(n)
    hold_idx, train_idx = np.sort(perm[:n_hold]), np.sort(perm[n_hold:])
    return df.iloc[train_idx].reset_index(drop=True), df.iloc[hold_idx].reset_index(drop=True)


def split_units(data: Dataset, owners: dict[str, pd.Series], root: str, share: float = 0.5, seed: int = 0
                ) -> tuple[Dataset, dict[str, pd.DataFrame]]:
    """(train, holdout) of every table, whole units held out (rows, entities, root rows with all their
    children), so no held-out person has a single row in training. ``owners`` gives each table's
    unit per row, the root's units are split; a table without one stays in training (nothing says whose rows)."""
    ids = pd.DataFrame({"unit": pd.unique(owners[root])})
    train_ids, _ = split_holdout(ids, share=share, seed=seed)
    train: dict[str, pd.DataFrame] = {}
    holdout: dict[str, pd.DataFrame] = {}
    for name, frame in data.tables.items():
        owner = owners.get(name)
        if owner is None:
            train[name], holdout[name] = frame, frame.iloc[:0]
            continue
        in_train = owner.isin(train_ids["unit"]).to_numpy() | owner.isna().to_numpy()
        train[name] = frame[in_train].reset_index(drop=True)
        holdout[name] = frame[~in_train].reset_index(drop=True)
    return Dataset(tables=train, primary_keys=data.primary_keys, relationships=data.relationships, name=data.name), holdout


@dataclass
class Prepared:
    """Canonical, aligned, possibly subsampled frames plus the bookkeeping ``meta`` reports."""

    train: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    kinds: dict[str, str]
    excluded: dict[str, str]
    pii_columns: dict[str, str]
    rows: dict[str, int | None]
    evaluated_rows: dict[str, int | None]
    subsampled: bool
    table: TableMeta
    raw_pii: dict[str, dict[str, pd.Series]] = field(default_factory=dict)
    holdout_groups: np.ndarray | None = None  # entity of each holdout row (``entity=``), else None
    synthetic_groups: np.ndarray | None = None  # entity of each synthetic row, when the synthetic data has the column


def _check_frame(df: object, name: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise EvaluationError(f"{name} data must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise EvaluationError(f"{name} data has no rows")
    if len(df) < MIN_ROWS:
        raise EvaluationError(f"{name} data has {len(df)} rows; evaluation needs at least {MIN_ROWS}")
    if df.columns.duplicated().any():
        raise EvaluationError(f"{name} data has duplicate column names: {sorted(map(str, df.columns[df.columns.duplicated()]))}")
    return df


def _check_columns(real: pd.DataFrame, other: pd.DataFrame, name: str) -> None:
    missing = [c for c in real.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in real.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"unexpected {extra}")
        raise EvaluationError(f"column mismatch between real and {name} data: {name} has " + "; ".join(parts))


def _canonical(series: pd.Series, kind: str, frame: str) -> pd.Series:
    """One dtype per kind; raise when values cannot be read as that kind (never silently NaN them)."""
    col = series.name
    if kind == "numerical":
        if pd.api.types.is_bool_dtype(series.dtype):
            series = series.astype(float)
        out = pd.to_numeric(series, errors="coerce").astype(float)
    elif kind == "datetime":
        if pd.api.types.is_numeric_dtype(series.dtype):
            out = series.astype(float)
            return out
        parsed = pd.to_datetime(series, errors="coerce", utc=True)
        out = pd.Series(parsed.astype("int64").to_numpy() / 1e9, index=series.index, dtype=float)
        out[parsed.isna().to_numpy()] = np.nan
    elif kind == "boolean":
        if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
            num = pd.to_numeric(series, errors="coerce")
            out = pd.Series(np.where(num.isna(), None, np.where(num != 0, "True", "False")), index=series.index, dtype=object)
        else:
            low = series.astype("object").where(series.isna(), series.astype(str).str.strip().str.lower())
            mapped = low.map({"true": "True", "1": "True", "yes": "True", "false": "False", "0": "False", "no": "False"})
            out = mapped.where(mapped.notna(), series.astype("object").where(series.isna(), series.astype(str)))
        return out.where(series.notna(), np.nan).astype(object)
    else:
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            # numeric codes: 3, 3.0 and Int64 3 are one category ("3"), whatever dtype NaNs forced
            num = pd.to_numeric(series, errors="coerce").astype(float)
            whole = num.dropna()
            if len(whole) and bool(np.all(np.floor(whole) == whole)) and bool((whole.abs() < 2**53).all()):
                text = num.astype("Int64").astype(str)  # beyond 2**53 floats are not exact integers
            else:
                text = num.astype(str)
            return text.astype(object).where(num.notna(), np.nan)
        return series.astype("object").where(series.isna(), series.astype(str)).astype(object)
    bad = out.isna() & series.notna()
    if bad.any():
        example = series[bad].iloc[0]
        raise EvaluationError(
            f"{frame} column {col!r} is {kind} in the metadata but holds {int(bad.sum())} values that are not, e.g. {example!r}"
        )
    return out


def _subsample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(df) <= n:
        return df.reset_index(drop=True)
    idx = np.sort(rng.choice(len(df), size=n, replace=False))
    return df.iloc[idx].reset_index(drop=True)


def prepare(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    metadata: Metadata | None,
    max_rows: int,
    seed: int,
    entity: str | None = None,
) -> Prepared:
    """Validate, canonicalize and subsample; raise :class:`EvaluationError` naming any problem."""
    real = _check_frame(real, "real")
    synthetic = _check_frame(synthetic, "synthetic")
    _check_columns(real, synthetic, "synthetic")
    if holdout is not None:
        holdout = _check_frame(holdout, "holdout")
        _check_columns(real, holdout, "holdout")
    if not isinstance(max_rows, int) or max_rows < 100:
        raise EvaluationError(f"max_rows must be an integer >= 100, got {max_rows!r}")
    if entity is not None and (entity not in real.columns or (holdout is not None and entity not in holdout.columns)):
        raise EvaluationError(f"entity column {entity!r} is not in the real and holdout data")
    if metadata is None:
        metadata = profile(real)
    table = metadata.table()
    undescribed = [c for c in real.columns if c not in table.column_names]
    if undescribed:
        raise EvaluationError(f"columns not described by the metadata: {undescribed}")

    kinds: dict[str, str] = {}
    excluded: dict[str, str] = {}
    pii: dict[str, str] = {}
    for meta in table.columns:
        if meta.name not in real.columns:
            continue
        if meta.is_pii:
            pii[meta.name] = meta.pii
            excluded[meta.name] = f"PII column (pii={meta.pii}): checked only by pii_leaks"
        elif meta.kind not in EVALUATED_KINDS:
            excluded[meta.name] = f"kind {meta.kind}: identifiers and free text have no distribution to compare"
        elif real[meta.name].isna().all():
            excluded[meta.name] = "all values missing in the real data"
        else:
            kinds[meta.name] = meta.kind
    if not kinds:
        raise EvaluationError(f"no column can be evaluated: {excluded}")

    rng = np.random.default_rng(seed)
    rows = {"real": len(real), "synthetic": len(synthetic), "holdout": None if holdout is None else len(holdout)}
    n_real = min(len(real), max_rows) if holdout is None else min(len(real), len(holdout), max_rows)
    train_s = _subsample(real, n_real, rng)
    hold_s = None if holdout is None else _subsample(holdout, n_real, rng)
    syn_s = _subsample(synthetic, min(len(synthetic), max_rows), rng)
    evaluated = {"real": len(train_s), "synthetic": len(syn_s), "holdout": None if hold_s is None else len(hold_s)}
    subsampled = any(rows[k] is not None and evaluated[k] != rows[k] for k in rows)
    if subsampled:
        log.info("evaluation subsampled to %s (from %s)", evaluated, rows)

    def canon(df: pd.DataFrame, name: str) -> pd.DataFrame:
        return pd.DataFrame({c: _canonical(df[c], k, name) for c, k in kinds.items()})

    raw_pii = {c: {"real": real[c], "synthetic": synthetic[c]} for c in pii}
    if holdout is not None:
        for c in pii:
            raw_pii[c]["holdout"] = holdout[c]
    return Prepared(
        train=canon(train_s, "real"),
        synthetic=canon(syn_s, "synthetic"),
        holdout=None if hold_s is None else canon(hold_s, "holdout"),
        kinds=kinds,
        excluded=excluded,
        pii_columns=pii,
        rows=rows,
        evaluated_rows=evaluated,
        subsampled=subsampled,
        table=table,
        raw_pii=raw_pii,
        holdout_groups=None if hold_s is None or entity is None else hold_s[entity].astype(str).to_numpy(),
        synthetic_groups=None if entity is None or entity not in syn_s.columns else syn_s[entity].astype(str).to_numpy(),
    )
