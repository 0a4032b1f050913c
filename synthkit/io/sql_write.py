"""Writing tables to SQL databases, all tables in one transaction.

The table is created (or replaced, or checked for ``fail``) by pandas' dialect-neutral DDL; the
rows then go in by the fastest path the database offers:

* PostgreSQL with psycopg 3: ``COPY ... FROM STDIN`` fed with CSV text that pandas renders in
  chunks (no Python loop over rows), NULLs marked by a random token no value can equal;
* DuckDB: the DataFrame is registered as a view and copied by one ``INSERT ... SELECT`` (columnar);
* every other database (and ``method="insert"``): pandas' parameterised ``INSERT``s.

Either way the whole write is one transaction: a failure half-way (a constraint violation in row
500,000) rolls back everything, including a ``replace``'s DROP, so the old table stays as it was.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Uuid, inspect
from sqlalchemy.exc import SQLAlchemyError

from synthkit.errors import DataError
from synthkit.io.sql import db_error, engine_for, redact_url, reflect_table, split_table_name

__all__ = ["write_sql", "copy_supported", "copy_rows", "duckdb_rows", "prepare_frame"]

log = logging.getLogger(__name__)

_IF_EXISTS = ("replace", "append", "fail")
WriteMethod = Literal["auto", "copy", "insert"]
_COPY_CHUNK = 50_000  # rows rendered to CSV at a time


def copy_supported(engine_or_conn: Any) -> bool:
    """True when rows can go in by a bulk path: PostgreSQL COPY (psycopg 3 driver) or a DuckDB scan."""
    dialect = engine_or_conn.dialect
    return (dialect.name == "postgresql" and dialect.driver == "psycopg") or dialect.name == "duckdb"


def write_sql(
    tables: dict[str, pd.DataFrame],
    url: str,
    *,
    if_exists: str = "replace",
    chunksize: int = 10_000,
    method: WriteMethod = "auto",
) -> str:
    """Write one or more tables in one transaction (``replace``, ``append`` or ``fail``).

    ``method``: "auto" (COPY where supported, else INSERT), "copy" (error if unsupported) or "insert".
    A table name ``schema.table`` writes into an existing schema.
    """
    if if_exists not in _IF_EXISTS:
        raise DataError(f"if_exists must be one of {_IF_EXISTS}, not {if_exists!r}")
    if method not in ("auto", "copy", "insert"):
        raise DataError(f"method must be 'auto', 'copy' or 'insert', not {method!r}")
    for name, df in tables.items():
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"invalid SQL table name {name!r}")
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"table {name!r}: expected a DataFrame, got {type(df).__name__}")
        if df.columns.duplicated().any():
            raise DataError(f"table {name!r} has duplicate column names; SQL needs unique columns")
    engine = engine_for(url)
    use_copy = method == "copy" or (method == "auto" and copy_supported(engine))
    if use_copy and not copy_supported(engine):
        raise DataError(f"bulk copy needs PostgreSQL through psycopg 3 (postgresql+psycopg://) or DuckDB; {redact_url(url)} is neither")
    try:
        with engine.begin() as conn:  # one transaction: all tables or none
            for name, df in tables.items():
                schema, table = split_table_name(conn, name)
                out = prepare_frame(df, conn.dialect.name)
                declared = _declared_types(conn, schema, table) if if_exists == "append" and not use_copy else None
                # DDL (and if_exists) the dialect-neutral way; rows by COPY or INSERT
                out.head(0 if use_copy else len(out)).to_sql(table, conn, schema=schema, if_exists=if_exists,
                                                             index=False, chunksize=chunksize, dtype=declared)
                if use_copy and len(out):
                    (duckdb_rows if conn.dialect.name == "duckdb" else copy_rows)(conn, schema, table, out)
    except ValueError as exc:  # pandas: table exists with if_exists="fail"
        raise DataError(f"cannot write to {redact_url(url)}: {exc}") from None
    except SQLAlchemyError as exc:
        raise db_error(f"cannot write to {redact_url(url)}", url, exc) from None
    except Exception as exc:  # psycopg errors raised inside COPY arrive unwrapped
        if type(exc).__module__.split(".")[0] != "psycopg":
            raise
        raise db_error(f"cannot write to {redact_url(url)}", url, exc) from None
    finally:
        engine.dispose()
    path = {"postgresql": "COPY", "duckdb": "DuckDB scan"}.get(engine.dialect.name, "?") if use_copy else "INSERT"
    log.info("wrote %d table(s) to %s (%s)", len(tables), redact_url(url), path)
    return url


def copy_rows(conn: Any, schema: str | None, table: str, df: pd.DataFrame) -> None:
    """Stream ``df`` into the table with COPY FROM STDIN (CSV), inside the caller's transaction."""
    prep = conn.dialect.identifier_preparer
    target = f"{prep.quote_schema(schema)}.{prep.quote(table)}" if schema else prep.quote(table)
    columns = ", ".join(prep.quote(str(c)) for c in df.columns)
    # no real value equals it, so empty strings stay empty strings (pandas cuts float na_rep at 32 chars)
    null = f"SKNULL{uuid.uuid4().hex[:20]}"
    sql = f"COPY {target} ({columns}) FROM STDIN (FORMAT csv, NULL '{null}')"
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for start in range(0, len(df), _COPY_CHUNK):
            buffer = io.StringIO()
            df.iloc[start:start + _COPY_CHUNK].to_csv(buffer, header=False, index=False, na_rep=null,
                                                     quoting=csv.QUOTE_MINIMAL, date_format="%Y-%m-%d %H:%M:%S.%f%z")
            copy.write(buffer.getvalue())


def duckdb_rows(conn: Any, schema: str | None, table: str, df: pd.DataFrame) -> None:
    """DuckDB reads the DataFrame's columns directly: one INSERT ... SELECT inside the transaction."""
    prep = conn.dialect.identifier_preparer
    target = f"{prep.quote_schema(schema)}.{prep.quote(table)}" if schema else prep.quote(table)
    columns = ", ".join(prep.quote(str(c)) for c in df.columns)
    view = f"synthkit_rows_{uuid.uuid4().hex[:12]}"
    raw = conn.connection.driver_connection
    # duckdb-engine's reflection (pandas' has_table) leaves a half-read result that blocks register()
    conn.exec_driver_sql("SELECT 1").fetchall()
    raw.register(view, df)
    try:
        conn.exec_driver_sql(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {view}")
    finally:
        raw.unregister(view)


def _declared_types(conn: Any, schema: str | None, table: str) -> dict[str, Any] | None:
    """An existing table's column types, so INSERTs bind values as what the columns are (uuid, enum)."""
    if not inspect(conn).has_table(table, schema=schema):
        return None
    types = {}
    for column in reflect_table(conn, schema, table).columns:
        kind = column.type
        if isinstance(kind, Uuid):  # values are text in a DataFrame
            kind = type(kind)(as_uuid=False)
        types[column.name] = kind
    return types


def prepare_frame(df: pd.DataFrame, dialect: str) -> pd.DataFrame:
    """Values every database stores faithfully.

    SQLite has no time zones: timezone-aware timestamps go in as ISO 8601 UTC text ("...Z", parsed
    back to UTC timestamps by the reader); elsewhere they stay timestamps with time zone, in UTC.
    Categoricals go in as text.
    """
    out = df.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            utc = out[col].dt.tz_convert("UTC")
            out[col] = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if dialect == "sqlite" else utc
        elif isinstance(dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
    return out
