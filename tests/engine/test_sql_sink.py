"""The engine's SQL sink with the local engine, on the real PostgreSQL test server and a real SQLite
file: exact rows (the Parquet output's, no duplicates), replace and append, and failures half-way
(a CHECK constraint the appended rows break, a view that keeps the old table from being dropped)
that leave the old table as it was and no staging table behind. The Ray side (workers loading the
staging table, one killed inside its transaction) is in test_ray.py."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from synthkit.engine import EngineSpec, create_engine
from synthkit.engine.sql_sink import staging_prefix
from synthkit.errors import DataError
from synthkit.models import create

sys.path.insert(0, str(Path(__file__).parent))
from lake_data import frame as lake_frame  # noqa: E402
from lake_data import write_lake  # noqa: E402
from sink_checks import assert_same_rows, execute, old_rows, staging_tables  # noqa: E402

ROWS, BLOCK = 7_000, 2_000


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic rows as the engine writes them: 4 part files (the last one shorter)."""
    root = tmp_path_factory.mktemp("sink")
    create("copula", seed=0).fit(lake_frame(3_000, seed=1)).save(root / "model")
    with create_engine(EngineSpec(num_workers=2, block_rows=BLOCK)) as eng:
        eng.sample(root / "model", ROWS, seed=3, out_dir=root / "synthetic")
    return root / "synthetic"


def _sink(folder: Path, url: str, if_exists: str = "replace") -> object:
    with create_engine(EngineSpec(num_workers=2)) as eng:
        return eng.sink_sql(folder, url, "synth", if_exists=if_exists)


@pytest.mark.postgres
def test_postgres_sink_replaces_then_appends_the_parquet_rows(parts: Path, pg_url: str) -> None:
    execute(pg_url, "CREATE TABLE synth (old_column int)", "INSERT INTO synth VALUES (1)")
    result = _sink(parts, pg_url)
    assert (result.rows, result.parts, result.loaded_by, result.method) == (ROWS, 4, "workers", "COPY")
    assert_same_rows(pg_url, "synth", parts)
    assert _sink(parts, pg_url, "append").rows == ROWS
    assert_same_rows(pg_url, "synth", parts, copies=2)
    assert staging_tables(pg_url) == []


@pytest.mark.postgres
def test_postgres_failures_leave_the_old_table_and_no_staging_table(parts: Path, pg_url: str, postgres: object) -> None:
    # append: rows with a >= 1 break the target's CHECK constraint in the final INSERT ... SELECT
    execute(pg_url, "CREATE TABLE synth (a double precision CHECK (a < 1), b double precision, c double precision, "
            "d double precision, e double precision, k bigint, flag boolean, grp text)",
            "INSERT INTO synth VALUES (0.5, 1, 1, 1, NULL, 2, true, 'g1'), (0.25, 2, 2, 2, 0.5, 3, false, 'g2')")
    before = old_rows(pg_url)
    with pytest.raises(DataError) as err:
        _sink(parts, pg_url, "append")
    assert "check constraint" in str(err.value).lower()
    assert postgres.password not in str(err.value) and "***" in str(err.value)  # type: ignore[attr-defined]
    assert old_rows(pg_url) == before and staging_tables(pg_url) == []
    # replace: a view on the old table keeps it from being dropped; the swap rolls back whole
    execute(pg_url, "CREATE VIEW synth_view AS SELECT a FROM synth")
    with pytest.raises(DataError, match="depend"):
        _sink(parts, pg_url, "replace")
    assert old_rows(pg_url) == before and staging_tables(pg_url) == []
    with pytest.raises(DataError, match="already exists"):
        _sink(parts, pg_url, "fail")
    assert old_rows(pg_url) == before and staging_tables(pg_url) == []


def test_sqlite_sink_is_loaded_by_the_driver_and_fails_whole(parts: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    result = _sink(parts, url)
    assert (result.rows, result.loaded_by, result.method) == (ROWS, "driver", "INSERT")  # one writer: the driver
    assert_same_rows(url, "synth", parts)
    execute(url, "DROP TABLE synth", "CREATE TABLE synth (a REAL CHECK (a < 1), b REAL, c REAL, d REAL, e REAL, "
            "k INTEGER, flag BOOLEAN, grp TEXT)", "INSERT INTO synth VALUES (0.5, 1, 1, 1, NULL, 2, 1, 'g1')")
    before = old_rows(url)
    with pytest.raises(DataError, match="CHECK constraint"):
        _sink(parts, url, "append")
    assert old_rows(url) == before and staging_tables(url) == []
    execute(url, "DELETE FROM synth WHERE a >= 1")
    assert _sink(parts, url, "replace").rows == ROWS
    assert_same_rows(url, "synth", parts)
    assert staging_tables(url) == []


def _kill_driver_before_the_swap(folder: Path, url: str) -> None:
    """Run a sink in a child process that SIGKILLs itself once every part is loaded, before the
    count check and the swap: what a driver killed mid-sink leaves behind."""
    script = textwrap.dedent(f"""
        import os, signal
        import synthkit.engine.sql_sink as sink
        from synthkit.engine import EngineSpec, create_engine
        sink._check_counts = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
        with create_engine(EngineSpec(num_workers=2)) as eng:
            eng.sink_sql({str(folder)!r}, {url!r}, "synth")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == -9, out.stderr[-2000:]


@pytest.mark.postgres
def test_postgres_sink_after_a_killed_driver_drops_its_staging_table(parts: Path, pg_url: str) -> None:
    """The killed driver's staging table (workers had committed their parts into it) is swept by the
    next sink to the same target, which holds the target's lock; another target's is left alone."""
    execute(pg_url, "DROP VIEW IF EXISTS synth_view", "DROP TABLE IF EXISTS synth",
            "CREATE TABLE synth (old_column int)", "INSERT INTO synth VALUES (7)")
    _kill_driver_before_the_swap(parts, pg_url)
    left = staging_tables(pg_url)
    assert len(left) == 1 and left[0].startswith(staging_prefix(None, "synth"))
    assert old_rows(pg_url) == [(7,)]  # the target is untouched by the killed run
    execute(pg_url, f"CREATE TABLE {staging_prefix(None, 'other')}0123456789ab (x int)")
    assert _sink(parts, pg_url).rows == ROWS
    assert_same_rows(pg_url, "synth", parts)
    assert staging_tables(pg_url) == [f"{staging_prefix(None, 'other')}0123456789ab"]
    execute(pg_url, f"DROP TABLE {staging_prefix(None, 'other')}0123456789ab")


@pytest.mark.postgres
def test_postgres_sink_is_refused_while_another_run_writes_the_table(parts: Path, pg_url: str) -> None:
    import sqlalchemy as sa

    execute(pg_url, "DROP VIEW IF EXISTS synth_view", "DROP TABLE IF EXISTS synth",
            "CREATE TABLE synth (old_column int)", "INSERT INTO synth VALUES (8)")
    other = sa.create_engine(pg_url)
    try:
        with other.connect() as running:  # another sink of the same target holds its lock
            assert running.exec_driver_sql("SELECT pg_try_advisory_lock(hashtext(%(k)s))",
                                           {"k": staging_prefix(None, "synth")}).scalar_one()
            with pytest.raises(DataError, match="another synthkit run is writing table 'synth'"):
                _sink(parts, pg_url)
            assert old_rows(pg_url) == [(8,)] and staging_tables(pg_url) == []
    finally:
        other.dispose()
    assert _sink(parts, pg_url).rows == ROWS  # the lock died with the other connection


def test_sqlite_sink_killed_mid_way_leaves_nothing_behind(parts: Path, tmp_path: Path) -> None:
    """On a single-writer file the whole sink is one transaction: a killed driver rolls back whole."""
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    execute(url, "CREATE TABLE synth (old_column int)", "INSERT INTO synth VALUES (9)")
    _kill_driver_before_the_swap(parts, url)
    assert old_rows(url) == [(9,)] and staging_tables(url) == []


def test_sink_refuses_an_empty_folder_and_a_bad_mode(tmp_path: Path, parts: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(DataError, match="no part"):
        _sink(tmp_path, url)
    with pytest.raises(DataError, match="if_exists"):
        _sink(parts, url, "truncate")


def test_engine_pipeline_sinks_its_synthetic_parts(tmp_path: Path) -> None:
    """An engine run (Parquet lake source) with a SQL sink: the table holds the run's synthetic parts."""
    from synthkit.pipeline import run

    write_lake(4_000, 2, str(tmp_path / "lake"))
    url = f"sqlite:///{tmp_path / 'out.db'}"
    cfg = {"name": "sink", "output_dir": str(tmp_path / "run"), "source": {"path": str(tmp_path / "lake")},
           "model": {"name": "copula"}, "evaluate": {"enabled": False}, "report": {"enabled": False},
           "sink": {"url": url, "table": "synth"}, "engine": {"kind": "local", "num_workers": 2, "block_rows": 1_000}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    result = run(tmp_path / "run.yaml")
    assert result.status == "ok" and result.files["sink_sql"] == "synth"
    info = json.loads((tmp_path / "run" / "engine.json").read_text())
    assert info["sink"]["rows"] == info["sample"]["rows"] > 0 and info["sink"]["loaded_by"] == "driver"
    assert_same_rows(url, "synth", tmp_path / "run" / "synthetic")
