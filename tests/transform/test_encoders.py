"""Column and table encoders: reversible, JSON state, rare-category and tail protection."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import ConfigError, DataError
from synthkit.profile import profile
from synthkit.transform import (
    CategoricalEncoder,
    NumericEncoder,
    TableEncoder,
    TableSchema,
)


@pytest.fixture(scope="module")
def adult_frame(adult_small: pd.DataFrame) -> tuple[pd.DataFrame, TableSchema]:
    df = adult_small.copy()
    df.loc[df.index[::7], "hours-per-week"] = np.nan  # numeric missing values
    schema = TableSchema.fit(df, profile(df).table())
    return schema.to_model_frame(df), schema


@pytest.mark.parametrize("method", ["gmm", "quantile"])
def test_table_round_trip_on_adult(adult_frame, method):
    frame, schema = adult_frame
    enc = TableEncoder(numeric=method).fit(frame, schema.numerical_names, schema.categorical_names, seed=0)
    x = enc.transform(frame, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (len(frame), enc.output_dim)
    # every softmax group is one-hot, every scalar in [-1, 1]
    for span in enc.spans:
        block = x[:, span.start:span.stop]
        if span.activation == "softmax":
            np.testing.assert_array_equal(block.sum(axis=1), 1.0)
        else:
            assert np.abs(block).max() <= 1.0
    back = enc.reverse(x, np.random.default_rng(1))
    assert list(back.columns) == list(frame.columns)
    for name in schema.categorical_names:
        pd.testing.assert_series_equal(back[name].fillna("<na>"), frame[name].fillna("<na>"), check_dtype=False)
    for name in schema.numerical_names:
        real, rec = frame[name].to_numpy(), back[name].to_numpy()
        np.testing.assert_array_equal(np.isnan(rec), np.isnan(real))
        ok = ~np.isnan(real)
        # almost every value comes back exactly (integers are rounded); a few far tails are clipped
        assert np.mean(np.abs(rec[ok] - real[ok]) <= 0.5) > 0.99, name


@pytest.mark.parametrize("rare_min_count", [1, 30])
def test_reverse_from_codes_equals_reverse_of_the_matrix(adult_frame, rare_min_count):
    """Samplers that draw each group's slot themselves decode exactly like the wide-matrix path."""
    frame, schema = adult_frame
    enc = TableEncoder(rare_min_count=rare_min_count, rare_strategy="resample").fit(
        frame, schema.numerical_names, schema.categorical_names, seed=0)
    logits = np.random.default_rng(5).normal(size=(3000, enc.output_dim)).astype(np.float32)
    values = np.column_stack([logits[:, s.start] for s in enc.spans if s.activation == "tanh"])
    values = np.tanh(values)
    matrix = logits.copy()
    matrix[:, [s.start for s in enc.spans if s.activation == "tanh"]] = values
    codes = np.column_stack([logits[:, s.start:s.stop].argmax(axis=1) for s in enc.spans if s.activation == "softmax"])
    wide = enc.reverse(matrix, np.random.default_rng(9))
    compact = enc.reverse_codes(values, codes, np.random.default_rng(9))
    pd.testing.assert_frame_equal(compact, wide)
    assert wide["hours-per-week"].isna().any()  # the missing slot is decoded too


def test_state_is_json_and_reproduces_transform(adult_frame):
    frame, schema = adult_frame
    enc = TableEncoder().fit(frame, schema.numerical_names, schema.categorical_names, seed=3)
    state = json.loads(json.dumps(enc.to_state(), allow_nan=False))
    again = TableEncoder.from_state(state)
    assert again.spans == enc.spans
    np.testing.assert_array_equal(again.transform(frame, np.random.default_rng(4)), enc.transform(frame, np.random.default_rng(4)))


def test_fit_is_seeded(adult_frame):
    frame, schema = adult_frame
    a = TableEncoder(max_samples=500).fit(frame, schema.numerical_names, schema.categorical_names, seed=1).to_state()
    b = TableEncoder(max_samples=500).fit(frame, schema.numerical_names, schema.categorical_names, seed=1).to_state()
    assert a == b


def test_rare_categories_dropped_are_not_stored():
    values = pd.Series(["a"] * 50 + ["b"] * 30 + ["zq1", "zq2", "zq2"] + [np.nan] * 5, dtype=object)
    enc = CategoricalEncoder("c", min_count=5, rare_strategy="drop").fit(values)
    assert enc.categories == ["a", "b"] and enc.has_other and enc.n_rare == 2 and enc.has_missing
    assert "zq" not in json.dumps(enc.to_state())
    codes = enc.to_codes(values)
    assert (codes[80:83] == enc.other_code).all() and (codes[83:] == enc.missing_code).all()
    out = enc.from_codes(codes, np.random.default_rng(0))
    assert set(pd.Series(out).dropna()) <= {"a", "b"}
    assert pd.isna(out[83:]).all()


def test_rare_categories_resampled_by_frequency():
    values = pd.Series(["a"] * 100 + ["r1"] * 2 + ["r2"] * 6, dtype=object)
    enc = CategoricalEncoder("c", min_count=10, rare_strategy="resample").fit(values)
    out = enc.from_codes(np.full(4000, enc.other_code), np.random.default_rng(0))
    share = np.mean(out == "r2")
    assert set(out) == {"r1", "r2"} and 0.7 < share < 0.8


def test_unseen_category_maps_to_other_or_most_frequent():
    enc = CategoricalEncoder("c").fit(pd.Series(["x", "x", "y"], dtype=object))
    assert enc.to_codes(pd.Series(["z"], dtype=object)).tolist() == [0]


def test_numeric_tail_clipping_and_integers():
    rng = np.random.default_rng(0)
    x = np.round(rng.lognormal(3, 1, 5000))
    enc = NumericEncoder("v", clip_quantile=0.01).fit(x, rng)
    assert enc.integer and enc.high < x.max() and enc.low > x.min()
    back = enc.reverse(enc.transform(x, rng))
    assert back.max() <= enc.high and back.min() >= enc.low
    np.testing.assert_array_equal(back, np.round(back))


def test_all_missing_numeric_column_decodes_to_missing():
    enc = NumericEncoder("v").fit(np.full(10, np.nan), np.random.default_rng(0))
    block = enc.transform(np.full(10, np.nan), np.random.default_rng(0))
    assert np.isnan(enc.reverse(block)).all()


def test_bad_settings_and_inputs_are_clear_errors(adult_frame):
    frame, schema = adult_frame
    with pytest.raises(ConfigError, match="numeric encoding"):
        NumericEncoder("v", method="kmeans")
    with pytest.raises(ConfigError, match="min_count"):
        CategoricalEncoder("c", min_count=0)
    with pytest.raises(DataError, match="not in the table"):
        TableEncoder().fit(frame, ["nope"], [])
    enc = TableEncoder().fit(frame, schema.numerical_names, schema.categorical_names)
    with pytest.raises(DataError, match="columns"):
        enc.reverse(np.zeros((3, 2)), np.random.default_rng(0))


def test_codes_round_trip(adult_frame):
    frame, schema = adult_frame
    enc = TableEncoder().fit(frame, schema.numerical_names, schema.categorical_names)
    codes = enc.codes(frame)
    assert codes.shape == (len(frame), len(schema.categorical_names)) and codes.dtype == np.int64
    back = enc.from_codes(codes, np.random.default_rng(0))
    for name in schema.categorical_names:
        assert (back[name].fillna("<na>") == frame[name].fillna("<na>")).all()
