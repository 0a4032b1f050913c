"""Panel structure the ``sequence`` model keeps exact instead of learning it approximately.

Panels as users have them (a person per entity, a row per year) carry two kinds of columns that a
step-by-step model would otherwise blur, and that a discriminator reading whole records spots at
once:

* **static** columns never change within an entity (sex, ethnicity, education at entry, blood
  type): they join the entity's context, drawn once per synthetic entity and repeated on its rows;
* **time-linked** columns move deterministically with the time axis (age and years of experience
  grow by one a year; a running count by one a step): ``x = offset + slope * axis`` with the same
  slope for everyone. The per-entity ``offset`` joins the context and ``x`` is rebuilt from the
  synthetic time axis, so it keeps moving in lockstep;
* **derived** columns are an exact polynomial (degree ≤ 2) of a time-linked one (experience
  squared, age squared as wage equations carry them): recomputed from it after generation.

Detection runs on the training data only; the decisions (column names, axis, slope) are stored in
the model file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["apply_derived", "find_derived", "find_static", "find_time_linked", "to_offsets"]

_AXES = ("time", "step")


def find_static(data: pd.DataFrame, entity: str, candidates: list[str]) -> list[str]:
    """Candidates constant within every entity (missing counts as a value), provided some entity has
    two or more rows (otherwise every column is trivially constant and nothing is learned)."""
    sizes = data.groupby(entity, sort=False).size()
    if len(candidates) == 0 or (sizes < 2).all():
        return []
    counts = data.groupby(entity, sort=False)[candidates].nunique(dropna=False).max()
    return [c for c in candidates if counts[c] <= 1]


def find_time_linked(data: pd.DataFrame, entity: str, time: str | None, candidates: list[str]) -> dict[str, dict[str, float | str]]:
    """Numeric candidates with ``x = offset_entity + slope * axis`` exactly (axis = the numeric time
    column, else the step number), one non-zero slope for all entities; ``data`` is sorted by entity
    and time. Columns with missing values or entities of one row only are not linked."""
    same = (data[entity] == data[entity].shift()).to_numpy()
    if same.sum() == 0:
        return {}
    axes: dict[str, np.ndarray] = {"step": np.ones(int(same.sum()))}
    if time is not None and pd.api.types.is_numeric_dtype(data[time]):
        axes = {"time": data[time].diff().to_numpy(float)[same], **axes}
    found: dict[str, dict[str, float | str]] = {}
    for col in candidates:
        x = data[col]
        if not pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x) or x.isna().any():
            continue
        dx = x.diff().to_numpy(float)[same]
        for axis, dt in axes.items():
            moving = dt != 0
            if not moving.any() or (dx[~moving] != 0).any():
                continue
            ratio = dx[moving] / dt[moving]
            slope = float(np.median(ratio))
            if slope != 0 and np.allclose(ratio, slope, rtol=1e-9, atol=1e-9):
                found[col] = {"axis": axis, "slope": slope}
                break
    return found


def _axis(data: pd.DataFrame, entity: str, time: str | None, axis: str) -> np.ndarray:
    if axis == "time" and time is not None:
        return data[time].to_numpy(float)
    return data.groupby(entity, sort=False).cumcount().to_numpy(float)


def to_offsets(data: pd.DataFrame, entity: str, time: str | None, linked: dict[str, dict[str, float | str]]) -> pd.DataFrame:
    """``data`` with each linked column replaced by its per-entity offset ``x - slope * axis``."""
    if not linked:
        return data
    out = data.copy()
    for col, rule in linked.items():
        offset = data[col].to_numpy(float) - float(rule["slope"]) * _axis(data, entity, time, str(rule["axis"]))
        whole = pd.api.types.is_integer_dtype(data[col]) and bool(np.all(np.floor(offset) == offset))
        out[col] = offset.astype(data[col].dtype) if whole else offset  # whole years stay integers
    return out


def find_derived(data: pd.DataFrame, linked: list[str], candidates: list[str]) -> dict[str, dict[str, object]]:
    """Numeric candidates equal to ``polyval(coef, x)`` for a linked column ``x`` (degree ≤ 2, exact)."""
    found: dict[str, dict[str, object]] = {}
    for col in candidates:
        y = data[col]
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y) or y.isna().any():
            continue
        for base in linked:
            x = data[base].to_numpy(float)
            if len(np.unique(x)) < 4:
                continue
            coef = np.polyfit(x, y.to_numpy(float), 2)
            coef = np.where(np.abs(coef) < 1e-9, 0.0, coef)
            if np.allclose(np.polyval(coef, x), y.to_numpy(float), rtol=1e-9, atol=1e-6):
                found[col] = {"of": base, "coef": [float(c) for c in coef]}
                break
    return found


def apply_derived(values: dict[str, np.ndarray], derived: dict[str, dict[str, object]]) -> None:
    """Recompute derived columns in ``values`` (column → array) from their base column."""
    for col, rule in derived.items():
        values[col] = np.polyval(np.asarray(rule["coef"], dtype=float), np.asarray(values[str(rule["of"])], dtype=float))
