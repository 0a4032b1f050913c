"""Checks shared by the SQL sink tests (local engine and Ray): the table holds exactly the Parquet
parts' rows, the old table's rows, no staging table left."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from synthkit.io.sql import read_sql


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    cols = list(frame.columns)
    return frame.sort_values(cols, kind="mergesort").reset_index(drop=True)


def assert_same_rows(url: str, table: str, folder: Path, copies: int = 1) -> None:
    """The table holds exactly the Parquet parts' rows (``copies`` times), nothing else."""
    got, _ = read_sql(url, table=table)
    want = pd.read_parquet(folder)
    want = pd.concat([want] * copies, ignore_index=True)
    assert len(got) == len(want) > 0
    assert copies > 1 or not got.duplicated().any()
    got = got.astype({c: want[c].dtype for c in want.columns if want[c].dtype != object})
    pd.testing.assert_frame_equal(sorted_rows(got[list(want.columns)]), sorted_rows(want), check_exact=True)


def staging_tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return [t for t in sa.inspect(engine).get_table_names() if t.startswith("synthkit_stage_")]
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def old_rows(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM synth ORDER BY 1").all()]
    finally:
        engine.dispose()
