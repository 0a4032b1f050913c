"""Time series: PhysioNet EAV and Beijing hourly files load as sequences; long <-> wide."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import long_to_wide, read_sequences, wide_to_long
from synthkit.profile import profile


@pytest.mark.integration
def test_physionet_loads_as_irregular_sequences(shared_datasets: Path) -> None:
    ds = read_sequences(shared_datasets / "physionet-2012-icu" / "set-a_long.csv.gz", nrows=40_000)
    assert ds.sequence_keys == {"measurements": ("RecordID", "Time")}
    ents, meas = ds["entities"], ds["measurements"]
    assert {"RecordID", "Age", "Gender", "Height"} <= set(ents.columns) and ents["RecordID"].is_unique
    assert {"HR", "Temp", "GCS"} <= set(meas.columns) and "Age" not in meas.columns
    assert meas["Time"].dtype.kind == "i" and meas["Time"].max() <= 48 * 60 + 60  # minutes since admission
    first = meas[meas["RecordID"] == meas["RecordID"].iloc[0]]
    gaps = np.diff(first["Time"].to_numpy())
    assert (gaps > 0).all() and len(set(gaps)) > 3  # irregular timestamps kept, strictly ordered
    assert not (ents["Height"] == -1).any()  # -1 (unknown) is missing
    assert ds.validate().ok
    meta = profile(ds)
    table = meta.tables["measurements"]
    assert (table.sequence_key, table.sequence_index) == ("RecordID", "Time")
    assert meta.relationships[0].parent_table == "entities"
    assert table.column("HR").kind == "numerical"


@pytest.mark.integration
def test_beijing_twelve_stations_hourly(shared_datasets: Path) -> None:
    ds = read_sequences(shared_datasets / "beijing-multisite-air-quality", nrows=200)
    meas = ds["measurements"]
    assert ds["entities"]["station"].nunique() == 12 and len(meas) == 12 * 200
    assert pd.api.types.is_datetime64_any_dtype(meas["datetime"]) and "No" not in meas.columns
    step = meas.groupby("station")["datetime"].diff().dropna()
    assert (step == pd.Timedelta(hours=1)).all()
    assert meas["PM2.5"].dtype == float and meas["wd"].dtype == object
    meta = profile(ds)
    assert meta.tables["measurements"].sequence_key == "station"


def test_long_wide_round_trip_with_uneven_lengths() -> None:
    long = pd.DataFrame({
        "id": [1, 1, 1, 2, 2, 3],
        "t": [0.0, 2.5, 7.0, 1.0, 4.0, 3.0],
        "hr": [70.0, 72.0, np.nan, 80.0, 81.0, 60.0],
        "spo2": [98.0, 97.0, 96.0, 99.0, np.nan, 95.0],
    })
    wide = long_to_wide(long, "id", "t")
    assert wide.shape == (3, 1 + 3 * 3) and list(wide.columns[:4]) == ["id", "t__0", "hr__0", "spo2__0"]
    assert np.isnan(wide.loc[wide["id"] == 3, "t__1"]).all()
    back = wide_to_long(wide, "id", "t")
    pd.testing.assert_frame_equal(back, long, check_dtype=False)


def test_generic_long_frame_and_errors(tmp_path: Path) -> None:
    df = pd.DataFrame({"sensor": ["a"] * 3 + ["b"] * 3, "ts": pd.date_range("2024-01-01", periods=6, freq="37min"),
                       "v": np.arange(6.0), "site": ["x"] * 3 + ["y"] * 3})
    ds = read_sequences(df, entity="sensor", time="ts", measures=["v"], static=["site"])
    assert list(ds["entities"].columns) == ["sensor", "site"] and list(ds["measurements"].columns) == ["sensor", "ts", "v"]
    with pytest.raises(DataError, match="entity= and time="):
        read_sequences(df)
    with pytest.raises(DataError, match="time column 'when' not in columns"):
        read_sequences(df, entity="sensor", time="when")
    with pytest.raises(DataError, match=r"measure columns \['nope'\] not found"):
        read_sequences(df, entity="sensor", time="ts", measures=["nope"])


def test_wide_input_and_duplicate_steps_reported() -> None:
    long = pd.DataFrame({"id": [1, 1, 2], "t": [0.0, 5.0, 1.0], "hr": [70.0, 71.0, 90.0]})
    ds = read_sequences(long_to_wide(long, "id", "t"), entity="id", time="t", wide=True)
    pd.testing.assert_frame_equal(ds["measurements"], long, check_dtype=False)
    dup = read_sequences(pd.concat([long, long.iloc[:1]]), entity="id", time="t")
    report = dup.validate()
    assert report.duplicate_steps == {"measurements": 2} and not report.ok
