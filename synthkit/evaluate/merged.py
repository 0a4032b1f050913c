"""Column shapes and pair trends from statistics merged over ALL rows (tables larger than memory).

The same metric choices as :mod:`synthkit.evaluate.fidelity` (SDMetrics' definitions), computed
from aggregates that merge by addition instead of from two frames:

* column shapes: KSComplement from the two columns' quantile summaries (the CDFs of their weighted
  points; exact while a batch holds at most 1,024 values, else within the summaries' rank error),
  TVComplement from exact category counts;
* pair trends: Pearson correlations from merged sums and cross-products over the rows where both
  values are present; contingency tables of codes (a continuous column cut into 10 equal-width
  bins between its own min and max, as ``np.histogram_bin_edges`` does per frame; missing values a
  code of their own) merged by addition.

A categorical column with more than 10,000 distinct values has no exact counts; it is skipped
with a stated reason.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthkit.evaluate.encoding import CONTINUOUS
from synthkit.evaluate.fidelity import ASSOCIATION_THRESHOLD, CORRELATION_THRESHOLD, _cramers_v, summarize_pairs
from synthkit.evaluate.stats import fnum
from synthkit.profile.sketch import ColumnSketch

__all__ = ["PairSpec", "SparseCounts", "pair_spec", "pair_batch_stats", "merge_pair_stats", "merged_fidelity", "with_all_rows"]

_BINS = 10


@dataclass
class PairSpec:
    """How each evaluated column becomes codes: bin edges per side, or a shared category list."""

    kinds: dict[str, str]
    edges: dict[str, dict[str, np.ndarray]]  # column -> side -> 11 edges
    categories: dict[str, list[Any]]  # column -> sketch keys (real and synthetic)
    families: dict[str, str]

    def size(self, column: str) -> int:
        return _BINS + 2 if column in self.edges else len(self.categories[column]) + 1


def _edges(sk: ColumnSketch) -> np.ndarray:
    if sk.minimum is None or sk.maximum is None:
        return np.linspace(0.0, 1.0, _BINS + 1)
    lo, hi = sk.minimum, sk.maximum
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, _BINS + 1)


def pair_spec(real: dict[str, ColumnSketch], syn: dict[str, ColumnSketch], kinds: dict[str, str]) -> tuple[PairSpec, dict[str, str]]:
    """The coding of every evaluable column, plus the columns skipped (with reasons)."""
    edges: dict[str, dict[str, np.ndarray]] = {}
    cats: dict[str, list[Any]] = {}
    skipped: dict[str, str] = {}
    for col, kind in kinds.items():
        if kind in CONTINUOUS:
            edges[col] = {"real": _edges(real[col]), "synthetic": _edges(syn[col])}
        elif real[col].categories is None or syn[col].categories is None:
            skipped[col] = "more than 10,000 distinct values: no exact category counts"
        else:
            cats[col] = sorted(set(real[col].categories) | set(syn[col].categories), key=str)
    kept = {c: k for c, k in kinds.items() if c not in skipped}
    return PairSpec(kept, edges, cats, {c: real[c].family for c in kept}), skipped


def _values(series: pd.Series, family: str) -> np.ndarray:
    if family == "datetime":
        values = series.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(series.dtype, "tz", None) else series
        out = values.astype("datetime64[ns]").astype("int64").to_numpy(dtype=float)
        out[series.isna().to_numpy()] = np.nan
        return out
    return series.to_numpy(dtype=float, na_value=np.nan)


def _codes(series: pd.Series, column: str, spec: PairSpec, side: str) -> np.ndarray:
    if column in spec.edges:
        return np.digitize(_values(series, spec.families[column]), bins=spec.edges[column][side])
    family = spec.families[column]
    if family == "numeric":
        keyed = series.astype(float)
    elif family == "boolean":
        keyed = series.astype(object).where(series.notna(), None).map(lambda v: None if v is None else bool(v))
    else:
        keyed = series.astype(object).where(series.isna(), series.astype(str))
    codes = pd.Categorical(keyed, categories=spec.categories[column]).codes.astype(np.int64)
    return np.where(codes < 0, len(spec.categories[column]), codes)


def pair_batch_stats(frame: pd.DataFrame, spec: PairSpec, side: str) -> dict[str, Any]:
    """Sums for Pearson (pairwise complete rows) and contingency counts of one batch."""
    cont = [c for c in spec.kinds if spec.kinds[c] in CONTINUOUS]
    x = np.column_stack([_values(frame[c], spec.families[c]) for c in cont]) if cont else np.zeros((len(frame), 0))
    mask = np.isfinite(x).astype(float)
    x0 = np.where(mask > 0, x, 0.0)
    out: dict[str, Any] = {"n": mask.T @ mask, "sx": x0.T @ mask, "sxx": (x0 * x0).T @ mask, "sxy": x0.T @ x0,
                           "tables": {}}
    codes = {c: _codes(frame[c], c, spec, side) for c in spec.kinds}
    for a, b in itertools.combinations(list(spec.kinds), 2):
        if a in cont and b in cont:
            continue
        kb = spec.size(b)
        out["tables"][f"{a}|{b}"] = _counts(codes[a] * kb + codes[b], spec.size(a) * kb)
    return out


@dataclass(frozen=True)
class SparseCounts:
    """A batch's contingency counts where most cells are empty: the cells seen and their counts."""

    size: int  # cells of the whole table
    cells: np.ndarray  # int64 cell index, unique and sorted
    counts: np.ndarray  # uint32


def _counts(combined: np.ndarray, size: int) -> np.ndarray | SparseCounts:
    """One batch's counts of each cell, in the smaller of two forms.

    Why: on Ray these travel through the object store to the driver, once per batch and pair. Dense
    int64 tables of two high-cardinality columns (3,000 x 400 categories: 9.6 MB) made the driver
    touch about 1.3 GB of object-store pages in a 10 M-row evaluation (scale benchmark). A batch
    has at most ``len(combined)`` non-empty cells, so a table with many more cells than rows goes
    sparse (12 B per non-empty cell), and dense counts fit uint32 (a batch has fewer than 2^32 rows).
    """
    if size > 3 * len(combined):
        cells, counts = np.unique(combined, return_counts=True)
        return SparseCounts(size, cells.astype(np.int64, copy=False), counts.astype(np.uint32))
    return np.bincount(combined, minlength=size).astype(np.uint32)


def _add(total: np.ndarray | None, part: np.ndarray | SparseCounts) -> np.ndarray:
    """``total + part`` as dense int64 counts (the merged table is held once, on the driver)."""
    if total is None:
        total = np.zeros(part.size, dtype=np.int64)  # SparseCounts.size, or a dense array's own
    if isinstance(part, SparseCounts):
        total[part.cells] += part.counts  # cells are unique within a part
    else:
        total += part
    return total


def merge_pair_stats(parts: Any) -> dict[str, Any] | None:
    """Add up per-batch pair statistics (contingency tables as dense int64 counts)."""
    total: dict[str, Any] | None = None
    for part in parts:
        if total is None:
            total = {**part, "tables": {}}
        else:
            for key in ("n", "sx", "sxx", "sxy"):
                total[key] = total[key] + part[key]
        for key, table in part["tables"].items():
            total["tables"][key] = _add(total["tables"].get(key), table)
    return total


def _pearson(stats: dict[str, Any], i: int, j: int) -> float:
    n = stats["n"][i, j]
    if n < 2:
        return float("nan")
    sa, sb = stats["sx"][i, j], stats["sx"][j, i]
    va = stats["sxx"][i, j] - sa * sa / n
    vb = stats["sxx"][j, i] - sb * sb / n
    if va <= 1e-12 * max(abs(stats["sxx"][i, j]), 1.0) or vb <= 1e-12 * max(abs(stats["sxx"][j, i]), 1.0):
        return float("nan")
    return float((stats["sxy"][i, j] - sa * sb / n) / np.sqrt(va * vb))


def _ks(real: ColumnSketch, syn: ColumnSketch) -> float | None:
    if not len(real.points) or not len(syn.points):
        return None
    grid = np.union1d(real.points, syn.points)
    cdfs = []
    for sk in (real, syn):
        order = np.argsort(sk.points, kind="stable")
        cum = np.cumsum(sk.weights[order]) / sk.weights.sum()
        idx = np.searchsorted(sk.points[order], grid, side="right") - 1
        cdfs.append(np.where(idx >= 0, cum[np.clip(idx, 0, None)], 0.0))
    return float(1.0 - np.max(np.abs(cdfs[0] - cdfs[1])))


def _tv(real: ColumnSketch, syn: ColumnSketch) -> float | None:
    r, s = real.categories or {}, syn.categories or {}
    nr, ns = sum(r.values()), sum(s.values())
    if not nr or not ns:
        return 0.0
    keys = set(r) | set(s)
    return float(1 - 0.5 * sum(abs(r.get(k, 0) / nr - s.get(k, 0) / ns) for k in keys))


def merged_fidelity(real: dict[str, ColumnSketch], syn: dict[str, ColumnSketch], spec: PairSpec,
                    real_pairs: dict[str, Any], syn_pairs: dict[str, Any]) -> dict[str, Any]:
    """``column_shapes``, ``column_pair_trends`` (+ per column / pair details) over all rows."""
    columns: dict[str, dict[str, Any]] = {}
    for col, kind in spec.kinds.items():
        continuous = kind in CONTINUOUS
        score = _ks(real[col], syn[col]) if continuous else _tv(real[col], syn[col])
        columns[col] = {"metric": "KSComplement" if continuous else "TVComplement", "score": fnum(score)}
    cont = [c for c in spec.kinds if spec.kinds[c] in CONTINUOUS]
    pairs: dict[str, dict[str, Any]] = {}
    for a, b in itertools.combinations(list(spec.kinds), 2):
        key = f"{a}|{b}"
        if a in cont and b in cont:
            i, j = cont.index(a), cont.index(b)
            cr, cs = _pearson(real_pairs, i, j), _pearson(syn_pairs, i, j)
            score = float("nan") if np.isnan(cr) or np.isnan(cs) else 1 - abs(cr - cs) / 2
            pairs[key] = {"metric": "CorrelationSimilarity", "score": fnum(score), "real": fnum(cr), "synthetic": fnum(cs),
                          "meets_threshold": bool(not np.isnan(cr) and abs(cr) > CORRELATION_THRESHOLD)}
            continue
        shape = (spec.size(a), spec.size(b))
        jr, js = real_pairs["tables"][key].astype(float), syn_pairs["tables"][key].astype(float)
        score = 1 - 0.5 * np.abs(jr / jr.sum() - js / js.sum()).sum()
        vr, vs = _cramers_v(jr.reshape(shape)), _cramers_v(js.reshape(shape))
        pairs[key] = {"metric": "ContingencySimilarity", "score": fnum(score), "real": fnum(vr), "synthetic": fnum(vs),
                      "meets_threshold": bool(not np.isnan(vr) and vr > ASSOCIATION_THRESHOLD)}
    shapes = [c["score"] for c in columns.values() if c["score"] is not None]
    trends, trends_all, n_meet = summarize_pairs(pairs)
    return {"column_shapes": fnum(np.mean(shapes)) if shapes else None, "column_pair_trends": trends,
            "column_pair_trends_all_pairs": trends_all, "column_pair_trends_pairs_used": n_meet,
            "columns": columns, "pairs": pairs}


def with_all_rows(fid: dict[str, Any], merged: dict[str, Any], skipped: dict[str, str]) -> dict[str, Any]:
    """``fid`` (the fidelity family scored on row samples) with column shapes and pair trends replaced
    by their all-rows values (:func:`merged_fidelity`); detection and distances stay the samples'.
    The score is recombined as the evaluator combines it (shapes, trends, 1 - 2 * max(AUC - 0.5, 0))."""
    for name, entry in merged["columns"].items():
        fid.setdefault("columns", {}).setdefault(name, {}).update(entry)
    fid["pairs"] = {**fid.get("pairs", {}), **merged["pairs"]}
    fid.update({k: v for k, v in merged.items() if k not in ("columns", "pairs")})
    det = fid.get("detection_auc")
    trends = merged["column_pair_trends"] if merged["column_pair_trends"] is not None else merged["column_pair_trends_all_pairs"]
    parts = [v for v in (merged["column_shapes"], trends, None if det is None else 1 - 2 * max(det - 0.5, 0.0)) if v is not None]
    fid["score"] = fnum(np.mean(parts)) if parts else None
    fid.setdefault("skipped", {}).update({f"column {c}": r for c, r in skipped.items()})
    return fid
