"""SQL on a real PostgreSQL 15 server (session fixture ``postgres``): types, schemas, streaming
reads through server-side cursors, COPY writes in one transaction, if_exists, failed writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from synthkit.errors import DataError
from synthkit.io import iter_sql, list_tables, read, write, write_sql

pytestmark = pytest.mark.postgres

N = 300

DDL = """
CREATE SCHEMA lake;
CREATE TYPE lake.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE lake.people (
    id integer PRIMARY KEY, big bigint, amount numeric(12, 2), score double precision, active boolean,
    name text, code varchar(8), born date, seen timestamp, seen_tz timestamptz, uid uuid, mood lake.mood);
INSERT INTO lake.people
SELECT i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE i::bigint * 10000000000 END,
       CASE WHEN i % 11 = 0 THEN NULL ELSE round((i * 1.37)::numeric, 2) END,
       CASE WHEN i % 13 = 0 THEN NULL ELSE i / 3.0 END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END,
       CASE WHEN i % 17 = 0 THEN NULL WHEN i % 19 = 0 THEN '' ELSE 'name, "quoted" ' || i END,
       CASE WHEN i % 23 = 0 THEN NULL ELSE 'c' || (i % 40) END,
       CASE WHEN i % 29 = 0 THEN NULL ELSE date '1950-01-01' + i * 37 END,
       CASE WHEN i % 31 = 0 THEN NULL ELSE timestamp '2020-01-01 00:00:00.25' + i * interval '1 hour 1 second' END,
       CASE WHEN i % 37 = 0 THEN NULL ELSE timestamptz '2021-06-01 12:00:00+02' + i * interval '1 day 7 minutes' END,
       CASE WHEN i % 41 = 0 THEN NULL ELSE md5(i::text)::uuid END,
       CASE WHEN i % 43 = 0 THEN NULL ELSE (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::lake.mood END
FROM generate_series(1, {n}) AS i;
"""


def _sql(url: str, statement: str) -> list[tuple]:
    """Run SQL with psycopg itself (independent of the code under test); rows if it returns any."""
    import psycopg

    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(statement)
        return list(cur.fetchall()) if cur.description else []


@pytest.fixture
def typed_db(pg_url: str) -> str:
    _sql(pg_url, DDL.format(n=N))
    return pg_url


def test_every_column_type_reads_with_its_pandas_dtype(typed_db: str) -> None:
    df = read(typed_db, table="lake.people")
    assert len(df) == N
    expected = {"id": "int64", "big": "Int64", "amount": "float64", "score": "float64", "active": "boolean",
                "name": "object", "code": "object", "born": "datetime64[ns]", "seen": "datetime64[ns]",
                "seen_tz": "datetime64[ns, UTC]", "uid": "object", "mood": "object"}
    assert {c: str(t) for c, t in df.dtypes.items()} == expected
    # NULLs per column exactly as the server counts them
    for col in df.columns:
        (nulls,), = _sql(typed_db, f"SELECT count(*) FROM lake.people WHERE {col} IS NULL")
        assert df[col].isna().sum() == nulls, col
    row = df.set_index("id").loc[3]
    assert row["big"] == 30_000_000_000 and row["amount"] == pytest.approx(4.11) and row["score"] == pytest.approx(1.0)
    assert row["active"] is np.False_  # 3 is odd
    assert row["name"] == 'name, "quoted" 3' and row["code"] == "c3" and row["mood"] == "sad"
    assert row["born"] == pd.Timestamp("1950-01-01") + pd.Timedelta(days=111)
    assert row["seen"] == pd.Timestamp("2020-01-01 03:00:03.25")
    assert row["seen_tz"] == pd.Timestamp("2021-06-04 10:21:00", tz="UTC")
    (uid,), = _sql(typed_db, "SELECT uid::text FROM lake.people WHERE id = 3")
    assert row["uid"] == uid
    assert df.loc[df["id"] == 19, "name"].item() == ""  # empty text is not NULL


def test_query_reads_tell_nullable_ints_from_floats(typed_db: str) -> None:
    """A query carries no reflected types; ints with NULLs still come back Int64, numerics float64."""
    df = read(typed_db, query="SELECT id, big, amount FROM lake.people ORDER BY id")
    assert {c: str(t) for c, t in df.dtypes.items()} == {"id": "int64", "big": "Int64", "amount": "float64"}
    (nulls,), = _sql(typed_db, "SELECT count(*) FROM lake.people WHERE big IS NULL")
    assert nulls > 0 and df["big"].isna().sum() == nulls


@pytest.mark.parametrize("method", ["copy", "insert"])
def test_typed_table_round_trips_through_write(typed_db: str, method: str) -> None:
    original = read(typed_db, table="lake.people")
    # into a new table in the schema, and appended back into the typed table itself (enum, uuid, numeric)
    write_sql({"lake.people_copy": original}, typed_db, method=method)
    pd.testing.assert_frame_equal(read(typed_db, table="lake.people_copy"), original)
    _sql(typed_db, "DELETE FROM lake.people")
    write_sql({"lake.people": original}, typed_db, if_exists="append", method=method)
    (mood_type,), = _sql(typed_db, "SELECT pg_typeof(mood)::text FROM lake.people LIMIT 1")
    assert mood_type == "lake.mood"  # append kept the declared types
    back = read(typed_db, table="lake.people").sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(back, original.sort_values("id", ignore_index=True))


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ints = pd.array(rng.integers(-5, 5_000_000_000, n), dtype="Int64")
    ints[rng.random(n) < 0.1] = pd.NA
    text = pd.Series(rng.choice(["alpha", "b,eta", 'gam"ma', "line\nbreak", "", "ünï"], n), dtype=object)
    text[rng.random(n) < 0.1] = np.nan  # missing text reads back as NaN, as from a CSV
    flags = pd.array(rng.random(n) < 0.5, dtype="boolean")
    flags[rng.random(n) < 0.1] = pd.NA
    floats = rng.normal(size=n)
    floats[rng.random(n) < 0.1] = np.nan
    when = pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**9, n), unit="s"))
    when[rng.random(n) < 0.1] = pd.NaT
    return pd.DataFrame({
        "k": np.arange(n, dtype="int64"), "ints": ints, "floats": floats, "flag": rng.random(n) < 0.3, "flags": flags,
        "text": text, "when": when, "when_tz": when.dt.tz_localize("UTC"),
        "cat": pd.Categorical(rng.choice(["x", "y", "z"], n)),
    })


@pytest.mark.parametrize("method", ["auto", "insert"])
def test_pandas_dtypes_round_trip(pg_url: str, method: str) -> None:
    df = _frame(2_000)
    write(df, pg_url, table="frame") if method == "auto" else write_sql({"frame": df}, pg_url, method="insert")
    back = read(pg_url, table="frame").sort_values("k", ignore_index=True)
    pd.testing.assert_frame_equal(back, df.assign(cat=df["cat"].astype(object)))


def test_large_table_streams_in_chunks_through_a_server_side_cursor(pg_url: str) -> None:
    n, chunk = 40_000, 4_000
    write(_frame(n), pg_url, table="big")
    cursors: list[str] = []

    def spy(conn, cursor, *args):  # type: ignore[no-untyped-def]
        cursors.append(type(cursor).__name__)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", spy)
    try:
        sizes = [len(part) for part in iter_sql(pg_url, table="big", chunksize=chunk)]
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", spy)
    assert sizes == [chunk] * (n // chunk)  # never more than a chunk at once
    assert "ServerCursor" in cursors  # the rows stay on the server until fetched
    whole = read(pg_url, table="big")
    assert len(whole) == n and whole["k"].is_monotonic_increasing


def test_if_exists_replace_append_fail(pg_url: str) -> None:
    a = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    write(a, pg_url, table="t")
    write(a, pg_url, table="t", if_exists="append")
    assert len(read(pg_url, table="t")) == 6
    write(a.head(1), pg_url, table="t", if_exists="replace")
    assert read(pg_url, table="t")["x"].tolist() == [1]
    with pytest.raises(DataError, match="already exists"):
        write(a, pg_url, table="t", if_exists="fail")
    assert list_tables(pg_url) == ["t"]


def test_constraint_violation_half_way_leaves_the_table_as_it_was(pg_url: str) -> None:
    _sql(pg_url, "CREATE TABLE kept (k bigint PRIMARY KEY, v text NOT NULL)")
    _sql(pg_url, "INSERT INTO kept SELECT i, 'old' || i FROM generate_series(0, 999) i")
    new = pd.DataFrame({"k": np.arange(1_000, 101_000), "v": "new"})
    new.loc[60_000, "k"] = 5  # duplicate of an existing key, deep inside the COPY stream
    for method in ("copy", "insert"):
        with pytest.raises(DataError, match="duplicate key") as err:
            write_sql({"kept": new}, pg_url, if_exists="append", method=method)
        assert "Key (" not in str(err.value)  # the driver's DETAIL line echoes row values
    assert _sql(pg_url, "SELECT count(*), min(v), max(k) FROM kept") == [(1000, "old0", 999)]
    # replace: the DROP is rolled back too when a value half-way cannot be stored (NUL in text)
    bad = pd.DataFrame({"k": np.arange(10_000), "v": "x"})
    bad.loc[7_000, "v"] = "nul\x00byte"
    with pytest.raises(DataError):
        write(bad, pg_url, table="kept", if_exists="replace")
    assert _sql(pg_url, "SELECT count(*), min(v) FROM kept") == [(1000, "old0")]


def test_errors_never_show_the_password(postgres, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    write(pd.DataFrame({"a": [1]}), pg_url, table="t")
    bad_db = pg_url.rsplit("/", 1)[0] + "/no_such_db"
    for call in (lambda: read(pg_url, table="missing"), lambda: read(bad_db, table="t"),
                 lambda: write(pd.DataFrame({"a": [1]}), bad_db, table="t"),
                 lambda: read(pg_url, query="SELECT * FROM nowhere")):
        with pytest.raises(DataError) as err:
            call()
        assert postgres.password not in str(err.value)
        assert "***" in str(err.value)
