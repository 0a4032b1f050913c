"""Column-kind inference: the minimum every model needs to pick its encoders.

The profiler (``synthkit.profile.profile``) builds on this with statistics and PII detection.
Rules are deliberately simple and documented so a user can predict (and override) the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["infer_kind", "numeric_subtype"]

# A numeric column with at most this many distinct values *and* few relative to rows is categorical
# (e.g. a 1..5 rating code); beyond it, it is numerical.
_MAX_NUMERIC_CODES = 10
# An object column whose share of distinct values is above this, with long strings, is free text.
_TEXT_UNIQUE_SHARE = 0.5
_TEXT_MIN_MEAN_LEN = 30


def infer_kind(series: pd.Series) -> str:
    """Guess one of numerical/categorical/boolean/datetime/id/text for ``series``."""
    values = series.dropna()
    n = len(values)
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if n == 0:
        return "categorical"
    nunique = values.nunique()
    if pd.api.types.is_numeric_dtype(series.dtype):
        if set(pd.unique(values)) <= {0, 1} and nunique == 2 and pd.api.types.is_integer_dtype(series.dtype):
            return "boolean"
        if (
            pd.api.types.is_integer_dtype(series.dtype)
            and nunique == n
            and n > 100
            and _looks_like_row_id(values)
        ):
            return "id"
        if nunique <= _MAX_NUMERIC_CODES and nunique < max(3, 0.01 * n) and _is_integral(values):
            return "categorical"
        return "numerical"
    # object / string / category
    text = values.astype(str)
    if nunique == n and n > 100 and text.str.len().mean() < _TEXT_MIN_MEAN_LEN and not text.str.contains(" ").mean() > 0.5:
        return "id"
    if nunique / n > _TEXT_UNIQUE_SHARE and text.str.len().mean() >= _TEXT_MIN_MEAN_LEN:
        return "text"
    return "categorical"


def numeric_subtype(series: pd.Series) -> str:
    """'integer' if every present value is whole, else 'float'."""
    values = series.dropna()
    if pd.api.types.is_integer_dtype(series.dtype) or (len(values) and _is_integral(values)):
        return "integer"
    return "float"


def _is_integral(values: pd.Series) -> bool:
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    finite = arr[np.isfinite(arr)]
    return bool(len(finite)) and bool(np.all(np.equal(np.floor(finite), finite)))


def _looks_like_row_id(values: pd.Series) -> bool:
    """Unique integers that are (nearly) consecutive, as autoincrement keys are."""
    arr = np.sort(values.to_numpy())
    span = float(arr[-1]) - float(arr[0]) + 1
    return span <= 2 * len(arr)
