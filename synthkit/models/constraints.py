"""Constraints every synthetic row must meet, for any synthesizer: bounds, fixed combinations, a <= b.

Given to :meth:`Synthesizer.fit` as plain dicts (so they travel in pipeline YAML and in the
model's JSON file)::

    model.fit(df, constraints=[
        {"type": "bounds", "column": "age", "low": 18, "high": 90},
        {"type": "fixed_combinations", "columns": ["state", "city"]},
        {"type": "inequality", "low": "start_date", "high": "end_date"},
    ])

They act on the model frame (numbers as float, datetimes as float seconds, categories as
strings), right after a model samples:
- ``bounds`` is a *transformation*: values are clipped into [low, high] (missing stays missing).
- ``fixed_combinations`` (only category combinations seen in training) and ``inequality``
  (``low <= high``, or ``<`` with ``strict``; rows with a missing side pass) are enforced by
  *rejection*: rows breaking them are dropped and more are drawn.
If after ``max_rounds`` draws too few rows meet them, a :class:`ModelError` says which constraint
failed and how often it held. At fit time the share of *training* rows breaking each constraint
is logged and kept in ``model.constraint_report_``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import ConfigError, ModelError
from synthkit.transform.schema import LEARNED_CATEGORICAL, LEARNED_NUMERIC, TableSchema

__all__ = [
    "Bounds",
    "Constraint",
    "FixedCombinations",
    "Inequality",
    "constraints_from_state",
    "enforce",
    "fit_constraints",
    "snap_to_schema",
]

log = logging.getLogger(__name__)
_MISSING = "__synthkit_missing__"


class Constraint:
    """One rule over model-frame rows: ``valid(frame) -> bool mask``, optional ``repair(frame)``."""

    type: str = "constraint"

    def fit(self, frame: pd.DataFrame, schema: TableSchema) -> Constraint:
        return self

    def valid(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def repair(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    def describe(self) -> str:
        raise NotImplementedError

    def to_state(self) -> dict[str, Any]:
        raise NotImplementedError


def _learned(schema: TableSchema, column: Any, role: str | None, what: str) -> str:
    specs = {s.name: s for s in schema.learned}
    if not isinstance(column, str) or column not in specs:
        raise ConfigError(f"{what}: column {column!r} is not a learned column of this table")
    if role is not None and specs[column].role != role:
        raise ConfigError(f"{what}: column {column!r} must be {role}, it is {specs[column].role}")
    return column


def _to_frame_number(value: Any, kind: str, what: str) -> float | None:
    """A bound as the model frame stores it: numbers as float, datetimes as seconds since 1970."""
    if value is None:
        return None
    if kind == "datetime":
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{what}: {value!r} is not a date/time: {exc}") from None
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return float(stamp.value) / 1e9
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{what}: bound {value!r} must be a number")
    if not np.isfinite(float(value)):
        raise ConfigError(f"{what}: bound {value!r} must be finite")
    return float(value)


class Bounds(Constraint):
    """``low <= column <= high`` (either side optional), kept by clipping on decode."""

    type = "bounds"

    def __init__(self, column: str, low: Any = None, high: Any = None) -> None:
        self.column, self.low, self.high = column, low, high
        self.low_: float | None = None
        self.high_: float | None = None

    def fit(self, frame: pd.DataFrame, schema: TableSchema) -> Bounds:
        what = f"bounds constraint on {self.column!r}"
        _learned(schema, self.column, LEARNED_NUMERIC, what)
        kind = next(s.kind for s in schema.learned if s.name == self.column)
        self.low_, self.high_ = _to_frame_number(self.low, kind, what), _to_frame_number(self.high, kind, what)
        if next(s.integer for s in schema.learned if s.name == self.column):  # integers: round bounds inward
            self.low_ = None if self.low_ is None else float(np.ceil(self.low_))
            self.high_ = None if self.high_ is None else float(np.floor(self.high_))
        if self.low_ is None and self.high_ is None:
            raise ConfigError(f"{what}: give low, high or both")
        if self.low_ is not None and self.high_ is not None and self.low_ > self.high_:
            raise ConfigError(f"{what}: low {self.low!r} is above high {self.high!r}")
        return self

    def valid(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame[self.column].to_numpy(dtype=float)
        ok = np.ones(len(values), dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.low_ is not None:
                ok &= ~(values < self.low_)
            if self.high_ is not None:
                ok &= ~(values > self.high_)
        return ok

    def repair(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = frame[self.column].to_numpy(dtype=float)
        frame[self.column] = np.clip(values, self.low_ if self.low_ is not None else -np.inf,
                                     self.high_ if self.high_ is not None else np.inf)
        return frame

    def describe(self) -> str:
        return f"{self.low!r} <= {self.column} <= {self.high!r}"

    def to_state(self) -> dict[str, Any]:
        return {"type": self.type, "column": self.column, "low": _jsonable(self.low), "high": _jsonable(self.high),
                "low_": self.low_, "high_": self.high_}


class Inequality(Constraint):
    """``low_column <= high_column`` (``<`` with ``strict``); enforced by rejection."""

    type = "inequality"

    def __init__(self, low: str, high: str, strict: bool = False) -> None:
        self.low, self.high, self.strict = low, high, bool(strict)

    def fit(self, frame: pd.DataFrame, schema: TableSchema) -> Inequality:
        what = f"inequality constraint {self.low!r} <= {self.high!r}"
        _learned(schema, self.low, LEARNED_NUMERIC, what)
        _learned(schema, self.high, LEARNED_NUMERIC, what)
        if self.low == self.high:
            raise ConfigError(f"{what}: the two columns must differ")
        return self

    def valid(self, frame: pd.DataFrame) -> np.ndarray:
        a, b = frame[self.low].to_numpy(dtype=float), frame[self.high].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            broken = a >= b if self.strict else a > b
        return ~broken  # comparisons with NaN are False: rows with a missing side pass

    def describe(self) -> str:
        return f"{self.low} {'<' if self.strict else '<='} {self.high}"

    def to_state(self) -> dict[str, Any]:
        return {"type": self.type, "low": self.low, "high": self.high, "strict": self.strict}


class FixedCombinations(Constraint):
    """Only combinations of these categorical columns that occur in training; rejection."""

    type = "fixed_combinations"

    def __init__(self, columns: list[str], combinations: list[list[str]] | None = None) -> None:
        self.columns = list(columns) if isinstance(columns, (list, tuple)) else columns
        self.combinations_ = combinations

    def fit(self, frame: pd.DataFrame, schema: TableSchema) -> FixedCombinations:
        what = f"fixed_combinations constraint on {self.columns!r}"
        if not isinstance(self.columns, list) or len(self.columns) < 2:
            raise ConfigError(f"{what}: give a list of at least two columns")
        for column in self.columns:
            _learned(schema, column, LEARNED_CATEGORICAL, what)
        keys = self._keys(frame)
        self.combinations_ = sorted({tuple(k.split("\x1f")) for k in keys.unique()})  # type: ignore[misc]
        return self

    def _keys(self, frame: pd.DataFrame) -> pd.Series:
        parts = [frame[c].astype(object).where(frame[c].notna(), _MISSING).astype(str) for c in self.columns]
        key = parts[0]
        for part in parts[1:]:
            key = key + "\x1f" + part
        return key

    def valid(self, frame: pd.DataFrame) -> np.ndarray:
        allowed = {"\x1f".join(c) for c in self.combinations_ or []}
        return self._keys(frame).isin(allowed).to_numpy()

    def describe(self) -> str:
        return f"combinations of {self.columns} seen in training"

    def to_state(self) -> dict[str, Any]:
        return {"type": self.type, "columns": self.columns, "combinations": [list(c) for c in self.combinations_ or []]}


_TYPES: dict[str, type[Constraint]] = {"bounds": Bounds, "inequality": Inequality, "fixed_combinations": FixedCombinations}


def _parse(spec: Any) -> Constraint:
    if isinstance(spec, Constraint):
        return spec
    if not isinstance(spec, dict) or spec.get("type") not in _TYPES:
        raise ConfigError(f"constraint {spec!r} must be a dict with type one of {sorted(_TYPES)}")
    args = {k: v for k, v in spec.items() if k != "type"}
    try:
        return _TYPES[spec["type"]](**args)
    except TypeError as exc:
        raise ConfigError(f"constraint {spec!r}: {exc}") from None


def fit_constraints(specs: list[Any] | None, frame: pd.DataFrame, schema: TableSchema) -> tuple[list[Constraint], dict[str, float]]:
    """Parse and fit constraints; returns them and the share of training rows breaking each."""
    if specs is None:
        return [], {}
    if not isinstance(specs, (list, tuple)):
        raise ConfigError(f"constraints must be a list, got {type(specs).__name__}")
    fitted = [_parse(s).fit(frame, schema) for s in specs]
    report: dict[str, float] = {}
    for c in fitted:
        broken = float(1 - c.valid(frame).mean()) if len(frame) else 0.0
        report[c.describe()] = broken
        if broken > 0:
            log.warning("constraint %s is broken by %.1f%% of the training rows", c.describe(), 100 * broken)
    return fitted, report


def constraints_from_state(states: list[dict[str, Any]]) -> list[Constraint]:
    """Rebuild fitted constraints from ``Constraint.to_state()`` dicts (model files)."""
    out: list[Constraint] = []
    for s in states:
        if s["type"] == "bounds":
            b = Bounds(s["column"], s.get("low"), s.get("high"))
            b.low_, b.high_ = s.get("low_"), s.get("high_")
            out.append(b)
        elif s["type"] == "inequality":
            out.append(Inequality(s["low"], s["high"], s.get("strict", False)))
        elif s["type"] == "fixed_combinations":
            out.append(FixedCombinations(s["columns"], [tuple(c) for c in s["combinations"]]))  # type: ignore[misc]
        else:
            raise ConfigError(f"unknown constraint type {s.get('type')!r} in model file")
    return out


def snap_to_schema(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Clip and round numerics as decoding will (so constraints are checked on the final values)."""
    for spec in schema.learned:
        if spec.role == LEARNED_NUMERIC and spec.name in frame.columns:
            values = frame[spec.name].to_numpy(dtype=float)
            if spec.low is not None and spec.high is not None:
                values = np.clip(values, spec.low, spec.high)
            if spec.integer:
                values = np.round(values)
            frame[spec.name] = values
    return frame


def enforce(constraints: list[Constraint], draw: Callable[[int, np.random.Generator], pd.DataFrame], n: int,
            rng: np.random.Generator, schema: TableSchema | None = None, max_rounds: int = 30,
            max_batch: int = 2_000_000, max_draw_factor: int = 100) -> pd.DataFrame:
    """``n`` rows from ``draw`` that meet every constraint (repair, then reject); clear error if impossible.

    Gives up after ``max_rounds`` draws or ``max_draw_factor * n`` (at least 100,000) rows drawn,
    i.e. when fewer than about 1 row in ``max_draw_factor`` meets the constraints."""
    budget = max(max_draw_factor * n, 100_000)
    kept: list[pd.DataFrame] = []
    have, drawn, batch = 0, 0, n
    held = np.zeros(len(constraints))
    for _ in range(max_rounds):
        frame = draw(batch, rng).reset_index(drop=True)
        if schema is not None:
            frame = snap_to_schema(frame, schema)
        for c in constraints:
            frame = c.repair(frame)
        mask = np.ones(len(frame), dtype=bool)
        for i, c in enumerate(constraints):
            ok = c.valid(frame)
            held[i] += ok.sum()
            mask &= ok
        drawn += len(frame)
        kept.append(frame[mask])
        have += int(mask.sum())
        if have >= n:
            return pd.concat(kept, ignore_index=True).iloc[:n]
        if drawn >= budget:
            break
        rate = max(have, 1) / drawn
        batch = int(min(max(n - have, (n - have) / rate * 1.2), max_batch, budget - drawn))
    shares = ", ".join(f"{c.describe()} held for {100 * h / max(drawn, 1):.2f}%" for c, h in zip(constraints, held))
    raise ModelError(f"could not generate {n} rows meeting the constraints (only {have} of {drawn} drawn did): {shares}")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)
