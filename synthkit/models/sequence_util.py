"""Helpers of the ``sequence`` synthesizer: nested model files, padding, per-entity fills, threads.

Kept apart so :mod:`synthkit.models.sequence` reads as the model itself; the relational model
nests its child models through :func:`export_model` / :func:`import_model`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthkit.errors import DataError
from synthkit.meta import Metadata
from synthkit.models.base import Synthesizer
from synthkit.models.registry import get
from synthkit.models.sequence_delta import grid_of
from synthkit.transform.schema import TableSchema

__all__ = ["check_columns", "clock_grid", "export_model", "gather", "import_model", "into_window", "on_grid", "previous_observed", "single_thread",
           "strip", "whole_numbers"]

CLOCK_UNITS = (86400.0, 3600.0, 60.0, 1.0)  # a day, an hour, a minute, a second: what timestamps are rounded to


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One torch thread for the step-by-step recurrence: its matrices are small, so thread
    synchronisation costs more than it saves (measured 7x slower with 2 threads on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def gather(flat: torch.Tensor, offsets: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded [B, T, K] steps and [B, T] mask of the entities starting at ``offsets``."""
    t_max = int(lengths.max())
    t = torch.arange(t_max).unsqueeze(0)
    mask = t < lengths.unsqueeze(1)
    index = torch.where(mask, offsets.unsqueeze(1) + t, torch.zeros_like(t))
    return flat[index], mask.float()


def previous_observed(values: np.ndarray, ent: np.ndarray) -> np.ndarray:
    """Per row, the entity's last non-missing value before it (NaN if none)."""
    series = pd.Series(np.asarray(values, dtype=float))
    return series.groupby(ent, sort=False).ffill().groupby(ent, sort=False).shift(1).to_numpy()


def whole_numbers(values: pd.Series) -> bool:
    """True for a column of whole numbers stored as anything (years profiled as categories)."""
    if pd.api.types.is_bool_dtype(values):
        return False
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(numbers.notna().all()) and bool((np.floor(numbers) == numbers).all())


def clock_grid(starts: np.ndarray) -> float:
    """The coarsest clock unit (a day, an hour, a minute, a second; in seconds since 1970) that
    every entity's start sits on, 0 when none does. Why: entities are cut at fixed hours (Beijing's
    48-hour windows all start at midnight, hourly readings on the hour), and a start drawn by the
    context model as a plain number lands anywhere (22:56:59): every synthetic window then began at
    a random hour, and its first ozone reading (real median 32 at midnight, synthetic 56) and its
    last temperature were the discriminator's two strongest tells."""
    x = np.asarray(starts, dtype=float)
    x = x[np.isfinite(x)]
    return grid_of(x, CLOCK_UNITS, tolerance=1e-6) if len(x) else 0.0


def on_grid(values: np.ndarray, grid: float, down: bool = False) -> np.ndarray:
    """``values`` rounded to multiples of ``grid`` (down with ``down``: a start moved back to fit
    the window must not move past it again); unchanged when ``grid`` is 0."""
    if not grid:
        return values
    scaled = np.asarray(values, dtype=float) / grid
    return (np.floor(scaled + 1e-6) if down else np.round(scaled)) * grid


def strip(tensors: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def export_model(model: Synthesizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fitted flat synthesizer as (JSON document, tensors), for nesting inside another model file."""
    state, tensors = model._get_state()
    doc = {"model": model.name, "params": model.get_params(), "metadata": model.metadata.to_dict() if model.metadata else None,
           "schema": model.schema_.to_state(), "state": state, "n_training_rows": int(model.n_training_rows_)}
    return doc, tensors


def import_model(doc: dict[str, Any], tensors: dict[str, Any]) -> Synthesizer:
    """Inverse of :func:`export_model` (no pickle: the tensors come from ``weights_only`` loading)."""
    metadata = Metadata.from_dict(doc["metadata"]) if doc.get("metadata") else None
    model = get(doc["model"])(metadata=metadata, **dict(doc.get("params") or {}))
    model.table_ = metadata.table() if metadata else None  # type: ignore[assignment]
    model.schema_ = TableSchema.from_state(doc["schema"])
    model.n_training_rows_ = int(doc.get("n_training_rows", 0))
    model._set_state(doc.get("state") or {}, tensors)
    model._sample_rng_ = np.random.default_rng(model.seed)
    model.fitted_ = True
    return model


def into_window(window: list[float] | None, integer: bool, start: np.ndarray, offsets: np.ndarray, ent: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Starts and per-event offsets of entities that would run past the window's end, compressed
    so the entity ends at a random point of the last tenth of its room (order, count and relative
    spacing kept; the end itself is never hit exactly). Starts beyond the end move just inside.
    On a whole-number axis (years, step numbers) entities that fit move back instead."""
    if not window or len(start) == 0:
        return start, offsets
    low, high = window
    width = high - low
    if width <= 0:
        return start, offsets
    span = np.zeros(len(start))
    np.maximum.at(span, ent, offsets)
    if integer:
        fits = span <= width
        start = np.where(fits, np.minimum(start, high - span), start)
        if fits.all():
            return start, offsets
    late = start >= high
    if late.any():
        start = start.copy()
        start[late] = high - width * rng.uniform(0.001, 0.01, int(late.sum()))
    over = (start + span > high) & (span > 0)
    if not over.any():
        return start, offsets
    scale = np.ones(len(start))
    scale[over] = (high - start[over]) * rng.uniform(0.9, 1.0, int(over.sum())) / span[over]
    return start, offsets * scale[ent]


def check_columns(data: pd.DataFrame, entity: str | None, time: str | None, context: list[str]) -> None:
    """Clear errors for keys that are unnamed, absent, missing or not constant per entity."""
    if entity is None:
        raise DataError("sequence: name the entity column (fit(..., entity='id') or metadata sequence_key)")
    for role, col in [("entity", entity), ("time", time)] + [("context", c) for c in context]:
        if col is not None and col not in data.columns:
            raise DataError(f"sequence: {role} column {col!r} is not in the data; columns: {list(data.columns)}")
    if data[entity].isna().any():
        raise DataError(f"sequence: entity column {entity!r} has missing values")
    if time is not None and data[time].isna().any():
        raise DataError(f"sequence: time column {time!r} has missing values")
    if context:
        varying = data.groupby(entity, sort=False)[context].nunique(dropna=False).max()
        bad = sorted(varying[varying > 1].index)
        if bad:
            raise DataError(f"sequence: context columns {bad} change within an entity; they must be constant per {entity!r}")
    if len(set(data.columns) - {entity, time, *context}) == 0 and time is None:
        raise DataError("sequence: no event columns and no time column: nothing to model per step")
