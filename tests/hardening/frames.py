"""Hand-picked awkward tables: each builder returns a small DataFrame a user could plausibly pass."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable

import numpy as np
import pandas as pd

N = 40
_rng = np.random.default_rng(0)


def _base(n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"num": rng.normal(size=n).round(3), "cat": rng.choice(["a", "b", "c"], n), "k": rng.integers(0, 9, n)})


def _with(column: str, values) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        df = _base(len(values))
        df[column] = values
        return df

    return build


def _cycle(values: list, n: int = N) -> list:
    return [values[i % len(values)] for i in range(n)]


# name -> (builder, what a failure message must name when it raises; "" = anything clear)
FRAMES: dict[str, tuple[Callable[[], pd.DataFrame], tuple[str, ...]]] = {
    "no_rows_no_columns": (lambda: pd.DataFrame(), ("column", "empty", "rows")),
    "no_rows": (lambda: _base().iloc[:0], ("empty", "0 rows", "no rows")),
    "no_columns": (lambda: _base().iloc[:, :0], ("no columns", "column")),
    "one_row": (lambda: _base(1), ("row",)),
    "two_rows": (lambda: _base(2), ("row",)),
    "one_numeric_column": (lambda: _base()[["num"]], ("num",)),
    "one_categorical_column": (lambda: _base()[["cat"]], ("cat",)),
    "one_cell": (lambda: pd.DataFrame({"x": [1.5]}), ("x", "row")),
    "all_null_float": (_with("gone", [np.nan] * N), ("gone",)),
    "all_null_object": (_with("gone", pd.Series([None] * N, dtype=object)), ("gone",)),
    "all_null_every_column": (lambda: pd.DataFrame({"a": [np.nan] * N, "b": [None] * N}), ("a", "b", "missing")),
    "constant_numeric": (_with("same", [7.0] * N), ("same",)),
    "constant_text": (_with("same", ["x"] * N), ("same",)),
    "constant_bool": (_with("same", [True] * N), ("same",)),
    "constant_date": (_with("same", [pd.Timestamp("2020-01-01")] * N), ("same",)),
    "nan_in_numeric": (_with("holes", _cycle([1.0, np.nan, 3.5, np.nan])), ("holes",)),
    "pos_inf": (_with("wild", _cycle([1.0, np.inf, 2.0])), ("wild", "infinite")),
    "neg_inf": (_with("wild", _cycle([1.0, -np.inf, 2.0])), ("wild", "infinite")),
    "inf_and_nan": (_with("wild", _cycle([np.inf, np.nan, -np.inf, 0.0])), ("wild", "infinite")),
    "int64_extremes": (_with("big", _cycle([np.iinfo(np.int64).max, np.iinfo(np.int64).min, 0])), ("big",)),
    "int64_max_only": (_with("big", np.full(N, np.iinfo(np.int64).max, dtype=np.int64)), ("big",)),
    "uint64_huge": (_with("big", np.array(_cycle([2**64 - 1, 0, 2**63]), dtype=np.uint64)), ("big",)),
    "float_extremes": (_with("big", _cycle([1.7e308, -1.7e308, 5e-324, 0.0])), ("big",)),
    "negative_zero": (_with("z", _cycle([-0.0, 0.0, 1.0])), ("z",)),
    "mixed_int_str": (_with("mix", _cycle([1, "two", 3.0, "4"])), ("mix",)),
    "mixed_with_none_and_bool": (_with("mix", _cycle([True, "yes", None, 2, 2.5])), ("mix",)),
    "mixed_bytes": (_with("mix", _cycle([b"\x00\xff", "text", 3])), ("mix",)),
    "unhashable_lists": (_with("lists", _cycle([[1, 2], [3], []])), ("lists",)),
    "unhashable_dicts": (_with("dicts", _cycle([{"a": 1}, {}, {"b": [2]}])), ("dicts",)),
    "decimal_objects": (_with("money", _cycle([decimal.Decimal("1.10"), decimal.Decimal("2.25"), None])), ("money",)),
    "complex_numbers": (_with("cplx", np.array(_cycle([1 + 2j, 3 - 1j]), dtype=complex)), ("cplx",)),
    "timedelta": (_with("dur", pd.to_timedelta(_cycle([1, 2, 3, None]), unit="h")), ("dur",)),
    "period_dtype": (_with("per", pd.period_range("2020-01", periods=N, freq="M")), ("per",)),
    "interval_dtype": (_with("iv", pd.IntervalIndex.from_breaks(np.arange(N + 1))), ("iv",)),
    "sparse_dtype": (_with("sp", pd.arrays.SparseArray(_cycle([0.0, 0.0, 1.0]))), ("sp",)),
    "category_dtype": (_with("c2", pd.Categorical(_cycle(["lo", "hi", None]))), ("c2",)),
    "nullable_int": (_with("ni", pd.array(_cycle([1, None, 3]), dtype="Int64")), ("ni",)),
    "nullable_float": (_with("nf", pd.array(_cycle([1.5, None, 3.0]), dtype="Float64")), ("nf",)),
    "nullable_bool": (_with("nb", pd.array(_cycle([True, None, False]), dtype="boolean")), ("nb",)),
    "string_dtype": (_with("s", pd.array(_cycle(["x", None, "y"]), dtype="string")), ("s",)),
    "pyarrow_string": (_with("s", pd.array(_cycle(["x", None, "y"]), dtype="string[pyarrow]")), ("s",)),
    "bools_as_strings": (_with("flag", _cycle(["yes", "no", "no"])), ("flag",)),
    "bools_as_TF": (_with("flag", _cycle(["T", "F"])), ("flag",)),
    "numeric_strings_commas": (_with("amt", _cycle(["1,234", "12,345.50", "999"])), ("amt",)),
    "numeric_strings_spaces": (_with("amt", _cycle([" 12 ", "7", " 3.5"])), ("amt",)),
    "tz_aware": (_with("when", pd.date_range("2021-03-27", periods=N, freq="h", tz="Europe/Berlin")), ("when",)),
    "tz_aware_and_naive_mixed": (
        _with("when", _cycle([pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-01-02"), None])), ("when",)),
    "tz_mixed_offsets": (
        _with("when", _cycle([pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-06-01", tz="Asia/Kolkata")])), ("when",)),
    "date_strings_mixed_tz": (_with("when", _cycle(["2020-01-01T00:00:00Z", "2020-01-02 10:00", "2020-01-03T00:00:00+05:30"])), ("when",)),
    "dates_before_1900": (_with("born", pd.date_range("1850-01-01", periods=N, freq="400D")), ("born",)),
    "dates_before_1677_objects": (_with("born", _cycle([dt.date(1500, 1, 1), dt.date(1066, 10, 14), dt.date(1999, 1, 1)])), ("born",)),
    "dates_before_1677_strings": (_with("born", _cycle(["1500-01-01", "1066-10-14", "1999-12-31"])), ("born",)),
    "datetime64_seconds_year_1000": (
        _with("old", np.array(_cycle(["1000-01-01", "1200-06-01", "2500-01-01"]), dtype="datetime64[s]")), ("old",)),
    "python_date_objects": (_with("d", _cycle([dt.date(2020, 1, 1), dt.date(2021, 5, 5)])), ("d",)),
    "python_time_objects": (_with("t", _cycle([dt.time(10, 30), dt.time(23, 59)])), ("t",)),
    "nat_only_datetime": (_with("d", pd.Series([pd.NaT] * N, dtype="datetime64[ns]")), ("d",)),
    "unicode_names": (lambda: _base().rename(columns={"num": "数値 📈", "cat": "קטגוריה", "k": "Ünïcödé"}), ("数値", "קטגוריה")),
    "whitespace_names": (lambda: _base().rename(columns={"num": " padded ", "cat": "\ttab\n", "k": "a  b"}), ("padded", "tab")),
    "empty_string_name": (lambda: _base().rename(columns={"num": ""}), ("''", "name", "column")),
    "blank_names": (lambda: _base().rename(columns={"num": " ", "cat": "  "}), ("name", "column")),
    "duplicate_names": (lambda: pd.concat([_base()[["num"]], _base()[["num"]]], axis=1), ("duplicate",)),
    "names_differ_only_in_space": (lambda: _base().rename(columns={"num": "x", "cat": "x "}), ("x", "duplicate")),
    "integer_names": (lambda: _base().set_axis([0, 1, 2], axis=1), ("0", "1", "2")),
    "mixed_int_and_str_names": (lambda: _base().set_axis([0, "0", "k"], axis=1), ("duplicate", "0")),
    "multiindex_columns": (lambda: _base().set_axis(pd.MultiIndex.from_tuples([("a", "x"), ("a", "y"), ("b", "x")]), axis=1), ("column",)),
    "dotted_and_sql_names": (lambda: _base().rename(columns={"num": "a.b", "cat": 'x"; DROP TABLE t; --', "k": "select"}), ("a.b",)),
    "very_long_name": (lambda: _base().rename(columns={"num": "n" * 5000}), ("nnnn",)),
    "html_in_names_and_values": (_with("<script>alert(1)</script>", _cycle(["<b>x</b>", "&amp;", "\"'"])), ("script",)),
    "nul_characters": (_with("nul", _cycle(["a\x00b", "\x00", "c"])), ("nul",)),
    "long_strings": (_with("essay", _cycle(["word " * 2000, "other " * 1500])), ("essay",)),
    "empty_strings": (_with("blank", [""] * N), ("blank",)),
    "whitespace_strings": (_with("blank", _cycle([" ", "\t", "\n"])), ("blank",)),
    "duplicated_index": (lambda: _base().set_index(pd.Index([0] * N)), ("index",)),
    "string_index": (lambda: _base().set_axis([f"r{i}" for i in range(N)], axis=0), ("index",)),
    "wide_500_columns": (lambda: pd.DataFrame(_rng.normal(size=(20, 500))).add_prefix("c"), ("c0",)),
    "all_unique_strings": (_with("uid", [f"user-{i:05d}" for i in range(N)]), ("uid",)),
    "ssn_column": (_with("ssn", [f"{100 + i:03d}-{i % 90 + 10:02d}-{1000 + i:04d}" for i in range(N)]), ("ssn",)),
    "email_column": (_with("contact", [f"p{i}@example.org" for i in range(N)]), ("contact",)),
    "object_numbers_and_nan": (_with("on", pd.Series(_cycle([1, np.nan, 2.5]), dtype=object)), ("on",)),
    "bool_with_nan_object": (_with("bn", pd.Series(_cycle([True, np.nan, False]), dtype=object)), ("bn",)),
}


def huge_categories(n_categories: int = 100_000) -> pd.DataFrame:
    """10^5 distinct categories, each seen twice (so not an id), plus a numeric column."""
    values = np.char.add("cat-", np.arange(n_categories).astype(str))
    cats = np.concatenate([values, values])
    rng = np.random.default_rng(0)
    return pd.DataFrame({"code": cats, "x": rng.normal(size=len(cats)).round(2), "g": rng.choice(["a", "b"], len(cats))})
