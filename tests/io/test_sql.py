"""SQL through SQLAlchemy on real SQLite files: round trips, queries, transactions, quoting."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import Dataset, list_tables, read, write


def _url(tmp_path: Path, name: str = "t.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def test_csv_to_sqlite_and_back_is_equal(tmp_path: Path, shared_datasets: Path) -> None:
    src = shared_datasets / "bank-marketing" / "bank-full.csv.gz"
    df = read(src, nrows=3000)
    url = _url(tmp_path)
    assert write(df, url, table="bank") == url
    assert (tmp_path / "t.db").stat().st_size > 0
    back = read(url, table="bank")
    pd.testing.assert_frame_equal(back, df)  # booleans, ints and text survive exactly


def test_dates_timezones_and_missing_round_trip(tmp_path: Path, shared_datasets: Path) -> None:
    encounters = read(shared_datasets / "synthea-ehr-sample" / "encounters.csv.gz")
    patients = read(shared_datasets / "synthea-ehr-sample" / "patients.csv.gz")
    url = _url(tmp_path)
    write(encounters, url, table="encounters")
    write(patients, url, table="patients")
    pd.testing.assert_frame_equal(read(url, table="encounters"), encounters)
    pd.testing.assert_frame_equal(read(url, table="patients"), patients)


def test_query_with_bound_parameters_and_nrows(tmp_path: Path) -> None:
    url = _url(tmp_path)
    df = pd.DataFrame({"id": np.arange(10), "grp": list("ab") * 5, "v": np.linspace(0, 1, 10)})
    write(df, url, table="t")
    got = read(url, query="SELECT id, v FROM t WHERE grp = :g ORDER BY id", params={"g": "b"})
    assert got["id"].tolist() == [1, 3, 5, 7, 9]
    assert len(read(url, table="t", nrows=4)) == 4


def test_append_and_replace(tmp_path: Path) -> None:
    url = _url(tmp_path)
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    write(df, url, table="t")
    write(df, url, table="t", if_exists="append")
    assert len(read(url, table="t")) == 4
    write(df, url, table="t", if_exists="replace")
    assert len(read(url, table="t")) == 2
    with pytest.raises(DataError, match="already exists"):
        write(df, url, table="t", if_exists="fail")


def test_identifiers_are_quoted_not_pasted(tmp_path: Path) -> None:
    url = _url(tmp_path)
    nasty = 'x"; DROP TABLE keep; --'
    write(pd.DataFrame({"a": [1]}), url, table="keep")
    write(pd.DataFrame({"odd col'": [1, 2], "b": [3, 4]}), url, table=nasty)
    assert set(list_tables(url)) == {"keep", nasty}
    assert read(url, table=nasty)["odd col'"].tolist() == [1, 2]
    assert read(url, table="keep")["a"].tolist() == [1]


def test_multi_table_write_is_one_transaction(tmp_path: Path) -> None:
    url = _url(tmp_path)
    write(pd.DataFrame({"a": [1]}), url, table="first")
    good = pd.DataFrame({"a": [5, 6]})
    bad = pd.DataFrame({"a": [1]})
    write(bad, url, table="second")
    ds = Dataset({"first": good, "second": bad})
    with pytest.raises(DataError):
        write(ds, url, if_exists="fail")  # "first" exists: nothing may change
    assert read(url, table="first")["a"].tolist() == [1]
    write(ds, url, if_exists="replace")
    whole = read(url)
    assert isinstance(whole, Dataset) and whole["first"]["a"].tolist() == [5, 6]
    # the file is a real SQLite database
    with sqlite3.connect(tmp_path / "t.db") as conn:
        assert conn.execute("select count(*) from first").fetchone() == (2,)


def test_failed_write_leaves_no_created_or_dropped_table_behind(tmp_path: Path) -> None:
    """SQLite's DDL joins the transaction: a failure later in the write undoes CREATE and DROP too."""
    url = _url(tmp_path)
    write(pd.DataFrame({"a": [1]}), url, table="second")
    with pytest.raises(DataError):  # "first" would be created, then "second" exists
        write(Dataset({"first": pd.DataFrame({"a": [5]}), "second": pd.DataFrame({"a": [2]})}), url, if_exists="fail")
    assert list_tables(url) == ["second"]
    # replace: "second" is dropped and re-created, then a value SQLite cannot bind fails the write
    unbindable = pd.DataFrame({"a": [{"nested": 1}]})
    with pytest.raises(DataError):
        write(Dataset({"second": pd.DataFrame({"a": [7]}), "third": unbindable}), url, if_exists="replace")
    assert list_tables(url) == ["second"] and read(url, table="second")["a"].tolist() == [1]


def test_sql_errors_are_clear(tmp_path: Path) -> None:
    url = _url(tmp_path)
    with pytest.raises(DataError, match="database file not found"):
        read(url, table="t")
    write(pd.DataFrame({"a": [1]}), url, table="t")
    with pytest.raises(DataError, match=r"table 'nope' not found .*tables: \['t'\]"):
        read(url, table="nope")
    with pytest.raises(DataError, match="cannot read"):
        read(url, query="SELECT * FROM nowhere")
    with pytest.raises(DataError, match="exactly one of table= or query="):
        read(url, table="t", query="select 1")
    with pytest.raises(DataError, match="needs table="):
        write(pd.DataFrame({"a": [1]}), url)
    write(pd.DataFrame({"a": pd.Series([], dtype=int)}), url, table="empty")
    with pytest.raises(DataError, match="no rows"):
        read(url, table="empty")
    with pytest.raises(DataError, match="cannot open database URL"):
        read("nosuchdialect://host/db", table="t")


def test_declared_keys_are_reflected(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            """
            CREATE TABLE patients (pid INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE visits (vid INTEGER PRIMARY KEY, patient INTEGER REFERENCES patients(pid), cost REAL);
            INSERT INTO patients VALUES (1, 'a'), (2, 'b');
            INSERT INTO visits VALUES (10, 1, 5.0), (11, 1, 7.5), (12, 3, 1.0);
            """
        )
    ds = read(f"sqlite:///{db}")
    assert ds.primary_keys == {"patients": "pid", "visits": "vid"}
    assert [(r.child_table, r.child_key, r.parent_table, r.parent_key) for r in ds.relationships] == [
        ("visits", "patient", "patients", "pid")]
    report = ds.validate()
    assert report.orphans[0]["count"] == 1  # visit 12 points at a patient that does not exist


def test_query_keeps_integers_with_nulls_as_integers(tmp_path: Path) -> None:
    """A query has no declared types: ints with NULLs come back Int64, fractions stay float."""
    url = _url(tmp_path)
    with sqlite3.connect(tmp_path / "t.db") as conn:
        conn.execute("CREATE TABLE t (n INTEGER, x REAL)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, 0.5), (None, None), (3_000_000_000, 2.0)])
    got = read(url, query="SELECT n, x FROM t ORDER BY rowid")
    assert str(got["n"].dtype) == "Int64" and str(got["x"].dtype) == "float64"
    assert got["n"].tolist()[0] == 1 and got["n"].isna().tolist() == [False, True, False]
    assert got["n"].iloc[2] == 3_000_000_000
