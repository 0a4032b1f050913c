"""SQL databases through SQLAlchemy (SQLite embedded by default).

Table names and columns are passed to SQLAlchemy as identifiers (reflected ``Table`` objects,
``to_sql``), never formatted into SQL text; user queries run as given with bound parameters.
Writes of one or many tables happen in a single transaction, so a failure leaves the database as
it was (writes live in :mod:`synthkit.io.sql_write`). Reads stream in chunks through a server-side
cursor where the database has one (PostgreSQL), and the reflected column types restore what the
driver hands back loosely: SQLite's 0/1 booleans and text timestamps, PostgreSQL's ``Decimal``,
``UUID`` and ``date`` objects, integer columns with NULLs. ``schema.table`` names a table in a
schema. Passwords in URLs never reach a message or log (:func:`redact_url`, :func:`scrub`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import os
import re
import uuid
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import (
    Boolean, Date, DateTime, Enum, Float, Integer, MetaData, Numeric, Table, Uuid, column, create_engine, event, inspect,
    select, table, text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError

from synthkit.errors import ConfigError, DataError
from synthkit.io.coerce import CoercionReport, MixedPolicy, coerce_frame
from synthkit.meta import Relationship

__all__ = ["check_writable", "db_error", "engine_for", "is_sql_url", "iter_sql", "list_tables", "read_sql", "redact_url",
           "reflect_table", "scrub", "split_table_name", "sqlite_file"]

log = logging.getLogger(__name__)

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+_.-]*://")
#: rows per chunk of a streamed read (one chunk is the most a read holds beside its result)
CHUNK_ROWS = 50_000


def is_sql_url(source: Any) -> bool:
    """True for SQLAlchemy URLs such as ``sqlite:///x.db`` or ``postgresql+psycopg://...``."""
    if not isinstance(source, str) or not _URL.match(source):
        return False
    try:
        make_url(source)
        return True
    except (ArgumentError, ValueError):
        return False


def engine_for(url: str) -> Any:
    """A SQLAlchemy engine; a missing SQLite file is an error for reads (no silent empty database)."""
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DataError(scrub(f"cannot open database URL {redact_url(url)}: {exc}", url)) from None
    if engine.dialect.name == "sqlite":
        _transactional_ddl(engine)
    return engine


def _transactional_ddl(engine: Any) -> None:
    """Make SQLite's CREATE/DROP TABLE part of the transaction, as they are in PostgreSQL.

    Python's sqlite3 driver (before 3.12's ``autocommit`` attribute) begins transactions only
    before INSERT/UPDATE/DELETE, so a failed multi-table write left the tables it had created or
    dropped behind. SQLAlchemy's documented recipe: no driver-level transactions, and an explicit
    BEGIN when SQLAlchemy starts one.
    """
    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages, logs and reports."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy parses: hide anything password-shaped
        return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", str(url))


def scrub(text: str, url: str) -> str:
    """``text`` with the URL's password (raw or URL-quoted) replaced by ``***``: drivers may echo it."""
    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001
        password = None
    if password:
        for form in {str(password), quote(str(password), safe="")}:
            text = text.replace(form, "***")
    return text


def db_error(what: str, url: str, exc: BaseException) -> DataError:
    """A one-line error: the first line of the driver's message (later lines echo SQL and row values)."""
    first = (str(exc).splitlines() or [""])[0][:300]
    return DataError(scrub(f"{what}: {first}", url))



def sqlite_file(url: str | None) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None for other databases and in-memory SQLite)."""
    try:
        parsed = make_url(url) if url else None
    except ArgumentError:
        raise ConfigError(f"{url!r} is not a database URL (e.g. sqlite:///data.db)") from None
    if parsed is None or parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_writable(url: str, key: str) -> None:
    """Refuse now, not after the work that comes before the write, a database that cannot be reached
    or written (``key``: the config key that names it)."""
    db = sqlite_file(url)
    if db is not None:
        if not db.parent.is_dir() or not os.access(db.parent, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
            raise ConfigError(f"{key}: cannot write the SQLite database {db} (missing or read-only folder or file)")
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # any driver error: the database is not reachable as given
        raise ConfigError(f"{key} {redact_url(url)} is not reachable: {str(exc).splitlines()[0][:200]}") from None
    finally:
        engine.dispose()


def _check_sqlite_exists(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() in ("sqlite", "duckdb") and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            raise DataError(f"{parsed.get_backend_name()} database file not found: {parsed.database}")


def split_table_name(conn: Any, name: str) -> tuple[str | None, str]:
    """``schema.table`` -> (schema, table) when the prefix is one of the database's schemas."""
    if "." in name:
        schema, table = name.split(".", 1)
        # DuckDB lists schemas qualified by their database ("file.lake")
        if schema in {s.rsplit(".", 1)[-1] for s in inspect(conn).get_schema_names()}:
            return schema, table
    return None, name


def reflect_table(conn: Any, schema: str | None, name: str) -> Any:
    """The table with its declared column types.

    DuckDB (duckdb-engine) cannot run SQLAlchemy 2.1's PostgreSQL-catalog reflection, so its
    columns come from ``information_schema`` and DuckDB's type names.
    """
    if conn.dialect.name != "duckdb":
        return Table(name, MetaData(), schema=schema, autoload_with=conn)
    rows = conn.execute(text("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :t "
                             "AND table_schema = :s ORDER BY ordinal_position"), {"t": name, "s": schema or "main"}).all()
    if not rows:
        raise NoSuchTableError(name)
    return table(name, *[column(c, _duckdb_type(t)) for c, t in rows], schema=schema)


def _duckdb_type(name: str) -> Any:
    name = name.upper()
    if name == "BOOLEAN":
        return sa.Boolean()
    if name.endswith("INT") or name in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
                                        "USMALLINT", "UTINYINT", "UHUGEINT"):
        return sa.BigInteger()
    if name in ("DOUBLE", "FLOAT", "REAL"):
        return sa.Float()
    if name.startswith(("DECIMAL", "NUMERIC")):
        return sa.Numeric()
    if name == "DATE":
        return sa.Date()
    if name.startswith("TIMESTAMP"):
        return sa.DateTime(timezone="TIME ZONE" in name or name == "TIMESTAMPTZ")
    if name == "UUID":
        return sa.Uuid()
    return sa.String()  # VARCHAR, ENUM(...) (labels read and written as text), anything else


def list_tables(url: str) -> list[str]:
    """Names of the tables in the database (its default schema)."""
    _check_sqlite_exists(url)
    engine = engine_for(url)
    try:
        return sorted(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        raise db_error(f"cannot list tables of {redact_url(url)}", url, exc) from None
    finally:
        engine.dispose()


def reflect_keys(url: str, tables: list[str]) -> tuple[dict[str, str], list[Any]]:
    """Declared single-column primary keys and foreign keys among ``tables``, from the schema."""
    engine = engine_for(url)
    pks: dict[str, str] = {}
    rels: list[Relationship] = []
    if engine.dialect.name == "duckdb":  # duckdb-engine cannot reflect constraints; profiling finds keys
        engine.dispose()
        return pks, rels
    try:
        insp = inspect(engine)
        for name in tables:
            cols = insp.get_pk_constraint(name).get("constrained_columns") or []
            if len(cols) == 1:
                pks[name] = cols[0]
            for fk in insp.get_foreign_keys(name):
                parent, pcols, ccols = fk.get("referred_table"), fk.get("referred_columns") or [], fk.get("constrained_columns") or []
                if parent in tables and len(pcols) == 1 and len(ccols) == 1:
                    rels.append(Relationship(parent_table=parent, parent_key=pcols[0], child_table=name, child_key=ccols[0]))
    except SQLAlchemyError as exc:
        raise db_error(f"cannot inspect keys of {redact_url(url)}", url, exc) from None
    finally:
        engine.dispose()
    return pks, rels


def iter_sql(
    url: str,
    *,
    table: str | None = None,
    query: str | None = None,
    params: dict[str, Any] | None = None,
    nrows: int | None = None,
    chunksize: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Stream a table or query as DataFrames of at most ``chunksize`` rows.

    The connection asks for ``stream_results`` (a server-side cursor on PostgreSQL, fetched
    ``chunksize`` rows at a time), so neither the driver nor this generator ever holds more than a
    chunk: tables larger than memory can be read. Declared column types are restored per chunk.
    """
    if (table is None) == (query is None):
        raise DataError("reading SQL needs exactly one of table= or query=")
    if chunksize < 1:
        raise DataError(f"chunksize must be positive, got {chunksize}")
    _check_sqlite_exists(url)
    engine = engine_for(url)
    source = f"{redact_url(url)} " + (f"table {table!r}" if table else "query")
    try:
        with engine.connect() as conn:
            tbl = None
            if table is not None:
                schema, name = split_table_name(conn, table)
                try:
                    tbl = reflect_table(conn, schema, name)
                except NoSuchTableError:
                    names = sorted(inspect(conn).get_table_names(schema=schema))
                    raise DataError(f"table {table!r} not found in {redact_url(url)}; tables: {names}") from None
                stmt: Any = select(tbl)
                if nrows is not None:
                    stmt = stmt.limit(int(nrows))
            else:
                stmt = text(query)
            streaming = conn.execution_options(stream_results=True, yield_per=chunksize)
            result = streaming.execute(stmt, params or {})
            columns = list(result.keys())
            left = nrows if (nrows is not None and tbl is None) else None
            empty = True
            for rows in result.partitions(chunksize):
                chunk = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
                if tbl is None:
                    _restore_query_ints(chunk, rows)
                if left is not None:
                    chunk, left = chunk.iloc[:left], left - len(chunk)
                empty = False
                yield restore_types(chunk, tbl)
                if left is not None and left <= 0:
                    break
            result.close()
            if empty:  # no rows: still the columns, so callers can say what is missing
                yield restore_types(pd.DataFrame(columns=columns), tbl)
    except DataError:
        raise
    except SQLAlchemyError as exc:
        raise db_error(f"cannot read {source}", url, exc) from None
    finally:
        engine.dispose()


def read_sql(
    url: str,
    *,
    table: str | None = None,
    query: str | None = None,
    params: dict[str, Any] | None = None,
    nrows: int | None = None,
    on_mixed: MixedPolicy = "keep",
    allow_empty: bool = False,
    chunksize: int = CHUNK_ROWS,
) -> tuple[pd.DataFrame, CoercionReport]:
    """Read a whole table or a query's result (streamed in chunks); text columns are coerced like a file's."""
    source = f"{redact_url(url)} " + (f"table {table!r}" if table else "query")
    report = CoercionReport(source=source, sniffed={"format": "sql"})
    chunks = list(iter_sql(url, table=table, query=query, params=params, nrows=nrows, chunksize=chunksize))
    df = _concat(chunks)
    if len(df) == 0 and not allow_empty:
        raise DataError(f"{source} returned no rows; an empty table cannot be profiled or learned")
    df = coerce_frame(df, report, on_mixed=on_mixed)
    df.attrs["coercions"] = report.to_dict()
    return df, report


def _restore_query_ints(chunk: pd.DataFrame, rows: list[Any]) -> None:
    """A query has no declared types: a column the driver returned as Python ints with NULLs
    (which pandas made float64) becomes ``Int64`` again. pyarrow's type inference decides in C."""
    for i, name in enumerate(chunk.columns):
        if chunk[name].dtype == "float64" and chunk[name].isna().any():
            raw = np.fromiter(map(itemgetter(i), rows), dtype=object, count=len(rows))
            if pa.types.is_integer(pa.array(raw, from_pandas=True).type):
                chunk[name] = chunk[name].astype("Int64")


def _concat(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """Chunks glued together; a column all-NULL in one chunk must not turn the whole column to object."""
    if len(chunks) == 1:
        return chunks[0]
    nonempty = [c for c in chunks if len(c)] or chunks[:1]
    df = pd.concat(nonempty, ignore_index=True)
    return df.infer_objects()


def restore_types(df: pd.DataFrame, tbl: Any = None) -> pd.DataFrame:
    """Give every column the pandas dtype its declared SQL type means (see module docstring).

    Without a reflected table (queries), values the drivers return as Python objects (``Decimal``,
    ``UUID``, ``date``) are still converted by what they are.
    """
    declared = {c.name: c.type for c in tbl.columns} if tbl is not None else {}
    for name in df.columns:
        df[name] = _restore_column(df[name], declared.get(name))
    return df


def _restore_column(values: pd.Series, sql_type: Any) -> pd.Series:
    present = values.dropna()
    first = present.iloc[0] if len(present) else None
    if isinstance(sql_type, Boolean) or (sql_type is None and isinstance(first, bool)):
        if pd.api.types.is_bool_dtype(values.dtype):
            return values
        mapped = values.map(lambda v: bool(v), na_action="ignore")
        return mapped.astype(bool) if not mapped.isna().any() else mapped.astype("boolean")
    if isinstance(sql_type, Integer):
        if pd.api.types.is_integer_dtype(values.dtype):
            return values
        numbers = pd.to_numeric(values, errors="coerce")
        try:
            return numbers.astype("Int64")  # NULLs made the driver's column float or object
        except (TypeError, ValueError):  # SQLite lets an INTEGER column hold fractions
            return numbers
    if isinstance(sql_type, (Numeric, Float)) or isinstance(first, decimal.Decimal):
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if isinstance(sql_type, Uuid) or isinstance(first, uuid.UUID):
        return values.map(str, na_action="ignore").astype(object)
    if isinstance(sql_type, Enum):
        return values.astype(object)
    timezone = getattr(sql_type, "timezone", False) or (isinstance(first, dt.datetime) and first.tzinfo is not None)
    if isinstance(sql_type, (DateTime, Date)) or isinstance(first, dt.date):
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return values.dt.tz_convert("UTC") if isinstance(values.dtype, pd.DatetimeTZDtype) else values
        if values.dtype == object and len(present) and not isinstance(first, str):
            return pd.to_datetime(values, errors="coerce", utc=bool(timezone))
        return pd.to_datetime(values, errors="coerce", format="ISO8601")
    return values
