"""The Gaussian copula fitted from merged statistics, for tables no process holds in memory.

Two passes over the batches, each returning only aggregates that merge by addition:

1. marginals: a :class:`~synthkit.profile.sketch.ColumnSketch` per learned column of the model
   frame (quantile summary, missing count, min/max for numbers; exact counts for categories);
2. dependence: count, sums and cross-products of the columns' normal scores (the same scores
   :class:`~synthkit.models.copula.GaussianCopula` uses: grid CDF with ties spread uniformly,
   frequency intervals for categories, a missing/present variable), merged into a correlation.

The result is an ordinary ``GaussianCopula`` (same file format, samples anywhere). Versus the
in-memory fit, its quantile grid carries the sketch's rank error (<= 1/1024 of the rows) and a
value's CDF position is resolved to its grid cell (``1 / (n_quantiles - 1)``), so correlations of
normal scores differ from the in-memory fit by about that much.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthkit.errors import DataError
from synthkit.models.copula import _EPS, _MISSING, GaussianCopula, _frequency_interval_scores, _nearest_correlation
from synthkit.meta import Metadata
from synthkit.profile.sketch import ColumnSketch, TableSketch, row_keys, sketch_column
from synthkit.transform.schema import TableSchema

__all__ = ["fit_copula_from_batches"]

MapBatches = Callable[[Callable[[Any], Any]], Iterable[Any]]


def fit_copula_from_batches(map_batches: MapBatches, metadata: Metadata, sketch: TableSketch, *, seed: int = 0,
                            n_quantiles: int = 1001, tail_quantile: float = 0.0) -> GaussianCopula:
    """A fitted copula from ``map_batches(fn)`` (an engine's, bound to the source) and the raw
    table's merged ``sketch`` (its row sample fits the column specs that need values)."""
    model = GaussianCopula(metadata=metadata, seed=seed, n_quantiles=n_quantiles, tail_quantile=tail_quantile)
    model._check_params()
    table = metadata.table()
    names = table.column_names
    schema = TableSchema.fit(sketch.sample[names], table, tail_quantile=tail_quantile)
    numeric, categorical = schema.numerical_names, schema.categorical_names

    def marginal_pass(batch: Any) -> dict[str, ColumnSketch]:
        frame = schema.to_model_frame(_frame(batch, names))
        out = {c: sketch_column(frame[c], c) for c in numeric}
        out.update({c: sketch_column(frame[c].fillna(_MISSING).astype(str), c) for c in categorical})
        return out

    merged: dict[str, ColumnSketch] | None = None
    for part in map_batches(marginal_pass):
        merged = part if merged is None else {c: merged[c].merge(part[c]) for c in merged}
    if merged is None:
        raise DataError("the source has no rows")
    _fix_specs(schema, merged, sketch, tail_quantile)
    marginals = _marginals(schema, merged, n_quantiles)

    def moment_pass(batch: Any) -> tuple[int, np.ndarray, np.ndarray]:
        raw = _frame(batch, names)
        frame = schema.to_model_frame(raw)
        rng = np.random.default_rng([seed & 0xFFFFFFFF, int(row_keys(raw.iloc[:1], seed)[0]) if len(raw) else 0])
        z = _scores(frame, marginals, rng)
        return len(frame), z.sum(axis=0), z.T @ z

    n, total, cross = 0, 0.0, 0.0
    for rows, s, c in map_batches(moment_pass):
        n, total, cross = n + rows, total + s, cross + c
    dims = sum(1 for m in marginals if m["type"] != "numerical" or m["grid"])
    if dims and n > 1:
        mean = np.asarray(total) / n
        cov = (np.asarray(cross) - n * np.outer(mean, mean)) / (n - 1)
        sd = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
        corr = np.nan_to_num(cov / np.outer(sd, sd), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        correlation = _nearest_correlation(corr)
    else:
        correlation = np.eye(dims)
    _install(model, metadata, schema, marginals, correlation, sketch.rows, seed)
    return model


def _frame(batch: Any, names: list[str]) -> pd.DataFrame:
    frame = batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()
    return frame[names].reset_index(drop=True)


def _fix_specs(schema: TableSchema, merged: dict[str, ColumnSketch], raw: TableSketch, tail: float) -> None:
    """Bounds, integrality and nullability from all rows (the sample only knew its own)."""
    for spec in schema.columns:
        if spec.name in raw.columns:
            spec.nullable = raw.columns[spec.name].missing > 0
        sk = merged.get(spec.name)
        if sk is None or spec.role != "numerical" or not sk.present:
            continue
        if spec.kind == "numerical":
            spec.integer = sk.integral
        q = tail if spec.pii == "none" else max(tail, 0.01)
        spec.low, spec.high = (sk.minimum, sk.maximum) if q == 0 else (float(v) for v in sk.quantiles([q, 1 - q]))


def _marginals(schema: TableSchema, merged: dict[str, ColumnSketch], n_quantiles: int) -> list[dict[str, Any]]:
    """The copula's marginal list, in its order (numerical [+ missing], then categorical)."""
    out: list[dict[str, Any]] = []
    for name in schema.numerical_names:
        sk = merged[name]
        grid = sk.quantiles(np.linspace(0, 1, n_quantiles)).tolist() if sk.present else []
        out.append({"column": name, "type": "numerical", "grid": grid})
        if sk.missing and sk.present:
            share = sk.missing / sk.count
            out.append({"column": name, "type": "missing", "categories": [True, False], "probs": [share, 1 - share]})
    for name in schema.categorical_names:
        cats = merged[name].categories
        if cats is None:
            raise DataError(f"column {name!r} has more than 10,000 categories; declare it id or text in profile.kinds")
        ordered = sorted(cats.items(), key=lambda kv: (-kv[1], str(kv[0])))
        total = sum(v for _, v in ordered)
        out.append({"column": name, "type": "categorical", "categories": [str(k) for k, _ in ordered],
                    "probs": [v / total for _, v in ordered]})
    return out


def _scores(frame: pd.DataFrame, marginals: list[dict[str, Any]], rng: np.random.Generator) -> np.ndarray:
    """Normal scores of one batch, one column per copula dimension."""
    n = len(frame)
    cols: list[np.ndarray] = []
    for m in marginals:
        name = m["column"]
        if m["type"] == "numerical":
            if not m["grid"]:
                continue
            values = frame[name].to_numpy(dtype=float)
            present = ~np.isnan(values)
            grid = np.asarray(m["grid"])
            top = len(grid) - 1
            lo = np.searchsorted(grid, values[present], side="left")
            hi = np.searchsorted(grid, values[present], side="right")
            a = np.clip(lo - 1, 0, top)
            b = np.clip(np.maximum(hi - 1, lo), 0, top)
            u = np.full(n, 0.5)
            u[present] = (a + rng.random(len(a)) * (b - a)) / top
            z = ndtri(np.clip(u, _EPS, 1 - _EPS))
            z[~present] = rng.standard_normal(int((~present).sum()))
            cols.append(z)
        elif m["type"] == "missing":
            present = frame[name].notna().to_numpy()
            cols.append(_frequency_interval_scores(present.astype(np.int64), np.asarray(m["probs"]), rng))
        else:
            values = frame[name].fillna(_MISSING).astype(str)
            codes = pd.Categorical(values, categories=m["categories"]).codes
            if (codes < 0).any():
                raise DataError(f"column {name!r} changed between passes over the source")
            cols.append(_frequency_interval_scores(codes, np.asarray(m["probs"]), rng))
    return np.column_stack(cols) if cols else np.zeros((n, 0))


def _install(model: GaussianCopula, metadata: Metadata, schema: TableSchema, marginals: list[dict[str, Any]],
             correlation: np.ndarray, rows: int, seed: int) -> None:
    """Put the fitted state where ``Synthesizer.fit`` would have (so save/load/sample work as usual)."""
    model.metadata = metadata
    model.table_ = metadata.table()
    model.schema_ = schema
    model.constraints_, model.constraint_report_ = [], {}
    model.n_training_rows_ = rows
    model.marginals_ = marginals
    model.correlation_ = correlation
    model._sample_rng_ = np.random.default_rng(seed)
    model.fitted_ = True
