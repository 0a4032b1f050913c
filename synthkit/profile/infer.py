"""Column-kind inference: the minimum every model needs to pick its encoders.

Rules are deliberately simple and documented so a user can predict (and override) the outcome:

* bool dtype or two integer values {0, 1} -> ``boolean``; datetime dtype or text that parses as
  ISO 8601 dates throughout -> ``datetime``;
* medical code columns (:mod:`synthkit.profile.codes`) -> ``categorical`` even when numeric;
* ``id``: unique (nearly) consecutive integers, UUID-like text, unique short tokens, or a
  column *named* like an identifier (``*_id``, ``*_nbr``, ``key``) whose values are mostly distinct;
* numbers with at most 10 distinct integral values (and few relative to rows) -> ``categorical``;
  other numbers -> ``numerical`` (``numeric_subtype``: integer/float; stats say discrete/continuous);
* long, mostly distinct strings -> ``text``; everything else -> ``categorical``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthkit.profile.codes import code_system
from synthkit.profile.names import ColumnFacts, column_facts, name_tokens, sample_values

__all__ = ["datetime_text_format", "infer_kind", "is_uuid_like", "numeric_subtype"]

# A numeric column with at most this many distinct values *and* few relative to rows is categorical
# (e.g. a 1..5 rating code); beyond it, it is numerical.
_MAX_NUMERIC_CODES = 10
# An object column whose share of distinct values is above this, with long strings, is free text.
_TEXT_UNIQUE_SHARE = 0.5
_TEXT_MIN_MEAN_LEN = 30
_ID_TOKENS = {"id", "ids", "nbr", "uuid", "guid", "key", "identifier", "mrn"}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def infer_kind(series: pd.Series, facts: ColumnFacts | None = None) -> str:
    """Guess one of numerical/categorical/boolean/datetime/id/text for ``series``."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    facts = facts or column_facts(series)
    values = facts.present
    n = len(values)
    if n == 0:
        return "categorical"
    if isinstance(series.dtype, pd.CategoricalDtype):
        return "categorical"
    nunique = facts.nunique
    id_named = bool(set(name_tokens(series.name)) & _ID_TOKENS) or str(series.name).endswith(("Id", "ID"))
    if pd.api.types.is_numeric_dtype(series.dtype):
        integral = _is_integral(values)
        if nunique == 2 and integral and set(pd.unique(values)) <= {0, 1}:
            return "boolean"
        if integral and nunique == n and n > 100 and _looks_like_row_id(values):
            return "id"
        if integral and id_named and n > 50 and nunique > 0.5 * n:
            return "id"
        if code_system(series, facts) is not None:
            return "categorical"
        if nunique <= _MAX_NUMERIC_CODES and nunique < max(3, 0.01 * n) and integral:
            return "categorical"
        return "numerical"
    # object / string
    text = facts.sample
    if text.str.match(_UUID).mean() >= 0.95:
        return "id"
    if datetime_text_format(series, text) is not None:
        return "datetime"
    mean_len = text.str.len().mean()
    if nunique == n and n > 100 and mean_len < _TEXT_MIN_MEAN_LEN and not text.str.contains(" ").mean() > 0.5:
        return "id"
    if id_named and n > 50 and nunique > 0.5 * n and mean_len < _TEXT_MIN_MEAN_LEN:
        return "id"
    if nunique / n > _TEXT_UNIQUE_SHARE and mean_len >= _TEXT_MIN_MEAN_LEN:
        return "text"
    return "categorical"


def numeric_subtype(series: pd.Series) -> str:
    """'integer' if every present value is whole, else 'float'."""
    values = series.dropna()
    if pd.api.types.is_integer_dtype(series.dtype) or (len(values) and _is_integral(values)):
        return "integer"
    return "float"


def is_uuid_like(series: pd.Series) -> bool:
    """True when nearly all values look like UUIDs (Synthea and FHIR keys)."""
    text = sample_values(series)
    return bool(len(text)) and text.str.match(_UUID).mean() >= 0.95


def datetime_text_format(series: pd.Series, sample: pd.Series | None = None) -> str | None:
    """"ISO8601" when a text column holds ISO dates throughout (profiling raw, uncoerced frames)."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
        return None
    text = sample_values(series, 2000) if sample is None else sample
    if text.empty or not text.str.match(_ISO).all():
        return None
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    return "ISO8601" if parsed.notna().all() else None


def _is_integral(values: pd.Series) -> bool:
    try:
        arr = values.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        return False
    finite = arr[np.isfinite(arr)]
    return bool(len(finite)) and bool(np.all(np.equal(np.floor(finite), finite)))


def _looks_like_row_id(values: pd.Series) -> bool:
    """Unique integers that are (nearly) consecutive, as autoincrement keys are."""
    arr = np.sort(values.to_numpy())
    span = float(arr[-1]) - float(arr[0]) + 1
    return span <= 2 * len(arr)
