"""Smooth channels of the ``sequence`` synthesizer, written as step changes instead of levels.

A pressure series that moves 0.3 hPa an hour, drawn as "one of 50 quantile bins" independently
each hour, jitters by a bin width (~1 hPa) and never repeats a reading: the discriminator's
"how much X jumps from one hour to the next" then tells synthetic from real windows almost alone
(``benchmarks/results/sequence.md``, diagnosis). So channels whose within-entity series is smooth
(lag-1 autocorrelation ≥ ``min_autocorr`` and mean step ≤ ``max_step`` of the range) become two
token columns: the *level* at the entity's first observation (missing elsewhere) and the *step*,
the change from the entity's previous observation (exact tokens for common steps such as 0 or
±0.1, fine bins for the rest). The network integrates them while it samples (:class:`Integrator`),
clipping the running level to the observed range, and sees each level as an input, so it learns
drift, mean reversion and daily cycles instead of re-deciding the level every step. The time
axis is integrated the same way (gaps summed into the elapsed time), so the network knows how
much of the observed window an entity has used.
"""

from __future__ import annotations

from typing import Any

import logging

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = ["STEP_SUFFIX", "Integrator", "build_integrator", "grid_of", "level_inputs", "smooth_columns", "split_levels", "value_table",
           "write_as_steps"]

log = logging.getLogger(__name__)

STEP_SUFFIX = "__step__"


def smooth_columns(values: pd.DataFrame, ent: np.ndarray, min_autocorr: float = 0.975, max_step: float = 0.05) -> list[str]:
    """Numeric columns whose within-entity series is smooth: pooled lag-1 autocorrelation of the
    observed values at least ``min_autocorr`` and mean absolute step at most ``max_step`` of the
    1-99 % range (Beijing's temperature, dew point and pressure at 0.99+, an ICU stay's weight; not
    pollutants at 0.93-0.97, whose bursts a step model lets drift, nor rain, wind or ICU vitals)."""
    out = []
    for name in values.columns:
        x = values[name].to_numpy(dtype=float)
        ok = ~np.isnan(x)
        if ok.sum() < 20:
            continue
        prev = pd.Series(x[ok]).groupby(ent[ok], sort=False).shift(1).to_numpy()
        pair = ~np.isnan(prev)
        a, b = prev[pair], x[ok][pair]
        if pair.sum() < 10 or a.std() == 0 or b.std() == 0:
            continue
        low, high = np.quantile(x[ok], [0.01, 0.99])
        if high <= low:
            continue
        if np.corrcoef(a, b)[0, 1] >= min_autocorr and np.abs(b - a).mean() <= max_step * (high - low):
            out.append(name)
    return out


DECIMAL_UNITS = tuple(10.0**-k for k in range(7))  # 1, 0.1, ... 1e-6


def grid_of(values: np.ndarray, units: tuple[float, ...] = DECIMAL_UNITS, tolerance: float | None = None) -> float:
    """The coarsest of ``units`` all observed values sit on, within ``tolerance`` (in the values'
    own units; default a millionth of the unit), 0 when none fits: by default the decimal
    resolution of readings (0.1 for pressure in hPa, 1 for counts), on which integrated levels are
    kept. (What is *written* out follows the readings' mix of resolutions:
    :class:`synthkit.transform.resolution.Resolution`.)"""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    for q in units:
        if np.isclose(x / q, np.round(x / q), rtol=0, atol=1e-6 if tolerance is None else tolerance / q).all():
            return q
    return 0.0


def split_levels(values: np.ndarray, ent: np.ndarray, grid: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level at each entity's first observation else NaN, change from the entity's previous
    observation else NaN, previous observed value before each row else NaN). Changes are snapped
    to ``grid`` (1023.2 - 1023.0 is 0.2 like 1013.3 - 1013.1, not two floats a few ulps apart), so
    common changes become exact tokens."""
    x = np.asarray(values, dtype=float)
    prev = pd.Series(x).groupby(ent, sort=False).ffill().groupby(ent, sort=False).shift(1).to_numpy()
    first = ~np.isnan(x) & np.isnan(prev)
    step = x - prev
    return np.where(first, x, np.nan), np.round(step / grid) * grid if grid else step, prev


def write_as_steps(steps: dict[str, Any], ent: np.ndarray, candidates: list[str], previous: list[np.ndarray]) -> dict[str, list[float]]:
    """Replace each smooth column among ``candidates`` in ``steps`` by its level and step columns
    (in place), append its level before each row to ``previous``; returns name → [low, high, grid,
    spread] (spread: the pooled standard deviation within an entity)."""
    found: dict[str, list[float]] = {}
    for name in smooth_columns(pd.DataFrame({n: steps[n] for n in candidates}), ent) if candidates else []:
        values = np.asarray(steps[name], dtype=float)
        centred = values - pd.Series(values).groupby(ent, sort=False).transform("mean").to_numpy()
        spread = float(np.nanstd(centred)) if np.isfinite(centred).any() else 0.0  # within an entity, pooled
        found[name] = [float(np.nanmin(values)), float(np.nanmax(values)), grid_of(values), spread]
        steps[name], steps[name + STEP_SUFFIX], prev = split_levels(values, ent, found[name][2])
        previous.append(prev)
    if found:
        log.info("sequence: smooth channels written as step changes: %s", list(found))
    return found


def build_integrator(codecs: dict[str, Any], gap: str | None, window: list[float] | None, min_gap: float,
                     smooth: dict[str, list[float]], clock: float = 0.0, baseline: bool = False) -> Integrator:
    """The :class:`Integrator` of a fitted model's step ``codecs`` (token columns in their order, then
    a fine column per codec with fine positions): the time axis from its ``gap`` column (kept inside
    ``window``) and each ``smooth`` channel (level token, then steps, clipped to [low, high])."""
    names = list(codecs)
    fine_of, j = {}, len(names)
    for c, k in codecs.items():
        if k.fine:
            fine_of[c], j = j, j + 1
    channels = []
    low, high, room = (window[0], window[1], window[1]) if window else (0.0, 1.0, float("inf"))
    if gap is not None:
        channels.append({"level": -1, "level_fine": -1, "step": names.index(gap), "step_fine": fine_of.get(gap, -1),
                         "low": low, "high": float("inf"), "scale": max(high - low, 1e-9), "room": room, "min_step": min_gap})
    for name, (low, high, grid, *rest) in smooth.items():
        step = name + STEP_SUFFIX
        spread = rest[0] if rest and rest[0] > 0 else high - low  # saved before the spread was kept: the range
        channels.append({"level": names.index(name), "level_fine": fine_of.get(name, -1), "step": names.index(step),
                         "step_fine": fine_of.get(step, -1), "low": low, "high": high, "scale": max(high - low, 1e-9), "grid": grid,
                         "spread": max(spread, 1e-9)})
    used = {c[key] for c in channels for key in ("level", "step") if c[key] >= 0}
    codec = [codecs[name] for name in names]
    return Integrator(channels, {i: (*value_table(codec[i]), codec[i].fine, codec[i].missing_token) for i in used}, clock,
                      baseline)


def level_inputs(previous: list[np.ndarray], ent: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row and integrated channel, the level before the row, whether one is known, and the
    entity's running mean of those levels up to this row (NaN before any; ``ent`` the rows'
    entity codes, in order) ([N, D] each): the baseline :meth:`Integrator.features` measures from."""
    if not previous:
        return np.zeros((0, 0)), np.zeros((0, 0), dtype=bool), np.zeros((0, 0))
    levels = np.column_stack(previous)
    known = ~np.isnan(levels)
    groups = np.zeros(len(levels), dtype=np.int64) if ent is None else np.asarray(ent)
    total = pd.DataFrame(np.where(known, levels, 0.0)).groupby(groups, sort=False).cumsum().to_numpy()
    count = pd.DataFrame(known.astype(float)).groupby(groups, sort=False).cumsum().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        baseline = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return np.nan_to_num(levels, nan=0.0), known, baseline


def value_table(codec: Any) -> tuple[list[float], list[float], list[bool]]:
    """Per coarse token of a numeric codec: low end, width (0 for exact values) and whether it is a
    value at all (not repeat or missing); the fine position places a value inside the width."""
    n_exact, n_bins = len(codec.exact), codec.n_bins
    low, width, ok = [0.0] * codec.vocab_size, [0.0] * codec.vocab_size, [False] * codec.vocab_size
    for i, v in enumerate(codec.exact):
        low[i], ok[i] = float(v), True
    for b in range(n_bins):
        low[n_exact + b], width[n_exact + b], ok[n_exact + b] = float(codec.edges[b]), float(codec.edges[b + 1] - codec.edges[b]), True
    return low, width, ok


class Integrator(nn.Module):
    """Running levels of integrated channels while a sequence is read or written.

    ``channels``: per channel ``level``/``step`` (token column index or -1), ``level_fine`` /
    ``step_fine`` (fine column index or -1), ``low``/``high`` (clip of the level), ``scale``
    (its normalisation) and ``grid`` (resolution the level is rounded to, 0: none); a channel without
    a level column is the time axis: its level starts at the entity's start, and ``room`` (the
    window's end) keeps gaps from being drawn that leave too little room for the steps to come.
    ``tables``: per
    token column, :func:`value_table`, the fine count and the missing token.
    The time axis starts known, at the entity's start.

    ``baseline``: each smooth channel's level is also given as its distance from the entity's
    running mean of its levels so far, in the channel's spread within an entity. Why: the network
    saw its level and the time of day, not where the entity has been, and its integrated steps
    drifted like a random walk. On Beijing (1,000 windows, 30 epochs) the synthetic temperature's
    change over 24 hours had a spread of 6.9 degrees against 3.3 real (a day later real air is
    back near the same temperature) and over 47 hours 9.6 against 3.9; with this input 5.2 and
    6.3, and the discriminator 0.910 -> 0.870. In units of the range (a few hundredths for a
    day's swing) the same input changed nothing.
    """

    def __init__(self, channels: list[dict[str, Any]], tables: dict[int, tuple[list[float], list[float], list[bool], int, int]],
                 clock: float = 0.0, baseline: bool = False) -> None:
        super().__init__()
        self.channels = channels
        self.clock = clock  # period of the time axis' daily cycle in its units (86400 s for datetimes; 0: none)
        self.baseline = baseline
        self.smooth = [d for d, c in enumerate(channels) if c["level"] >= 0]  # channels with a baseline
        self.n_features = (2 * len(channels) + (2 if clock and self.time_axis is not None else 0)
                           + (len(self.smooth) if baseline else 0))
        # which head each channel constrains: its level column is "missing" once a level is known,
        # its step column is "missing" while none is (a step needs a level to move)
        self.rules = {c[key]: (d, key == "level", tables[c[key]][4]) for d, c in enumerate(channels)
                      for key in ("level", "step") if c[key] >= 0 and c["level"] >= 0}
        for col, (low, width, ok, fine, _) in tables.items():
            self.register_buffer(f"low_{col}", torch.tensor(low, dtype=torch.float64), persistent=False)
            self.register_buffer(f"width_{col}", torch.tensor(width, dtype=torch.float64), persistent=False)
            self.register_buffer(f"ok_{col}", torch.tensor(ok, dtype=torch.bool), persistent=False)
            # "no position" after a bin token is read as the last position, as ColumnCodec.decode does
            position = [(f + 0.5) / fine for f in range(fine)] + [(fine - 0.5) / fine] if fine else [0.5]
            self.register_buffer(f"pos_{col}", torch.tensor(position, dtype=torch.float64), persistent=False)
        bounds = [[c["low"], c["high"], c["scale"], c.get("grid", 0.0)] for c in channels]
        self.register_buffer("bounds", torch.tensor(bounds, dtype=torch.float64).reshape(-1, 4), persistent=False)

    @property
    def time_axis(self) -> dict[str, Any] | None:
        """The time axis' channel (always the first, the one without a level column), or None."""
        return self.channels[0] if self.channels and self.channels[0]["level"] < 0 else None

    @property
    def size(self) -> int:
        return len(self.channels)

    def features(self, levels: torch.Tensor, known: torch.Tensor, baseline: torch.Tensor | None = None) -> torch.Tensor:
        """[..., D] levels and known flags → [..., n_features] network inputs: each level as a share of
        its range, the flags, on a datetime axis the time of day (hourly weather follows the sun) and,
        with ``baseline`` on, each smooth level's distance from ``baseline`` [..., D] (the entity's
        running mean, NaN where none yet) in the channel's spread within an entity: a share of the range
        would be a few hundredths for a day's temperature swing, an input too small to act on."""
        low, scale = self.bounds[:, 0].nan_to_num(0.0, posinf=0.0, neginf=0.0), self.bounds[:, 2]
        share = ((levels.double() - low) / scale).clamp(-2.0, 3.0) * known
        parts = [share, known.double()]
        if self.clock and self.time_axis is not None:
            phase = 2 * np.pi * torch.remainder(levels[..., 0].double(), self.clock) / self.clock
            parts += [torch.sin(phase).unsqueeze(-1), torch.cos(phase).unsqueeze(-1)]
        if self.baseline and self.smooth:
            idx = self.smooth
            base = baseline[..., idx].double() if baseline is not None else torch.full_like(levels[..., idx].double(), float("nan"))
            spread = torch.tensor([self.channels[d].get("spread", 1.0) for d in idx], dtype=torch.float64)
            away = ((levels[..., idx].double() - base) / spread).clamp(-4.0, 4.0)
            parts.append(torch.where(known[..., idx] & ~torch.isnan(away), away, torch.zeros_like(away)))
        return torch.cat(parts, dim=-1).float()

    def running(self, total: torch.Tensor, count: torch.Tensor, levels: torch.Tensor,
                known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """While writing: (total, count, baseline) after adding the levels before a step, as
        :func:`level_inputs` counts them while reading."""
        total = total + torch.where(known, levels.double(), torch.zeros_like(total))
        count = count + known.double()
        return total, count, torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, float("nan")))

    def mask(self, col: int, logits: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """Logits [..., V] of token column ``col`` with the tokens the levels rule out removed
        (``known`` [..., D]): the network never writes a second first level, nor a step from nowhere."""
        if col not in self.rules:
            return logits
        d, is_level, missing = self.rules[col]
        forced = known[..., d] if is_level else ~known[..., d]
        only_missing = torch.full((logits.shape[-1],), True)
        only_missing[missing] = False
        return logits.masked_fill(forced.unsqueeze(-1) & only_missing, -1e9)

    def room(self, col: int, logits: torch.Tensor, levels: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        """Logits [B, V] of the time axis' gap column without gaps that would carry the entity past
        the window's end with ``left`` [B] steps still to come (each at least the smallest gap);
        the smallest gap stays allowed, so an entity already out of room is fitted in afterwards."""
        for d, c in enumerate(self.channels):
            if c["level"] >= 0 or c["step"] != col or not np.isfinite(c.get("room", np.inf)):
                continue
            low, ok = getattr(self, f"low_{col}"), getattr(self, f"ok_{col}")
            top = low + getattr(self, f"width_{col}")  # a wide tail bin may only be drawn if all of it fits
            smallest = torch.where(ok, top, torch.full_like(top, np.inf)).min()
            budget = c["room"] - levels[:, d] - left.double() * max(float(smallest), c.get("min_step", 0.0))  # room kept for the rest
            too_far = ok & (top > smallest) & (top.unsqueeze(0) > budget.unsqueeze(1))
            return logits.masked_fill(too_far, -1e9)
        return logits

    def start(self, b: int, time: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Levels before the first step: unknown, except the time axis at the entities' ``time`` [B]."""
        is_time = torch.tensor([c["level"] < 0 for c in self.channels], dtype=torch.bool)
        levels = torch.zeros(b, self.size, dtype=torch.float64)
        if time is not None and bool(is_time.any()):
            levels[:, is_time] = time.double().unsqueeze(1)
        return levels, is_time.expand(b, -1).clone()

    def _value(self, tokens: torch.Tensor, col: int, fine_col: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Values and validity of one column's tokens [B] (the fine position inside the bin at its middle)."""
        tok = tokens[:, col]
        pos = getattr(self, f"pos_{col}")
        where = pos[tokens[:, fine_col].clamp(max=len(pos) - 1)] if fine_col >= 0 else pos[-1].expand(len(tok))
        return getattr(self, f"low_{col}")[tok] + getattr(self, f"width_{col}")[tok] * where, getattr(self, f"ok_{col}")[tok]

    def advance(self, levels: torch.Tensor, known: torch.Tensor, tokens: torch.Tensor,
                first: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Levels after a step of drawn ``tokens`` [B, K]: a level token sets it, a step token moves a
        known level (clipped to the observed range); the time axis does not move at the ``first``
        step (its gap is 0: the entity's start). Returns (levels, known, observed at this step)."""
        new, now_known, observed = levels.clone(), known.clone(), torch.zeros_like(known)
        for d, c in enumerate(self.channels):
            step, step_ok = self._value(tokens, c["step"], c["step_fine"])
            if c["level"] < 0:  # gaps are at least the smallest observed one (as the model decodes them)
                step = step.clamp(min=c.get("min_step", 0.0))
            moved = step_ok & known[:, d] & (c["level"] >= 0 or not first)
            value = torch.where(moved, levels[:, d] + step, levels[:, d])
            if c["level"] >= 0:
                level, level_ok = self._value(tokens, c["level"], c["level_fine"])
                value = torch.where(level_ok, level, value)
                moved = moved | level_ok
            grid = self.bounds[d, 3]
            value = torch.round(value / grid) * grid if grid > 0 else value
            new[:, d] = value.clamp(self.bounds[d, 0], self.bounds[d, 1])
            now_known[:, d] = known[:, d] | moved
            observed[:, d] = moved
        return new, now_known, observed
