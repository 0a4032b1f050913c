"""The SQL sink of an engine run: the synthetic Parquet parts into a database table, written by the
workers, swapped in by the driver in one transaction.

1. The driver creates a run-private staging table ``synthkit_stage_<hex>`` beside the target (the
   DDL pandas derives from the parts' schema, plus a ``_synthkit_part`` column); no rows.
2. Each part file is loaded into it by a worker (engine :meth:`~synthkit.engine.base.Engine.map_items`)
   in its own transaction: ``DELETE`` the part's rows, then ``COPY`` (PostgreSQL through psycopg 3)
   or batched ``INSERT``s (other servers). A part retried after a killed worker therefore replaces,
   never duplicates, its rows (PostgreSQL also takes a per-part advisory lock, so two attempts never
   interleave); an uncommitted part dies with its connection. Rows go worker -> database, never
   through the driver.
3. The driver checks the staging table holds exactly each part's row count (from the Parquet
   footers), then in ONE transaction replaces (``DROP`` target, drop the part column, ``ALTER TABLE
   ... RENAME``) or appends (``INSERT INTO target SELECT ... FROM staging``) inside the database.
4. Any failure (a worker's error, a wrong count, a constraint the target enforces, a view that keeps
   the target from being dropped) rolls that transaction back and drops the staging table: the
   target stays exactly as it was.

SQLite and DuckDB files take one writer at a time (a file lock, on the driver's machine): for them
the driver itself streams the parts into the staging table, one part in memory at a time, and
steps 1-3 are ONE transaction, so a driver killed anywhere leaves nothing behind.

On a server the workers need a committed staging table, so a killed driver can leave one. Its name
carries a tag of the target (``synthkit_stage_<target tag>_<run>``), and every sink holds a
session advisory lock on the target while it runs (PostgreSQL releases it when the holder's
connection dies, killed or not): a sink that takes the lock knows no live sink owns a staging
table of that target, and drops those left behind; a sink that cannot take it is refused (another
run is writing the table). URLs appear in messages and logs only through
:func:`~synthkit.io.sql.redact_url` / :func:`~synthkit.io.sql.scrub`.
"""

from __future__ import annotations

import logging
import os
import hashlib
import signal
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from synthkit.errors import DataError, SynthkitError
from synthkit.io.sql import db_error, engine_for, redact_url, scrub, split_table_name
from synthkit.io.sql_write import copy_rows, copy_supported, duckdb_rows, prepare_frame

__all__ = ["SinkResult", "sink_parts", "PART_COLUMN", "staging_prefix"]

log = logging.getLogger(__name__)

PART_COLUMN = "_synthkit_part"
_MODES = ("replace", "append", "fail")
_SINGLE_WRITER = ("sqlite", "duckdb")  # a file lock: one writer at a time, on the driver's machine


def staging_prefix(schema: str | None, name: str) -> str:
    """Name prefix of every staging table of one target (63-byte identifiers leave room for a run id)."""
    target = f"{schema or ''}.{name}".encode()
    return f"synthkit_stage_{hashlib.sha256(target).hexdigest()[:8]}_"


@dataclass
class SinkResult:
    """What the sink wrote: table, rows, parts, and who loaded them."""

    table: str
    rows: int
    parts: int
    loaded_by: str  # "workers" or "driver"
    method: str  # "COPY", "DuckDB scan" or "INSERT"
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


class PartWriter:
    """Loads one Parquet part into the staging table in one transaction (picklable: runs on workers).

    ``kill_part`` (tests only): the first attempt at that part SIGKILLs its own process after the
    rows are sent and before the commit (a marker file records it), so a retry must replace them.
    """

    def __init__(self, url: str, schema: str | None, staging: str, tracked: bool, kill_part: int | None = None,
                 marker_dir: str | None = None) -> None:
        self.url, self.schema, self.staging, self.tracked = url, schema, staging, tracked
        self.kill_part, self.marker_dir = kill_part, marker_dir

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        """A worker's load: the part in its own connection and transaction; errors come back as data."""
        part = int(item["part"])
        engine = engine_for(self.url)
        try:
            with engine.begin() as conn:
                rows = self.load(conn, part, str(item["path"]))
            return {"part": part, "rows": rows, "error": ""}
        except Exception as exc:  # noqa: BLE001 - reported to the driver as data: one scrubbed line
            first = (str(exc).splitlines() or [""])[0][:300]
            return {"part": part, "rows": -1, "error": scrub(f"part {part}: {type(exc).__name__}: {first}", self.url)}
        finally:
            engine.dispose()

    def load(self, conn: Any, part: int, path: str) -> int:
        """Write one part's rows into the staging table inside the caller's transaction; its row count."""
        frame = pq.read_table(path).to_pandas()
        dialect = conn.dialect.name
        prep = conn.dialect.identifier_preparer
        target = _qualified(prep, self.schema, self.staging)
        out = prepare_frame(frame, dialect)
        if self.tracked:  # a retried part replaces its rows; two attempts never interleave
            if dialect == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(t)s)::int, %(p)s::int)",
                                     {"t": self.staging, "p": part})
            conn.exec_driver_sql(f"DELETE FROM {target} WHERE {prep.quote(PART_COLUMN)} = {part}")
            out[PART_COLUMN] = part
        if dialect == "duckdb":
            duckdb_rows(conn, self.schema, self.staging, out)
        elif copy_supported(conn):
            copy_rows(conn, self.schema, self.staging, out)
        else:
            out.to_sql(self.staging, conn, schema=self.schema, if_exists="append", index=False, chunksize=10_000)
        self._maybe_die(part)
        return len(frame)

    def _maybe_die(self, part: int) -> None:
        if self.kill_part is None or part != self.kill_part or self.marker_dir is None:
            return
        marker = Path(self.marker_dir) / f".sink-killed-{part}"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            log.warning("fault injection: killing sink worker %d inside part %d's transaction", os.getpid(), part)
            os.kill(os.getpid(), signal.SIGKILL)


def _qualified(prep: Any, schema: str | None, name: str) -> str:
    return f"{prep.quote_schema(schema)}.{prep.quote(name)}" if schema else prep.quote(name)


def sink_parts(engine: Any, folder: str | Path, url: str, table: str, *, if_exists: str = "replace") -> SinkResult:
    """Write the ``part-*.parquet`` files of ``folder`` into ``table`` at ``url`` (see module doc).

    ``engine`` is a synthkit engine (its ``map_items`` runs the part loads); its spec's
    ``options["kill_sink_part"]`` is the tests' fault injection.
    """
    if if_exists not in _MODES:
        raise DataError(f"if_exists must be one of {_MODES}, not {if_exists!r}")
    start = time.perf_counter()
    parts = sorted(Path(folder).glob("part-*.parquet"))
    if not parts:
        raise DataError(f"no part-*.parquet files in {folder} to write to {redact_url(url)}")
    expected = {i: pq.read_metadata(p).num_rows for i, p in enumerate(parts)}
    items = [{"part": i, "path": str(p.resolve())} for i, p in enumerate(parts)]
    db = engine_for(url)
    schema: str | None = None
    staging, created, guard = "", False, None
    try:
        with db.connect() as conn:
            schema, name = split_table_name(conn, table)
            dialect, bulk = conn.dialect.name, copy_supported(conn)
        staging = staging_prefix(schema, name) + uuid.uuid4().hex[:12]
        head = prepare_frame(pq.read_schema(parts[0]).empty_table().to_pandas(), dialect)
        if dialect in _SINGLE_WRITER:  # one transaction from the staging table's creation to the swap
            writer = PartWriter(url, schema, staging, False)
            with db.begin() as conn:
                _refuse_existing(conn, schema, name, table, if_exists, url)
                head.to_sql(staging, conn, schema=schema, index=False)
                for item in items:
                    writer.load(conn, item["part"], item["path"])
                _check_counts(conn, schema, staging, expected, tracked=False)
                _swap(conn, schema, staging, name, if_exists, tracked=False)
        else:
            guard = _claim_target(db, schema, name, table, url) if dialect == "postgresql" else None
            with db.begin() as conn:
                _refuse_existing(conn, schema, name, table, if_exists, url)
                head[PART_COLUMN] = 0
                head.to_sql(staging, conn, schema=schema, index=False)
                created = True
                if dialect == "postgresql":  # the retry's DELETE reads only the part's pages
                    prep = conn.dialect.identifier_preparer
                    conn.exec_driver_sql(f"CREATE INDEX ON {_qualified(prep, schema, staging)} USING brin ({prep.quote(PART_COLUMN)})")
            writer = PartWriter(url, schema, staging, True, engine.spec.options.get("kill_sink_part"), str(Path(folder).parent))
            errors = [r["error"] for r in engine.map_items(items, writer) if r["error"]]
            if errors:
                raise DataError(f"cannot write to {redact_url(url)}: {errors[0]}"
                                + (f" (and {len(errors) - 1} more parts failed)" if len(errors) > 1 else ""))
            with db.begin() as conn:  # one transaction: check, then replace or append, or nothing
                _check_counts(conn, schema, staging, expected, tracked=True)
                _swap(conn, schema, staging, name, if_exists, tracked=True)
            created = False
    except SynthkitError:
        raise
    except SQLAlchemyError as exc:
        raise db_error(f"cannot write to {redact_url(url)}", url, exc) from None
    finally:
        if created:
            _drop_staging(db, schema, staging, url)
        if guard is not None:
            guard.close()
        db.dispose()
    on_driver = dialect in _SINGLE_WRITER
    method = "DuckDB scan" if dialect == "duckdb" else ("COPY" if bulk else "INSERT")
    result = SinkResult(table, sum(expected.values()), len(parts), "driver" if on_driver else "workers", method,
                        time.perf_counter() - start)
    log.info("sink: %d rows in %d parts into %s at %s (%s by the %s)", result.rows, result.parts, table,
             redact_url(url), method, result.loaded_by)
    return result


def _refuse_existing(conn: Any, schema: str | None, name: str, table: str, if_exists: str, url: str) -> None:
    if if_exists == "fail" and inspect(conn).has_table(name, schema=schema):
        raise DataError(f"table {table!r} already exists in {redact_url(url)} (if_exists='fail')")


def _claim_target(db: Any, schema: str | None, name: str, table: str, url: str) -> Any:
    """Hold the target's session advisory lock on a PostgreSQL connection kept open for the whole
    sink, then drop the staging tables of this target that sinks killed before their swap left
    behind: holding the lock proves none of their owners is alive. (Other servers: no lock, no sweep.)"""
    conn = db.connect()
    try:
        prefix = staging_prefix(schema, name)
        got = conn.exec_driver_sql("SELECT pg_try_advisory_lock(hashtext(%(k)s))", {"k": prefix}).scalar_one()
        conn.commit()
        if not got:
            raise DataError(f"another synthkit run is writing table {table!r} in {redact_url(url)} right now; "
                            "try again when it has finished")
        left = [t for t in inspect(conn).get_table_names(schema=schema) if t.startswith(prefix)]
        for stale in left:
            log.warning("dropping staging table %s left by a sink that was killed before its swap", stale)
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_qualified(conn.dialect.identifier_preparer, schema, stale)}")
        conn.commit()
        return conn
    except BaseException:
        conn.close()
        raise


def _check_counts(conn: Any, schema: str | None, staging: str, expected: dict[int, int], tracked: bool) -> None:
    """Every part's rows exactly once: a lost or doubled part stops the swap."""
    prep = conn.dialect.identifier_preparer
    stage_q = _qualified(prep, schema, staging)
    if not tracked:
        got, want = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {stage_q}").scalar_one(), sum(expected.values())
        if got != want:
            raise DataError(f"the staging table holds {got} rows, the parts {want}")
        return
    col = prep.quote(PART_COLUMN)
    got = {int(p): n for p, n in conn.exec_driver_sql(f"SELECT {col}, COUNT(*) FROM {stage_q} GROUP BY {col}").all()}
    wrong = {p: (got.get(p, 0), n) for p, n in expected.items() if got.get(p, 0) != n}
    wrong.update({p: (n, 0) for p, n in got.items() if p not in expected})
    if wrong:
        raise DataError(f"the staging table holds the wrong rows for parts {sorted(wrong)[:10]} (got, expected): "
                        f"{[wrong[p] for p in sorted(wrong)[:10]]}")


def _swap(conn: Any, schema: str | None, staging: str, name: str, if_exists: str, tracked: bool) -> None:
    prep = conn.dialect.identifier_preparer
    stage_q, target_q = _qualified(prep, schema, staging), _qualified(prep, schema, name)
    exists = inspect(conn).has_table(name, schema=schema)
    if exists and if_exists == "fail":
        raise DataError(f"table {name!r} appeared while the sink was loading (if_exists='fail')")
    if exists and if_exists == "append":
        columns = ", ".join(prep.quote(c["name"]) for c in inspect(conn).get_columns(staging, schema=schema)
                            if c["name"] != PART_COLUMN)
        conn.exec_driver_sql(f"INSERT INTO {target_q} ({columns}) SELECT {columns} FROM {stage_q}")
        conn.exec_driver_sql(f"DROP TABLE {stage_q}")
        return
    if exists:
        conn.exec_driver_sql(f"DROP TABLE {target_q}")
    if tracked:
        conn.exec_driver_sql(f"ALTER TABLE {stage_q} DROP COLUMN {prep.quote(PART_COLUMN)}")
    conn.exec_driver_sql(f"ALTER TABLE {stage_q} RENAME TO {prep.quote(name)}")


def _drop_staging(db: Any, schema: str | None, staging: str, url: str) -> None:
    try:
        with db.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_qualified(conn.dialect.identifier_preparer, schema, staging)}")
    except SQLAlchemyError as exc:
        log.error("could not drop the staging table %s: %s", staging, scrub(str(exc).splitlines()[0][:200], url))
