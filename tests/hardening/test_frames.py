"""Awkward tables through profile → fit → sample → save/load (copula: fast, every column kind)."""

from __future__ import annotations

import pandas as pd
import pytest

from synthkit.models import Synthesizer, create
from synthkit.profile import profile

from .conftest import attempt
from .frames import FRAMES, huge_categories

MUST_FAIL = {"no_rows_no_columns", "no_rows", "no_columns", "duplicate_names"}
# inputs synthkit cannot take as they are (a clear error naming the column is the right answer);
# every other frame is valid and must work, with its output checked
INVALID = MUST_FAIL | {"mixed_int_and_str_names", "pos_inf", "neg_inf", "inf_and_nan", "mixed_bytes", "unhashable_lists",
                       "unhashable_dicts"}
# columns whose values are read into a richer type: dates in objects or strings become datetimes
# (mixed zones or offsets as UTC instants), complex numbers and intervals come back as their text
DTYPE_CHANGES = {"python_date_objects": "datetime64[ns]", "tz_aware_and_naive_mixed": "datetime64[ns, UTC]",
                 "tz_mixed_offsets": "datetime64[ns, UTC]", "date_strings_mixed_tz": "datetime64[ns, UTC]",
                 "complex_numbers": "object", "interval_dtype": "object"}


def _fit_sample(df: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    model = create("copula", n_quantiles=21).fit(df)
    out = model.sample(n, seed=1)
    assert list(out.columns) == [str(c) for c in df.columns], "sampled columns differ from the training columns"
    assert len(out) == n
    return out


def check_output(name: str, df: pd.DataFrame, out: pd.DataFrame) -> None:
    """Sampled columns keep their dtype, stay inside the real range or categories, and their missing share."""
    meta = profile(df)
    for col, real_col in zip(out.columns, df.columns, strict=True):
        real, syn, kind = df[real_col], out[col], meta.table().column(col).kind
        expected = DTYPE_CHANGES.get(name, str(real.dtype)) if col in ("when", "d", "cplx", "iv") else str(real.dtype)
        assert str(syn.dtype) == expected, (col, str(syn.dtype), expected)
        real_missing, syn_missing = float(real.isna().mean()), float(syn.isna().mean())
        if real_missing in (0.0, 1.0):
            assert syn_missing == real_missing, (col, real_missing, syn_missing)
        else:
            assert abs(syn_missing - real_missing) < 0.15, (col, real_missing, syn_missing)
        if kind in ("id", "text") or meta.table().column(col).pii != "none" or real.isna().all():
            continue  # regenerated, never learned: fake values of the same format
        present = syn.dropna()
        if kind in ("numerical", "datetime") and name not in DTYPE_CHANGES:
            assert present.min() >= real.min() and present.max() <= real.max(), (col, present.min(), present.max())
        elif kind in ("categorical", "boolean"):
            seen = {_text(v) for v in real.dropna()}
            assert {_text(v) for v in present} <= seen, (col, {_text(v) for v in present} - seen)


def _text(value: object) -> str:
    """A category as text (a mixed-type column's 3.0 comes back as "3")."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


@pytest.mark.parametrize("name", list(FRAMES))
def test_profile(name):
    build, words = FRAMES[name]
    df = build()
    must_fail = name in MUST_FAIL and name != "no_rows"  # the metadata of an empty table is fine
    expect = "error" if must_fail else "any" if name in INVALID else "ok"
    meta = attempt("profile", lambda: profile(df), expect=expect, words=words)
    if not isinstance(meta, Exception):
        assert len(meta.table().columns) == df.shape[1]
        meta.model_validate(meta.to_dict())  # JSON round trip of whatever was inferred


@pytest.mark.parametrize("name", list(FRAMES))
def test_fit_sample(name):
    build, words = FRAMES[name]
    df = build()
    expect = "error" if name in MUST_FAIL else "any" if name in INVALID else "ok"
    out = attempt("fit", lambda: _fit_sample(df, n=200), expect=expect, words=words)
    if expect == "ok":
        check_output(name, df, out)


SAVE_LOAD = ["one_row", "all_null_float", "constant_text", "int64_extremes", "tz_aware", "dates_before_1900",
             "unicode_names", "nullable_int", "nullable_bool", "html_in_names_and_values", "dates_before_1677_strings",
             "numeric_strings_commas", "ssn_column", "category_dtype"]


@pytest.mark.parametrize("name", SAVE_LOAD)
def test_save_load_round_trip(name, tmp_path):
    build, words = FRAMES[name]
    df = build()

    def round_trip() -> None:
        model = create("copula", n_quantiles=21).fit(df)
        model.save(tmp_path / "m")
        loaded = Synthesizer.load(tmp_path / "m")
        a, b = model.sample(15, seed=4), loaded.sample(15, seed=4)
        pd.testing.assert_frame_equal(a, b)

    attempt("fit", round_trip, expect="ok", words=words)


def test_hundred_thousand_categories():
    df = huge_categories()

    def run() -> None:
        meta = profile(df)
        assert meta.table().column("code").kind in ("categorical", "id", "text")
        out = _fit_sample(df, n=1000)
        if meta.table().column("code").kind == "categorical":
            assert out["code"].isin(set(df["code"])).all()

    attempt("fit", run, expect="ok", words=("code",), limit=120)
