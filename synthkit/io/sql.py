"""SQL databases through SQLAlchemy (SQLite embedded by default).

Table names and columns are passed to SQLAlchemy as identifiers (reflected ``Table`` objects,
``to_sql``), never formatted into SQL text; user queries run as given with bound parameters.
Writes of one or many tables happen in a single transaction, so a failure leaves the database as
it was. Reflected column types restore booleans and timestamps that SQLite stores as 0/1 and text.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Boolean, Date, DateTime, MetaData, Table, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError

from synthkit.errors import DataError
from synthkit.io.coerce import CoercionReport, MixedPolicy, coerce_frame
from synthkit.meta import Relationship

__all__ = ["engine_for", "is_sql_url", "list_tables", "read_sql", "write_sql"]

log = logging.getLogger(__name__)

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+_.-]*://")
_IF_EXISTS = ("replace", "append", "fail")


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
        raise DataError(f"cannot open database URL {_redact(url)}: {exc}") from None
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


def _redact(url: str) -> str:
    """Hide a password in messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _check_sqlite_exists(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            raise DataError(f"SQLite database file not found: {parsed.database}")


def list_tables(url: str) -> list[str]:
    """Names of the tables in the database."""
    _check_sqlite_exists(url)
    engine = engine_for(url)
    try:
        return sorted(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        raise DataError(f"cannot list tables of {_redact(url)}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def reflect_keys(url: str, tables: list[str]) -> tuple[dict[str, str], list[Any]]:
    """Declared single-column primary keys and foreign keys among ``tables``, from the schema."""
    engine = engine_for(url)
    pks: dict[str, str] = {}
    rels: list[Relationship] = []
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
        raise DataError(f"cannot inspect keys of {_redact(url)}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    return pks, rels


def read_sql(
    url: str,
    *,
    table: str | None = None,
    query: str | None = None,
    params: dict[str, Any] | None = None,
    nrows: int | None = None,
    on_mixed: MixedPolicy = "keep",
    allow_empty: bool = False,
) -> tuple[pd.DataFrame, CoercionReport]:
    """Read a whole table or a query's result; text columns are coerced like a file's."""
    if (table is None) == (query is None):
        raise DataError("reading SQL needs exactly one of table= or query=")
    _check_sqlite_exists(url)
    engine = engine_for(url)
    source = f"{_redact(url)} " + (f"table {table!r}" if table else "query")
    report = CoercionReport(source=source, sniffed={"format": "sql"})
    try:
        with engine.connect() as conn:
            if table is not None:
                try:
                    tbl = Table(table, MetaData(), autoload_with=conn)
                except NoSuchTableError:
                    names = sorted(inspect(conn).get_table_names())
                    raise DataError(f"table {table!r} not found in {_redact(url)}; tables: {names}") from None
                stmt = select(tbl)
                if nrows is not None:
                    stmt = stmt.limit(int(nrows))
                df = pd.read_sql_query(stmt, conn)
                df = _restore_types(df, tbl)
            else:
                df = pd.read_sql_query(text(query), conn, params=params or {})
                if nrows is not None:
                    df = df.iloc[:nrows]
    except DataError:
        raise
    except SQLAlchemyError as exc:
        raise DataError(f"cannot read {source}: {str(exc).splitlines()[0][:300]}") from None
    finally:
        engine.dispose()
    if len(df) == 0 and not allow_empty:
        raise DataError(f"{source} returned no rows; an empty table cannot be profiled or learned")
    df = coerce_frame(df, report, on_mixed=on_mixed)
    df.attrs["coercions"] = report.to_dict()
    return df, report


def _restore_types(df: pd.DataFrame, tbl: Any) -> pd.DataFrame:
    """SQLite keeps BOOLEAN as 0/1 and TIMESTAMP as text: use the declared types to restore them."""
    for col in tbl.columns:
        name = col.name
        if name not in df.columns:
            continue
        if isinstance(col.type, Boolean) and not pd.api.types.is_bool_dtype(df[name].dtype):
            values = df[name].map({1: True, 0: False}, na_action="ignore")
            df[name] = values.astype(bool) if not values.isna().any() else values.astype("boolean")
        elif isinstance(col.type, (DateTime, Date)) and not pd.api.types.is_datetime64_any_dtype(df[name].dtype):
            df[name] = pd.to_datetime(df[name], errors="coerce", format="ISO8601")
    return df


def write_sql(
    tables: dict[str, pd.DataFrame],
    url: str,
    *,
    if_exists: str = "replace",
    chunksize: int = 10_000,
) -> str:
    """Write one or more tables in one transaction (``replace``, ``append`` or ``fail``)."""
    if if_exists not in _IF_EXISTS:
        raise DataError(f"if_exists must be one of {_IF_EXISTS}, not {if_exists!r}")
    for name, df in tables.items():
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"invalid SQL table name {name!r}")
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"table {name!r}: expected a DataFrame, got {type(df).__name__}")
        if df.columns.duplicated().any():
            raise DataError(f"table {name!r} has duplicate column names; SQL needs unique columns")
    engine = engine_for(url)
    try:
        with engine.begin() as conn:  # one transaction: all tables or none
            for name, df in tables.items():
                out, dtypes = _prepare(df)
                out.to_sql(name, conn, if_exists=if_exists, index=False, chunksize=chunksize, dtype=dtypes or None)
    except ValueError as exc:  # pandas: table exists with if_exists="fail"
        raise DataError(f"cannot write to {_redact(url)}: {exc}") from None
    except SQLAlchemyError as exc:
        raise DataError(f"cannot write to {_redact(url)}: {str(exc).splitlines()[0][:300]}") from None
    finally:
        engine.dispose()
    log.info("wrote %d table(s) to %s", len(tables), _redact(url))
    return url


def _prepare(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Timezone-aware timestamps go in as ISO 8601 UTC text ("...Z": SQLite has no time zones, and
    the reader parses it back to UTC timestamps); categoricals as text."""
    out = df.copy()
    dtypes: dict[str, Any] = {}
    for col in out.columns:
        dtype = out[col].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif isinstance(dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
    return out, dtypes
