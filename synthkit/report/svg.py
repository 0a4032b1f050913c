"""Tiny inline-SVG chart helpers: paired bars, ECDF lines, heatmaps, horizontal bars.

Why hand-written instead of matplotlib/plotly: the report must open offline with nothing fetched
from a CDN, so JavaScript chart libraries would have to be inlined (hundreds of kB each), and
matplotlib's SVG output spends 10-30 kB per small chart on glyph paths and style noise. A 100-column
report would blow the 5 MB budget. These helpers emit a few hundred bytes per chart, use CSS classes
(so print CSS can restyle them) and carry ``<title>`` tooltips instead of any script.

Every helper takes aggregates only (shares, quantile labels, matrices); none ever sees a data row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["hbars", "heatmap", "interval_bar", "lines_chart", "paired_bars"]

_FONT = 'font-family="inherit"'


def _f(x: float) -> str:
    """Compact coordinate: one decimal is plenty for screen and print."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def paired_bars(
    labels: Sequence[str],
    real: Sequence[float],
    synthetic: Sequence[float] | None,
    *,
    title: str = "",
    width: int = 360,
    height: int = 170,
    rotate: bool = False,
) -> str:
    """Real vs synthetic shares per bin/category as side-by-side bars (shares in [0, 1]).

    With ``synthetic=None`` (profile report) only the real bars are drawn, twice as wide.
    """
    n = len(labels)
    if n == 0:
        return ""
    single = synthetic is None
    synthetic = [0.0] * n if synthetic is None else synthetic
    top = max(max(real, default=0.0), max(synthetic, default=0.0), 1e-9)
    left, right, up = 34, 6, 8
    bottom = 56 if rotate else 22
    pw, ph = width - left - right, height - up - bottom
    slot = pw / n
    bw = max(slot * (0.8 if single else 0.4), 0.8)
    parts = [_open("chart", width, height, title)]
    for frac in (0.0, 0.5, 1.0):
        y = up + ph * (1 - frac)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_f(y)}" y2="{_f(y)}"/>')
        parts.append(f'<text class="tick" x="{left - 3}" y="{_f(y + 3)}" text-anchor="end">{_pct(top * frac)}</text>')
    for i, (lab, r, s) in enumerate(zip(labels, real, synthetic)):
        x = left + i * slot + (slot - 2 * bw) / 2
        if single:
            x += bw / 2
        tip = escape(f"{lab}: {_pct(r)}" if single else f"{lab}: real {_pct(r)}, synthetic {_pct(s)}")
        for cls, val, dx in (("real", r, 0.0),) if single else (("real", r, 0.0), ("syn", s, bw)):
            h = ph * val / top
            parts.append(
                f'<rect class="{cls}" x="{_f(x + dx)}" y="{_f(up + ph - h)}" width="{_f(bw)}" height="{_f(h)}">'
                f"<title>{tip}</title></rect>"
            )
    step = max(1, math.ceil((13 if rotate else 44) / slot))  # room for one label per ~13 px (rotated) or ~44 px
    for i in range(0, n, step):
        cx = left + (i + 0.5) * slot
        lab = escape(_short(str(labels[i])))
        if rotate:
            parts.append(
                f'<text class="tick" transform="translate({_f(cx + 3)},{_f(up + ph + 6)}) rotate(-40)" '
                f'text-anchor="end">{lab}</text>'
            )
        else:
            parts.append(f'<text class="tick" x="{_f(cx)}" y="{_f(up + ph + 14)}" text-anchor="middle">{lab}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines_chart(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: int = 420,
    height: int = 220,
    x_min: float | None = None,
    y_max: float | None = None,
) -> str:
    """Polylines (x, y) per named series; used for ECDFs of distances (``x_min=0, y_max=1``)."""
    pts = [(x, y) for xs, ys in series.values() for x, y in zip(xs, ys) if _finite(x) and _finite(y)]
    if not pts:
        return ""
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(0.0, min(p[1] for p in pts)), max(p[1] for p in pts)
    x0 = min(x0, x_min) if x_min is not None else x0
    y1 = max(y1, y_max) if y_max is not None else y1
    x1 = x1 if x1 > x0 else x0 + 1.0
    y1 = y1 if y1 > y0 else y0 + 1.0
    left, right, up, bottom = 40, 10, 10, 34
    pw, ph = width - left - right, height - up - bottom

    def sx(v: float) -> float:
        return left + pw * (v - x0) / (x1 - x0)

    def sy(v: float) -> float:
        return up + ph * (1 - (v - y0) / (y1 - y0))

    parts = [_open("chart", width, height, title)]
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        yv = y0 + (y1 - y0) * frac
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_f(sy(yv))}" y2="{_f(sy(yv))}"/>')
        parts.append(f'<text class="tick" x="{left - 3}" y="{_f(sy(yv) + 3)}" text-anchor="end">{_num(yv)}</text>')
        xv = x0 + (x1 - x0) * frac
        parts.append(f'<text class="tick" x="{_f(sx(xv))}" y="{height - bottom + 13}" text-anchor="middle">{_num(xv)}</text>')
    for idx, (name, (xs, ys)) in enumerate(series.items()):
        coords = " ".join(f"{_f(sx(x))},{_f(sy(y))}" for x, y in zip(xs, ys) if _finite(x) and _finite(y))
        parts.append(f'<polyline class="line s{idx}" points="{coords}"><title>{escape(name)}</title></polyline>')
    if x_label:
        parts.append(f'<text class="axis" x="{left + pw / 2:.0f}" y="{height - 4}" text-anchor="middle">{escape(x_label)}</text>')
    if y_label:
        parts.append(
            f'<text class="axis" transform="translate(10,{up + ph / 2:.0f}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    labels: Sequence[str],
    matrix: Sequence[Sequence[float | None]],
    *,
    title: str = "",
    diverging: bool = True,
    cell: int = 0,
    size: int = 300,
) -> str:
    """A square matrix as coloured cells; diverging (-1..1, blue/red) or sequential (0..1)."""
    n = len(labels)
    if n == 0:
        return ""
    cell = cell or max(6, min(max(22, size // 18), (size - 90) // n))
    margin = 90
    full = margin + cell * n + 4
    parts = [_open("chart heat", full, full, title)]
    for i, row in enumerate(matrix):
        for j, val in enumerate(row):
            x, y = margin + j * cell, margin + i * cell
            if val is None or not _finite(val):
                fill = "#eeeeee"
                shown = "n/a"
            else:
                fill = _diverging(val) if diverging else _sequential(val)
                shown = f"{val:+.2f}" if diverging else f"{val:.2f}"
            tip = escape(f"{labels[i]} × {labels[j]}: {shown}")
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}"><title>{tip}</title></rect>')
    fs = max(6, min(10, cell - 2))
    for i, lab in enumerate(labels):
        c = margin + i * cell + cell / 2
        txt = escape(_short(str(lab), 13))
        parts.append(f'<text class="tick" x="{margin - 3}" y="{_f(c + fs / 3)}" text-anchor="end" font-size="{fs}">{txt}</text>')
        parts.append(
            f'<text class="tick" transform="translate({_f(c + fs / 3)},{margin - 3}) rotate(-60)" font-size="{fs}">{txt}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def hbars(
    items: Sequence[tuple[str, float]],
    *,
    title: str = "",
    width: int = 420,
    max_value: float | None = None,
    min_value: float = 0.0,
    fmt: str = "{:.2f}",
) -> str:
    """Labelled horizontal bars (timings, per-column scores); bars start at ``min_value``."""
    if not items:
        return ""
    row = 16
    left = 130
    height = row * len(items) + 6
    top = max_value if max_value is not None else max((v for _, v in items if _finite(v)), default=1.0) or 1.0
    pw = width - left - 60
    parts = [_open("chart", width, height, title)]
    for i, (lab, val) in enumerate(items):
        y = 3 + i * row
        v = val if _finite(val) else 0.0
        w = max(pw * min((v - min_value) / ((top - min_value) or 1.0), 1.0), 0.0)
        parts.append(f'<text class="tick" x="{left - 4}" y="{y + 11}" text-anchor="end">{escape(_short(lab, 20))}</text>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + 2}" width="{_f(w)}" height="{row - 5}"/>')
        parts.append(f'<text class="tick" x="{_f(left + w + 4)}" y="{y + 11}">{escape(fmt.format(v))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def interval_bar(value: float, lo: float | None, hi: float | None, threshold: float | None, *, lower: float = 0.0, upper: float = 1.0) -> str:
    """A one-line gauge: point estimate, confidence interval whisker and threshold tick."""
    if not _finite(value):
        return ""
    width, height, pad = 160, 18, 4
    span = (upper - lower) or 1.0

    def sx(v: float) -> float:
        return pad + (width - 2 * pad) * (min(max(v, lower), upper) - lower) / span

    parts = [f'<svg class="gauge" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-hidden="true">']
    parts.append(f'<line class="track" x1="{pad}" x2="{width - pad}" y1="9" y2="9"/>')
    if lo is not None and hi is not None and _finite(lo) and _finite(hi):
        parts.append(f'<line class="ci" x1="{_f(sx(lo))}" x2="{_f(sx(hi))}" y1="9" y2="9"/>')
    if threshold is not None and _finite(threshold):
        parts.append(f'<line class="thr" x1="{_f(sx(threshold))}" x2="{_f(sx(threshold))}" y1="2" y2="16"/>')
    parts.append(f'<circle class="pt" cx="{_f(sx(value))}" cy="9" r="3.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def color_scale(diverging: bool = True) -> str:
    """A small colour key for heatmaps: -1 … 0 … +1 (diverging) or 0 … 1 (sequential)."""
    stops = [-1.0, -0.5, 0.0, 0.5, 1.0] if diverging else [0.0, 0.25, 0.5, 0.75, 1.0]
    parts = ['<svg class="scale" viewBox="0 0 170 24" width="170" height="24" aria-hidden="true">']
    for i, v in enumerate(stops):
        fill = _diverging(v) if diverging else _sequential(v)
        parts.append(f'<rect x="{10 + 30 * i}" y="2" width="30" height="9" fill="{fill}" stroke="#ccd3db" stroke-width="0.5"/>')
    for i, v in ((0, stops[0]), (2, stops[2]), (4, stops[4])):
        parts.append(f'<text class="tick" x="{25 + 30 * i}" y="22" text-anchor="middle" font-size="8">{v:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _open(cls: str, width: float, height: float, title: str) -> str:
    return (
        f'<svg class="{cls}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" {_FONT}>'
    )


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _num(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e3:
        return f"{v / 1e3:.3g}k"
    return f"{v:.3g}"


def _diverging(v: float) -> str:
    """Blue (-1) → white (0) → red (+1), as an RGB hex string."""
    v = max(-1.0, min(1.0, float(v)))
    if v >= 0:
        r, g, b = 255, int(255 - 170 * v), int(255 - 190 * v)
    else:
        r, g, b = int(255 + 200 * v), int(255 + 120 * v), 255
    return f"#{r:02x}{g:02x}{b:02x}"


def _sequential(v: float) -> str:
    """White (0) → deep orange (1) for differences."""
    v = max(0.0, min(1.0, float(v)))
    return f"#{255:02x}{int(255 - 150 * v):02x}{int(255 - 230 * v):02x}"
