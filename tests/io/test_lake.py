"""Parquet lakes (folders, globs, hive partitions) and CSV globs as one table; the partitioned sink."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import Dataset, read
from synthkit.io.lake import LakeSource, is_lake, read_lake, write_partitioned


@pytest.fixture(scope="module")
def typed() -> pd.DataFrame:
    """One column per type users keep in lakes, with missing values where the type allows them."""
    n = 60
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "i64": np.arange(n, dtype=np.int64),
        "i32": rng.integers(0, 100, n).astype(np.int32),
        "f64": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "nullable_int": pd.array([None if i % 7 == 0 else i for i in range(n)], dtype="Int64"),
        "flag": rng.random(n) < 0.5,
        "text": pd.Series([None if i % 5 == 0 else f"v{i % 4}" for i in range(n)], dtype=object),
        "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        "ts": pd.date_range("2021-01-01", periods=n, freq="h"),
        "ts_tz": pd.date_range("2021-01-01", periods=n, freq="D", tz="Europe/Berlin"),
        "day": pd.to_datetime(pd.date_range("2020-01-01", periods=n, freq="D").date).astype("datetime64[s]"),
        "region": rng.choice(["eu", "us"], n),
        "year": rng.choice([2020, 2021], n).astype(np.int64),
    })


def _same(back: pd.DataFrame, frame: pd.DataFrame) -> None:
    back = back[frame.columns].sort_values("i64").reset_index(drop=True)
    assert back.dtypes.to_dict() == frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, frame, check_categorical=False)


@pytest.mark.parametrize("partition_cols", [None, ["year"], ["year", "region"]])
def test_partitioned_sink_round_trip_keeps_every_type(tmp_path: Path, typed: pd.DataFrame, partition_cols: list[str] | None) -> None:
    folder = write_partitioned((typed.iloc[i:i + 20] for i in range(0, len(typed), 20)), tmp_path / "lake",
                               partition_cols=partition_cols)
    assert is_lake(folder)
    source = LakeSource.open(folder)
    assert source.hive == bool(partition_cols) and source.count_rows() == len(typed)
    _same(read_lake(folder), typed)
    _same(read(folder), typed)  # io.read: a Parquet folder is ONE table
    if partition_cols:
        assert any("=" in p.name for p in folder.iterdir())


def test_glob_of_parquet_parts_is_one_table(tmp_path: Path, typed: pd.DataFrame) -> None:
    write_partitioned((typed.iloc[i:i + 15] for i in range(0, len(typed), 15)), tmp_path / "lake", partition_cols=["year"])
    pattern = str(tmp_path / "lake" / "year=*" / "*.parquet")
    _same(read(pattern), typed)
    assert len(LakeSource.open(pattern).files) == 8  # 4 writes x 2 partitions


def test_hive_folder_written_by_other_tools_infers_partition_columns(tmp_path: Path, typed: pd.DataFrame) -> None:
    for year, part in typed.groupby("year"):
        (tmp_path / f"year={year}").mkdir()
        part.drop(columns="year").to_parquet(tmp_path / f"year={year}" / "part-0.parquet", index=False)
    back = read_lake(tmp_path)
    assert sorted(back["year"].unique().tolist()) == [2020, 2021]
    assert back["f64"].dtype == np.float64 and len(back) == len(typed)


def test_csv_glob_is_one_table_but_a_folder_of_differently_shaped_csvs_stays_multi_table(tmp_path: Path) -> None:
    for i in range(3):
        pd.DataFrame({"a": [i, i + 1], "b": ["x", "y"]}).to_csv(tmp_path / f"part-{i}.csv", index=False)
    assert len(read(str(tmp_path / "part-*.csv"))) == 6
    shaped = tmp_path / "tables"
    shaped.mkdir()
    pd.DataFrame({"id": [1, 2]}).to_csv(shaped / "patients.csv", index=False)
    pd.DataFrame({"pid": [1, 1], "code": ["a", "b"]}).to_csv(shaped / "visits.csv", index=False)
    assert not is_lake(shaped)
    assert isinstance(read(shaped), Dataset)


def test_parts_that_disagree_are_a_clear_error(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "p0.parquet")
    pd.DataFrame({"a": ["x", "y"]}).to_parquet(tmp_path / "p1.parquet")
    with pytest.raises(DataError, match="do not form one table"):
        LakeSource.open(tmp_path)
    with pytest.raises(DataError, match="no files match"):
        LakeSource.open(str(tmp_path / "nothing-*.parquet"))
