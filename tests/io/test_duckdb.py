"""DuckDB files (``duckdb:///file.duckdb``) as source and sink through SQLAlchemy (duckdb-engine):
every column kind round-trips, by the bulk (DataFrame scan) path and by plain INSERTs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import Dataset, list_tables, read, write, write_sql

pytest.importorskip("duckdb_engine", reason="duckdb-engine (synthkit[duckdb]) is not installed")


def _frame(n: int) -> pd.DataFrame:
    """One column per kind the profiler knows, with missing values in each that can hold them."""
    rng = np.random.default_rng(3)
    ints = pd.array(rng.integers(-10, 5_000_000_000, n), dtype="Int64")
    ints[::7] = pd.NA
    flags = pd.array(rng.random(n) < 0.5, dtype="boolean")
    flags[::5] = pd.NA
    floats = rng.normal(size=n)
    floats[::9] = np.nan
    text = pd.Series(rng.choice(["alpha", "b,eta", 'q"uote', "", "ünï"], n), dtype=object)
    text[::11] = np.nan
    when = pd.Series(pd.Timestamp("2001-02-03") + pd.to_timedelta(rng.integers(0, 10**9, n), unit="s"))
    when[::13] = pd.NaT
    return pd.DataFrame({"id": np.arange(n), "ints": ints, "floats": floats, "flag": rng.random(n) < 0.4, "flags": flags,
                         "text": text, "when": when, "when_tz": when.dt.tz_localize("UTC"),
                         "cat": pd.Categorical(rng.choice(["x", "y"], n))})


@pytest.mark.parametrize("method", ["auto", "insert"])
def test_every_kind_round_trips(tmp_path: Path, method: str) -> None:
    url = f"duckdb:///{tmp_path / 'lake.duckdb'}"
    df = _frame(3_000 if method == "auto" else 300)
    write_sql({"t": df}, url, method=method)
    back = read(url, table="t").sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(back, df.assign(cat=df["cat"].astype(object)))
    write_sql({"t": df}, url, if_exists="append", method=method)
    assert len(read(url, table="t")) == 2 * len(df)
    with pytest.raises(DataError, match="already exists"):
        write(df, url, table="t", if_exists="fail")


def test_declared_duckdb_types_and_schemas(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "typed.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""
        CREATE SCHEMA lake; CREATE TYPE mood AS ENUM ('sad', 'ok');
        CREATE TABLE lake.t (i INTEGER, h HUGEINT, d DECIMAL(10, 2), u UUID, m mood, day DATE, ts TIMESTAMPTZ, b BOOLEAN);
        INSERT INTO lake.t VALUES (1, 10, 1.25, '6ecd8c99-4036-403d-bf84-cf8400f67836', 'sad', '2020-02-29',
                                   '2020-01-01 12:00:00+00', true),
                                  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);""")
    con.close()
    url = f"duckdb:///{path}"
    df = read(url, table="lake.t")
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        "i": "Int64", "h": "Int64", "d": "float64", "u": "object", "m": "object", "day": "datetime64[ns]",
        "ts": "datetime64[ns, UTC]", "b": "boolean"}
    assert df.iloc[0].tolist()[:5] == [1, 10, 1.25, "6ecd8c99-4036-403d-bf84-cf8400f67836", "sad"]
    assert df.isna().iloc[1].all()
    write(df.head(1), url, table="lake.t", if_exists="append")  # back into the typed columns (uuid, enum)
    assert len(read(url, table="lake.t")) == 3


def test_whole_database_reads_as_a_dataset_and_missing_file_is_clear(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'two.duckdb'}"
    write(Dataset({"a": pd.DataFrame({"x": [1, 2]}), "b": pd.DataFrame({"y": ["p", "q"]})}), url)
    assert list_tables(url) == ["a", "b"]
    data = read(url)
    assert isinstance(data, Dataset) and data.tables["b"]["y"].tolist() == ["p", "q"]
    with pytest.raises(DataError, match="not found"):
        read(f"duckdb:///{tmp_path / 'missing.duckdb'}", table="a")
