"""TableSchema: the reversible map between a user's table and the frame models learn from.

Every synthesizer sees the same simplified "model frame": numerical columns as float64 (NaN for
missing) and categorical columns as object (NaN for missing). Datetimes become float seconds since
the epoch (so dates before 1677 or stored as integers never overflow pandas' nanosecond range),
booleans become categorical strings, and on the way back integers, bounds, dtypes and column order
are restored. PII, id and free-text columns are not learned at all: they are regenerated
(``synthkit.models.fakes``), so no raw value of theirs reaches a model file.

The state is JSON-serializable so that model files need no pickle.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import DataError, ModelFileError
from synthkit.meta import TableMeta
from synthkit.transform.resolution import Resolution

log = logging.getLogger(__name__)

__all__ = ["ColumnSpec", "TableSchema", "LEARNED_NUMERIC", "LEARNED_CATEGORICAL"]

LEARNED_NUMERIC = "numerical"
LEARNED_CATEGORICAL = "categorical"
# Quasi-identifying PII that still carries analytic value is learned as a number, with tails
# clipped; every other PII class is regenerated, never learned.
_LEARNABLE_PII = {"date_of_birth", "latitude", "longitude"}
_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclass
class ColumnSpec:
    """How one column travels to the model frame and back."""

    name: str
    kind: str  # metadata kind
    role: str  # "numerical" | "categorical" | "regenerate"
    dtype: str  # original pandas dtype
    pii: str = "none"
    integer: bool = False
    nullable: bool = False
    low: float | None = None  # clip bounds on decode (quantiles, not raw extremes)
    high: float | None = None
    datetime_tz: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class TableSchema:
    """Learn the column specs of a table, then map data to and from the model frame."""

    def __init__(self, columns: list[ColumnSpec], tail_quantile: float = 0.0) -> None:
        self.columns = columns
        self.tail_quantile = tail_quantile

    # -- construction -----------------------------------------------------------------
    @classmethod
    def fit(cls, df: pd.DataFrame, table: TableMeta, tail_quantile: float = 0.0) -> TableSchema:
        """Derive specs from data + metadata. ``tail_quantile`` > 0 clips numeric tails there."""
        specs = []
        for meta in table.columns:
            series = df[meta.name]
            role = _role_of(meta.kind, meta.pii, meta.name == table.primary_key)
            spec = ColumnSpec(
                name=meta.name,
                kind=meta.kind,
                role=role,
                dtype=str(series.dtype),
                pii=meta.pii,
                nullable=bool(series.isna().any()),
            )
            if role == LEARNED_NUMERIC:
                values = _to_numeric(series, meta.kind, spec)
                finite = values[np.isfinite(values)]
                if meta.kind == "numerical":
                    spec.integer = bool(len(finite)) and bool(np.all(np.floor(finite) == finite))
                    if not spec.integer:  # whole numbers are rounded on decode
                        resolution = Resolution.fit(finite)
                        if resolution.places != (None,):
                            spec.extra["resolution"] = resolution.to_state()
                if len(finite):
                    q = tail_quantile if meta.pii == "none" else max(tail_quantile, 0.01)
                    spec.low, spec.high = (float(v) for v in np.quantile(finite, [q, 1 - q]))
            elif role == LEARNED_CATEGORICAL and meta.kind == "boolean":
                spec.extra["bool_values"] = True
            elif role == "regenerate":
                spec.extra.update(_regeneration_hints(series))
            specs.append(spec)
        return cls(specs, tail_quantile)

    # -- mapping ----------------------------------------------------------------------
    @property
    def learned(self) -> list[ColumnSpec]:
        return [c for c in self.columns if c.role != "regenerate"]

    @property
    def regenerated(self) -> list[ColumnSpec]:
        return [c for c in self.columns if c.role == "regenerate"]

    @property
    def numerical_names(self) -> list[str]:
        return [c.name for c in self.columns if c.role == LEARNED_NUMERIC]

    @property
    def categorical_names(self) -> list[str]:
        return [c.name for c in self.columns if c.role == LEARNED_CATEGORICAL]

    def to_model_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Learned columns only: numerics as float64, categoricals as object (NaN = missing)."""
        out: dict[str, Any] = {}
        for spec in self.learned:
            series = df[spec.name]
            if spec.role == LEARNED_NUMERIC:
                out[spec.name] = _to_numeric(series, spec.kind, spec)
            else:
                values = series.astype(object)
                values = values.where(series.notna(), np.nan)
                out[spec.name] = values.map(_category_key, na_action="ignore")
        return pd.DataFrame(out, index=pd.RangeIndex(len(df)))

    def write_at_resolution(self, frame: pd.DataFrame, rng: np.random.Generator, keep: Collection[str] = ()) -> pd.DataFrame:
        """Numbers in ``frame`` (a model frame, changed in place) written at the decimal places the
        training values were, in their shares: a BMI of 29.818101748855277 where real ones read
        29.83 tells synthetic rows apart at a glance, and a tree splits on real values' point masses.
        A value already written so (a copula returning training values) keeps its places. Columns
        in ``keep`` (conditioned on: their values are the caller's) stay as they are."""
        for spec in self.learned:
            state = spec.extra.get("resolution")
            if state is not None and spec.name not in keep and spec.name in frame:
                values = frame[spec.name].to_numpy(dtype=float)
                frame[spec.name] = Resolution.from_state(state).apply(values, rng, keep_written=True)
        return frame

    def from_model_frame(self, frame: pd.DataFrame, regenerated: dict[str, pd.Series]) -> pd.DataFrame:
        """Original columns, order and dtypes from a model frame plus regenerated columns."""
        n = len(frame)
        if not frame.index.equals(pd.RangeIndex(n)):
            frame = frame.reset_index(drop=True)
        out: dict[str, pd.Series] = {}
        for spec in self.columns:
            if spec.role == "regenerate":
                out[spec.name] = regenerated[spec.name].reset_index(drop=True)
            elif spec.role == LEARNED_NUMERIC:
                out[spec.name] = _from_numeric(frame[spec.name].to_numpy(dtype=float), spec)
            else:
                out[spec.name] = _from_categorical(frame[spec.name], spec)
        # copy=False: pandas would otherwise copy same-dtype columns into one 2-D block (for object
        # columns a stack of every pointer), as long as decoding itself at 500k rows; the columns
        # are new arrays, or the discarded model frame's
        return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)

    # -- JSON state -------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"tail_quantile": self.tail_quantile, "columns": [asdict(c) for c in self.columns]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableSchema:
        try:
            return cls([ColumnSpec(**c) for c in state["columns"]], state.get("tail_quantile", 0.0))
        except (KeyError, TypeError, AttributeError) as exc:  # a hand-edited or foreign model file
            raise ModelFileError(f"the model's schema is invalid ({type(exc).__name__}: {exc}); "
                                 "the model file was changed or damaged") from None


def _role_of(kind: str, pii: str, is_primary_key: bool) -> str:
    if is_primary_key or kind in ("id", "text"):
        return "regenerate"
    if pii != "none" and pii not in _LEARNABLE_PII:
        return "regenerate"
    if kind in ("numerical", "datetime") or pii in _LEARNABLE_PII:
        return LEARNED_NUMERIC
    return LEARNED_CATEGORICAL


def _category_key(value: Any) -> Any:
    """Categories travel as strings so JSON state and torch vocabularies agree on one type."""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value)) if abs(value) < 2**53 else str(value)
    return str(value)


def _to_numeric(series: pd.Series, kind: str, spec: ColumnSpec) -> np.ndarray:
    """Numbers (or datetimes as float seconds since 1970) as float64, missing as NaN."""
    if kind == "datetime" or pd.api.types.is_datetime64_any_dtype(series.dtype):
        dt = series if pd.api.types.is_datetime64_any_dtype(series.dtype) else _parse_dates(series)
        tz = getattr(dt.dtype, "tz", None)
        if tz is not None:
            spec.datetime_tz = _timezone_name(tz)
            dt = dt.dt.tz_convert("UTC").dt.tz_localize(None)
        unit = np.datetime_data(dt.dtype)[0] if hasattr(dt.dtype, "str") else "ns"
        ints = dt.to_numpy().astype("datetime64[" + unit + "]").astype(np.int64).astype(float)
        ints[dt.isna().to_numpy()] = np.nan
        spec.extra.setdefault("datetime_unit", unit)
        return ints * _SECONDS_PER_UNIT.get(unit, 1.0)
    values = pd.to_numeric(series, errors="coerce")
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(arr).any():
        raise DataError(f"column {spec.name!r} contains infinite values; replace them or mark them missing")
    bad = series.notna().to_numpy() & np.isnan(arr)
    if bad.any():
        example = series[bad].iloc[0]
        raise DataError(f"column {spec.name!r} is numerical but holds non-numeric values such as {str(example)[:20]!r}")
    return arr


def _parse_dates(series: pd.Series) -> pd.Series:
    """Dates from objects or strings without losing any: as given, else as UTC instants.

    pandas parses a column with one format and one time zone and turns the rest into NaT (a
    naive value beside aware ones, a second offset, a second layout): such columns are read as UTC
    instants (naive values taken as UTC), with per-value formats if one format loses values.
    """
    present = int(series.notna().sum())
    best: pd.Series | None = None
    for kwargs in ({"utc": False}, {"utc": True}, {"utc": True, "format": "mixed"}):
        parsed = pd.to_datetime(series, errors="coerce", **kwargs)
        if not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
            continue  # offsets kept per value: an object column
        if best is None or parsed.notna().sum() > best.notna().sum():
            best = parsed
        if int(best.notna().sum()) == present:
            break
    return best if best is not None else pd.to_datetime(series, errors="coerce", utc=True)


def _timezone_name(tz: Any) -> str | None:
    """A name the time zone can be rebuilt from (stored in JSON), or None (timestamps then come back in UTC).

    ``str(tz)`` is not always one: dateutil zones print as ``tzfile('/usr/share/zoneinfo/…')`` and
    zoneinfo-only keys such as ``posix/UTC`` are unknown to pytz, which pandas asks first.
    """
    candidates = [getattr(tz, "key", None), getattr(tz, "zone", None), str(tz)]
    filename = getattr(tz, "_filename", None)  # dateutil tzfile: the zoneinfo path names the zone
    if isinstance(filename, str) and "zoneinfo/" in filename:
        candidates.insert(0, filename.split("zoneinfo/", 1)[1])
    for name in candidates:
        if isinstance(name, str) and name and _timezone(name, strict=False) is not None:
            return name
    log.warning("time zone %r cannot be stored by name; sampled timestamps will be in UTC", tz)
    return None


def _timezone(name: str, strict: bool = True) -> Any:
    """The time zone ``name`` as pandas takes it: its own lookup (pytz/dateutil) first, then zoneinfo."""
    try:
        pd.DatetimeTZDtype(tz=name)
        return name
    except Exception:  # pytz.UnknownTimeZoneError and friends: pandas does not re-export one type
        pass
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        if not strict:
            return None
        raise ModelFileError(f"the model's time zone {name!r} is unknown on this machine") from None


def _from_numeric(values: np.ndarray, spec: ColumnSpec) -> pd.Series:
    missing = np.isnan(values)
    if spec.low is not None and spec.high is not None:
        values = np.clip(values, spec.low, spec.high)
    if spec.kind == "datetime":
        unit = spec.extra.get("datetime_unit", "ns")
        ints = np.round(values / _SECONDS_PER_UNIT.get(unit, 1.0))
        ints[missing] = 0
        dt = pd.Series(ints.astype(np.int64).astype(f"datetime64[{unit}]"))
        dt[missing] = pd.NaT
        target = spec.dtype if spec.dtype.startswith("datetime64") else f"datetime64[{unit}]"
        if spec.datetime_tz:
            return dt.dt.tz_localize("UTC").dt.tz_convert(_timezone(spec.datetime_tz))
        try:
            return dt.astype(target)
        except (TypeError, ValueError):
            return dt
    if spec.integer:
        values = np.round(values)
    series = pd.Series(values)
    dtype = spec.dtype
    if dtype.startswith(("int", "uint")):
        if missing.any():
            return series.astype("Int64")
        return series.astype(dtype)
    if dtype in ("Int64", "Int32", "Int16", "Int8", "UInt64", "UInt32", "UInt16", "UInt8"):
        return series.astype(dtype)
    if dtype.startswith("float") or dtype in ("Float64", "Float32"):
        return series.astype(dtype)
    return series


_NUMERIC_DTYPES = ("int", "Int", "float", "Float", "uint", "UInt", "Sparse[int", "Sparse[float")


def _from_categorical(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    numeric_dtype = spec.dtype.startswith(_NUMERIC_DTYPES) and not spec.dtype.startswith("interval")
    if spec.extra.get("bool_values") and numeric_dtype:  # a 0/1 number column stays numbers, not booleans
        values = values.map({"True": "1", "False": "0"}).fillna(values)
    elif spec.extra.get("bool_values") or spec.dtype == "bool" or spec.dtype == "boolean":
        mapped = values.map({"True": True, "False": False, "1": True, "0": False})
        if spec.dtype == "bool" and not mapped.isna().any():
            return mapped.astype(bool)
        return mapped.astype("boolean")
    if numeric_dtype:
        numeric = pd.to_numeric(values, errors="coerce")
        if spec.dtype.startswith(("int", "uint")):
            return numeric.astype("Int64") if numeric.isna().any() else numeric.astype(spec.dtype)
        return numeric.astype(spec.dtype if not spec.dtype.startswith("int") else "float64")
    if spec.dtype.startswith(("timedelta64", "period[")):  # durations and periods travel as their text
        try:
            return (pd.to_timedelta(values, errors="coerce") if spec.dtype.startswith("timedelta64")
                    else values.astype(spec.dtype))
        except (TypeError, ValueError):
            return values.astype(object, copy=False)
    if spec.dtype == "category":
        return values.astype("category")
    if spec.dtype.startswith("string"):
        return values.astype(spec.dtype)
    return values.astype(object, copy=False)


def _regeneration_hints(series: pd.Series) -> dict[str, Any]:
    """Format facts (never values) that let fakes look like the original column."""
    values = series.dropna()
    hints: dict[str, Any] = {"unique": bool(values.is_unique)}
    if pd.api.types.is_integer_dtype(series.dtype):
        hints["format"] = "integer"
    elif len(values):
        text = values.astype(str)
        lengths = text.str.len()
        hints["format"] = "string"
        hints["median_length"] = int(lengths.median())
        hints["uuid_like"] = bool(text.str.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").mean() > 0.9)
    hints["missing_share"] = float(series.isna().mean()) if len(series) else 0.0
    return hints
