"""Property: any frame of numbers, words, booleans and dates survives CSV -> read -> SQLite -> read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthkit.io import read, write

_RESERVED = {"na", "nan", "null", "none", "yes", "no", "y", "n", "t", "f", "true", "false"}
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8).filter(lambda w: w not in _RESERVED)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=30))
    ints = draw(st.lists(st.integers(-10**9, 10**9), min_size=n, max_size=n))
    floats = draw(st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6).map(lambda v: v / 100)), min_size=n, max_size=n))
    text = draw(st.lists(st.one_of(st.none(), words), min_size=n, max_size=n))
    flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 40_000), min_size=n, max_size=n))
    return pd.DataFrame({
        "i": np.array(ints, dtype=np.int64),
        "x": pd.Series(floats, dtype=float),
        "w": pd.Series(text, dtype=object).where(pd.notna(pd.Series(text, dtype=object)), np.nan),
        "b": flags,
        "d": pd.Timestamp("1950-01-01") + pd.to_timedelta(days, unit="D"),
    })


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(df=frames())
def test_csv_sqlite_round_trip(tmp_path: Path, df: pd.DataFrame) -> None:
    csv_path = write(df, tmp_path / "t.csv")
    from_csv = read(csv_path)
    expected = df.copy()
    for col in ("x", "w"):
        if expected[col].isna().all():  # an all-missing column has no type to recover
            from_csv[col] = from_csv[col].astype(expected[col].dtype)
    pd.testing.assert_frame_equal(from_csv, expected, check_dtype=False)
    url = f"sqlite:///{tmp_path / 't.db'}"
    write(from_csv, url, table="t")
    pd.testing.assert_frame_equal(read(url, table="t"), from_csv, check_dtype=False)
