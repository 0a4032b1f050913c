"""Time-zone-aware timestamps come back in their own zone, whatever library the zone came from."""

from __future__ import annotations

import datetime
import zoneinfo
from pathlib import Path

import dateutil.tz
import pandas as pd
import pytest

from synthkit.models import Synthesizer, create

ZONES = {
    "zoneinfo": zoneinfo.ZoneInfo("Europe/Paris"),
    "zoneinfo-only key": zoneinfo.ZoneInfo("posix/UTC"),  # pytz, which pandas asks first, does not know it
    "dateutil": dateutil.tz.gettz("Asia/Tokyo"),  # prints as tzfile('/usr/share/zoneinfo/Asia/Tokyo')
    "fixed offset": datetime.timezone(datetime.timedelta(hours=-3)),
    "pytz name": "America/New_York",
}


@pytest.mark.parametrize("label", list(ZONES))
def test_sampled_timestamps_keep_the_time_zone_through_save_and_load(label: str, tmp_path: Path):
    zone = ZONES[label]
    stamps = pd.to_datetime(["2020-01-01 10:00", "2021-03-28 02:30", "2020-06-01 23:59", "2022-12-31 00:00"] * 5)
    df = pd.DataFrame({"t": stamps.tz_localize(zone, nonexistent="shift_forward"), "x": range(20)})
    model = create("copula", seed=0).fit(df)
    model.save(tmp_path / "m")
    (spec,) = [c for c in model.schema_.columns if c.name == "t"]
    assert spec.datetime_tz and "tzfile(" not in spec.datetime_tz, "the zone is stored by name, not by its repr"
    out = Synthesizer.load(tmp_path / "m").sample(50, seed=1)
    assert out["t"].dt.tz is not None
    # the same instants' wall-clock offset as the real zone gives them
    expected = out["t"].dt.tz_convert("UTC").dt.tz_convert(df["t"].dt.tz)
    assert (out["t"].dt.tz_convert("UTC") == expected.dt.tz_convert("UTC")).all()
    assert [ts.utcoffset() for ts in out["t"]] == [ts.utcoffset() for ts in expected]
