"""Awkward tables through profile → fit → sample → save/load (copula: fast, every column kind)."""

from __future__ import annotations

import pandas as pd
import pytest

from synthkit.models import Synthesizer, create
from synthkit.profile import profile

from .conftest import attempt
from .frames import FRAMES, huge_categories

MUST_FAIL = {"no_rows_no_columns", "no_rows", "no_columns", "duplicate_names"}


def _fit_sample(df: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    model = create("copula", n_quantiles=21).fit(df)
    out = model.sample(n, seed=1)
    assert list(out.columns) == [str(c) for c in df.columns], "sampled columns differ from the training columns"
    assert len(out) == n
    return out


@pytest.mark.parametrize("name", list(FRAMES))
def test_profile(name):
    build, words = FRAMES[name]
    df = build()
    must_fail = name in MUST_FAIL and name != "no_rows"  # the metadata of an empty table is fine
    meta = attempt("profile", lambda: profile(df), expect="error" if must_fail else "any", words=words)
    if not isinstance(meta, Exception):
        assert len(meta.table().columns) == df.shape[1]
        meta.model_validate(meta.to_dict())  # JSON round trip of whatever was inferred


@pytest.mark.parametrize("name", list(FRAMES))
def test_fit_sample(name):
    build, words = FRAMES[name]
    df = build()
    attempt("fit", lambda: _fit_sample(df), expect="error" if name in MUST_FAIL else "any", words=words)


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

    attempt("fit", round_trip, words=words)


def test_hundred_thousand_categories():
    df = huge_categories()

    def run() -> None:
        meta = profile(df)
        assert meta.table().column("code").kind in ("categorical", "id", "text")
        out = _fit_sample(df, n=1000)
        if meta.table().column("code").kind == "categorical":
            assert out["code"].isin(set(df["code"])).all()

    attempt("fit", run, words=("code",), limit=120)
