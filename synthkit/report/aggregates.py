"""Privacy-safe aggregates of real (and synthetic) columns for the report's charts.

The report must never contain a real record, so nothing here returns raw values of the real data
except categories seen at least ``k`` times. Concretely:

- numeric histograms use bins between the real 1% and 99% quantiles (never the raw min/max), with
  everything outside in two tail bins; bins holding fewer than ``k`` real rows are merged into a
  neighbour, so every bar describes at least ``k`` people;
- categorical bars show only categories with at least ``k`` real rows, the rest as
  "other (n categories)";
- PII, id and free-text columns get no value summary at all, only counts;
- summaries report quantiles (1%, 25%, 50%, 75%, 99%), not minima and maxima; with few rows the
  outer quantiles move inwards to the k-th smallest/largest value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthkit.meta import ColumnMeta
from synthkit.report import svg

log = logging.getLogger(__name__)

__all__ = ["ColumnView", "association_matrix", "association_views", "chartable_columns", "column_view", "is_sensitive"]

_MAX_BARS = 12
_MAX_DISCRETE = 20  # integer columns with at most this many values get one bar per value
_FINE_BINS = 24
def _outer_level(n: int, k: int) -> float:
    """Lowest quantile level shown: 1%, or the k-th smallest value when there are few rows.

    So the most extreme number in the report is always shared by at least k real rows' side of
    the distribution, never a single person's raw minimum or maximum.
    """
    return max(0.01, k / n) if n else 0.5


def _levels(n: int, k: int) -> list[float]:
    p = _outer_level(n, k)
    return sorted({q for q in (p, 0.25, 0.5, 0.75, 1 - p) if p <= q <= 1 - p})
_MAX_ASSOC_LEVELS = 30  # categories kept per column in association matrices (rest pooled)
_MAX_ROWS = 50_000  # aggregates of a 50k-row sample are indistinguishable on a chart and 10x faster


@dataclass
class ColumnView:
    """What the report shows for one column: a chart, quantile summary and notes (aggregates only)."""

    name: str
    kind: str
    pii: str
    sensitive: bool
    svg: str = ""
    notes: list[str] = field(default_factory=list)
    summary: list[tuple[str, str, str]] = field(default_factory=list)  # (statistic, real, synthetic)
    missing_real: float | None = None
    missing_synthetic: float | None = None
    suppressed: int = 0  # categories or bins hidden / merged because fewer than k real rows


def is_sensitive(meta: ColumnMeta) -> bool:
    """PII, identifiers and free text: never charted, never summarised by value."""
    return meta.kind in ("id", "text") or meta.pii != "none"


def chartable_columns(metas: list[ColumnMeta]) -> list[ColumnMeta]:
    return [m for m in metas if not is_sensitive(m)]


def _sample(series: pd.Series) -> pd.Series:
    if len(series) > _MAX_ROWS:
        return series.sample(_MAX_ROWS, random_state=0)
    return series


def _as_numbers(series: pd.Series, kind: str) -> np.ndarray:
    """Float values (datetimes as ns since epoch), NaN for missing or unparseable."""
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(series):  # parsing again would walk every value
            parsed = series
        else:
            parsed = pd.to_datetime(series, errors="coerce", utc=True)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        parsed = parsed.dt.as_unit("ns")
        out = parsed.astype("int64").to_numpy(dtype=float)
        out[parsed.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _fmt_value(v: float, kind: str) -> str:
    if kind == "datetime":
        return pd.Timestamp(int(v), tz="UTC").strftime("%Y-%m-%d")
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    if a >= 100 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.3g}"


def _merge_small(counts: np.ndarray, k: int) -> list[tuple[int, int]]:
    """Group consecutive bins so that each group holds >= k real rows (or 0, which reveals nobody).

    Returns [start, stop) index ranges. A loop over at most ~26 bins, not over rows.
    """
    groups: list[tuple[int, int]] = []
    start, acc = 0, 0
    for i, c in enumerate(counts):
        acc += int(c)
        if acc >= k:
            groups.append((start, i + 1))
            start, acc = i + 1, 0
    if start < len(counts):
        if acc > 0 and groups:  # leftover rare rows join the last full group
            groups[-1] = (groups[-1][0], len(counts))
        else:
            groups.append((start, len(counts)))
    return groups


def _numeric_chart(real: np.ndarray, syn: np.ndarray | None, kind: str, k: int) -> tuple[str, int, list[str]]:
    notes: list[str] = []
    r = real[np.isfinite(real)]
    s = syn[np.isfinite(syn)] if syn is not None else np.array([])
    if len(r) < k:
        return "", 0, [f"fewer than k={k} real values: chart suppressed"]
    uniq, ucounts = np.unique(r, return_counts=True)
    integer = bool(np.all(np.mod(uniq, 1) == 0)) and kind != "datetime"
    if len(uniq) <= (_MAX_DISCRETE if integer else _MAX_BARS):  # few distinct values: a bar per value, rare ones pooled
        keep = ucounts >= k
        labels = [_fmt_value(v, kind) for v in uniq[keep]]
        real_sh = list(ucounts[keep] / len(r))
        syn_sh = [float(np.mean(s == v)) if len(s) else 0.0 for v in uniq[keep]]
        n_rare = int((~keep).sum())
        if n_rare:
            labels.append(f"other ({n_rare})")
            real_sh.append(float(ucounts[~keep].sum() / len(r)))
            syn_sh.append(float(1 - sum(syn_sh)) if len(s) else 0.0)
        notes.append("one bar per value; values with fewer than k real rows pooled into 'other'" if n_rare else "one bar per value")
        return svg.paired_bars(labels, real_sh, syn_sh if syn is not None else None, rotate=len(labels) > 8), n_rare, notes
    p = _outer_level(len(r), k)
    lo, hi = np.quantile(r, [p, 1 - p])
    edges = np.linspace(lo, hi, _FINE_BINS + 1) if hi > lo else np.array([lo, hi])
    if integer and hi - lo >= _FINE_BINS:
        # whole-number edges read better for counts, ages, years; floor/ceil of a quantile of
        # integers stays between the same two order statistics, so nothing more extreme is shown
        # (equal whole-number widths: unequal ones would draw a sawtooth of shares)
        lo, hi = float(np.floor(lo)), float(np.ceil(hi))
        width = float(np.ceil((hi - lo) / _FINE_BINS))
        edges = lo + width * np.arange(int(np.ceil((hi - lo) / width)) + 1)
        hi = float(edges[-1])

    def counts(x: np.ndarray) -> np.ndarray:
        inner = np.histogram(x[(x >= lo) & (x <= hi)], bins=edges)[0] if hi > lo else np.array([np.sum(x == lo)])
        return np.concatenate([[np.sum(x < lo)], inner, [np.sum(x > hi)]])

    rc = counts(r)
    sc = counts(s) if len(s) else np.zeros_like(rc)
    groups = _merge_small(rc, k)
    bounds = np.concatenate([[-np.inf], edges, [np.inf]]) if hi > lo else np.array([-np.inf, lo, hi, np.inf])
    labels, real_sh, syn_sh = [], [], []
    for a, b in groups:
        left, right = bounds[a], bounds[b]
        if not np.isfinite(left):
            labels.append(f"< {_fmt_value(right, kind)}" if np.isfinite(right) else "all")
        elif not np.isfinite(right):
            labels.append(f"> {_fmt_value(left, kind)}")
        else:
            labels.append(f"{_fmt_value(left, kind)}–{_fmt_value(right, kind)}")
        real_sh.append(float(rc[a:b].sum() / len(r)))
        syn_sh.append(float(sc[a:b].sum() / len(s)) if len(s) else 0.0)
    merged = len(rc) - len(groups)
    notes.append(f"bins span the real {100 * p:.0f}%–{100 - 100 * p:.0f}% quantiles; tails pooled; bins with < k real rows merged")
    return svg.paired_bars(labels, real_sh, syn_sh if syn is not None else None, rotate=True, height=190), merged, notes


def _categorical_chart(real: pd.Series, syn: pd.Series | None, k: int) -> tuple[str, int]:
    rv = real.dropna().astype(str)
    if len(rv) == 0:
        return "", 0
    counts = rv.value_counts()
    shown = counts[counts >= k].head(_MAX_BARS)
    rest = len(counts) - len(shown)
    labels = [str(v) for v in shown.index]
    real_sh = list(shown.to_numpy() / len(rv))
    sv = syn.dropna().astype(str) if syn is not None else pd.Series([], dtype=str)
    svc = sv.value_counts()
    syn_sh = [float(svc.get(v, 0) / len(sv)) if len(sv) else 0.0 for v in labels]
    if rest or (len(sv) and sum(syn_sh) < 0.9999):
        labels.append(f"other ({rest} {'category' if rest == 1 else 'categories'})")
        real_sh.append(float(1 - shown.sum() / len(rv)))
        syn_sh.append(max(0.0, 1 - sum(syn_sh)) if len(sv) else 0.0)
    suppressed = int((counts < k).sum())
    return svg.paired_bars(labels, real_sh, syn_sh if syn is not None else None, rotate=True, height=190), suppressed


def _summary(real: np.ndarray, syn: np.ndarray | None, kind: str, k: int) -> list[tuple[str, str, str]]:
    r = real[np.isfinite(real)]
    s = syn[np.isfinite(syn)] if syn is not None else np.array([])
    if len(r) < 2 * k:  # too few people for quantiles that do not point at someone
        return []
    # a tiny synthetic sample could carry a copied real extreme at its edge: judge by the smaller one
    levels = _levels(min(len(r), len(s)) if len(s) else len(r), k)
    rq = np.quantile(r, levels)
    sq = np.quantile(s, levels) if len(s) else [np.nan] * len(levels)
    rows = [
        (f"{100 * q:.0f}% quantile", _fmt_value(a, kind), _fmt_value(b, kind) if np.isfinite(b) else "—")
        for q, a, b in zip(levels, rq, sq)
    ]
    if kind != "datetime":
        rows.append(("mean", f"{r.mean():.4g}", f"{s.mean():.4g}" if len(s) else "—"))
        rows.append(("std", f"{r.std():.4g}", f"{s.std():.4g}" if len(s) else "—"))
    return rows


def column_view(meta: ColumnMeta, real: pd.Series, synthetic: pd.Series | None, k: int) -> ColumnView:
    """Chart + summary for one column; sensitive columns get counts only."""
    view = ColumnView(name=meta.name, kind=meta.kind, pii=meta.pii, sensitive=is_sensitive(meta))
    view.missing_real = float(real.isna().mean()) if len(real) else None
    if synthetic is not None and len(synthetic):
        view.missing_synthetic = float(synthetic.isna().mean())
    if view.sensitive:
        what = {"id": "identifier", "text": "free-text"}.get(meta.kind, "PII")
        if meta.pii != "none":
            what = f"PII ({meta.pii})"
        view.notes.append(f"{what} column: values are never charted or summarised")
        if synthetic is not None:
            view.notes.append(f"regenerated, {int(synthetic.nunique(dropna=True)):,} distinct synthetic values")
        return view
    real_s = _sample(real)
    syn_s = _sample(synthetic) if synthetic is not None else None
    try:
        if meta.kind in ("numerical", "datetime"):
            rn = _as_numbers(real_s, meta.kind)
            sn = _as_numbers(syn_s, meta.kind) if syn_s is not None else None
            view.svg, view.suppressed, notes = _numeric_chart(rn, sn, meta.kind, k)
            view.notes.extend(notes)
            view.summary = _summary(rn, sn, meta.kind, k)
        else:
            view.svg, view.suppressed = _categorical_chart(real_s, syn_s, k)
            if view.suppressed:
                noun = "category" if view.suppressed == 1 else "categories"
                view.notes.append(f"{view.suppressed} {noun} with fewer than k={k} real rows pooled into 'other'")
    except (TypeError, ValueError) as exc:  # odd dtypes must not sink the whole report
        log.warning("report: no chart for column %r: %s", meta.name, exc)
        view.notes.append(f"chart not available: {type(exc).__name__}")
    return view


# -- associations ---------------------------------------------------------------------------


def _encode(series: pd.Series, meta: ColumnMeta) -> tuple[str, np.ndarray]:
    """('num', ranks with NaN) or ('cat', integer codes with missing as its own code)."""
    if meta.kind in ("numerical", "datetime"):
        vals = pd.Series(_as_numbers(series, meta.kind))
        return "num", vals.rank(method="average").to_numpy(dtype=float)
    s = series.astype("object").where(series.notna(), "\0missing").astype(str)
    top = s.value_counts().index[:_MAX_ASSOC_LEVELS]
    s = s.where(s.isin(top), "\0other")  # caps the contingency table at 31 x 31 cells
    codes, _ = pd.factorize(s, sort=True)
    return "cat", codes.astype(np.int64)


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0:
        return float("nan")
    na, nb = a.max() + 1, b.max() + 1
    if na < 2 or nb < 2:
        return float("nan")
    table = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb).astype(float)
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.nansum((table - expected) ** 2 / np.where(expected > 0, expected, np.nan))
    return float(np.sqrt(chi2 / (n * (min(na, nb) - 1))))


def _corr_ratio(codes: np.ndarray, x: np.ndarray) -> float:
    ok = np.isfinite(x)
    c, v = codes[ok], x[ok]
    if len(v) < 2 or v.var() == 0:
        return float("nan")
    sums = np.bincount(c, weights=v)
    cnt = np.bincount(c)
    means = np.divide(sums, cnt, out=np.zeros_like(sums), where=cnt > 0)
    between = np.sum(cnt * (means - v.mean()) ** 2)
    return float(np.sqrt(between / (v.var() * len(v))))


def association_matrix(frame: pd.DataFrame, metas: list[ColumnMeta]) -> np.ndarray:
    """Pairwise association: Spearman (numeric pairs, signed), Cramér's V, correlation ratio."""
    frame = frame.sample(_MAX_ROWS, random_state=0) if len(frame) > _MAX_ROWS else frame
    enc = [_encode(frame[m.name], m) for m in metas]
    n = len(metas)
    out = np.eye(n)
    num_idx = [i for i, (t, _) in enumerate(enc) if t == "num"]
    if num_idx:
        ranks = pd.DataFrame({i: enc[i][1] for i in num_idx})
        corr = ranks.corr(min_periods=3).to_numpy()
        for a, i in enumerate(num_idx):
            for b, j in enumerate(num_idx):
                out[i, j] = corr[a, b]
    for i in range(n):
        for j in range(i + 1, n):
            ti, xi = enc[i]
            tj, xj = enc[j]
            if ti == tj == "num":
                continue
            if ti == tj == "cat":
                v = _cramers_v(xi, xj)
            else:
                codes, x = (xi, xj) if ti == "cat" else (xj, xi)
                v = _corr_ratio(codes, x)
            out[i, j] = out[j, i] = v
    return out


def association_views(
    real: pd.DataFrame, synthetic: pd.DataFrame | None, metas: list[ColumnMeta], limit: int = 25, size: int = 300
) -> dict[str, Any]:
    """Heatmaps of real, synthetic and |difference| associations for up to ``limit`` columns."""
    cols = [m for m in metas if m.name in real.columns and (synthetic is None or m.name in synthetic.columns)]
    cols = [m for m in cols if real[m.name].nunique(dropna=True) > 1]
    shown = cols[:limit]
    if len(shown) < 2:
        return {}
    labels = [m.name for m in shown]
    real_m = association_matrix(real, shown)
    out: dict[str, Any] = {
        "columns": len(cols),
        "shown": len(shown),
        "real_svg": svg.heatmap(labels, real_m.tolist(), title="real associations", size=size),
        "scale_svg": svg.color_scale(True),
        "diff_scale_svg": svg.color_scale(False),
    }
    if synthetic is not None:
        syn_m = association_matrix(synthetic, shown)
        diff = np.abs(real_m - syn_m)
        out["synthetic_svg"] = svg.heatmap(labels, syn_m.tolist(), title="synthetic associations")
        out["diff_svg"] = svg.heatmap(labels, diff.tolist(), title="absolute difference", diverging=False)
        off = diff[~np.eye(len(shown), dtype=bool)]
        off = off[np.isfinite(off)]
        out["mean_diff"] = float(off.mean()) if len(off) else None
        out["max_diff"] = float(off.max()) if len(off) else None
    return out
