"""The report's sequence section on real ICU stays against damaged copies: the discriminator's
accuracy with its interval in a sentence, and what gives the copies away, in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.evaluate.schema import validate_metrics
from synthkit.evaluate.temporal import temporal_metrics
from synthkit.profile import profile
from synthkit.report.render import render_report
from synthkit.report.temporal import temporal_section

MEASURES = ["HR", "MAP", "Temp"]


@pytest.fixture(scope="module")
def stays() -> pd.DataFrame:
    from synthkit.datasets import load

    events, _ = load("icu")
    return events[events["RecordID"].isin(events["RecordID"].unique()[:120])][["RecordID", "Time", *MEASURES]].reset_index(drop=True)


def test_jittered_heart_rate_is_named_as_the_tell(stays, tmp_path: Path):
    """Heart rate with noise added at every measurement: the section says it jumps more, and how much."""
    rng = np.random.default_rng(0)
    jittered = stays.assign(HR=stays["HR"] + rng.normal(0, 15, len(stays)), RecordID=stays["RecordID"] + 10**6)
    metrics = {"schema_version": 1, "temporal": temporal_metrics(stays, jittered, "RecordID", "Time", MEASURES)}
    validate_metrics(metrics)  # interval and top features are declared in the metrics.json schema
    disc = metrics["temporal"]["discriminative"]
    low, high = disc["interval"]
    assert low <= disc["accuracy"] <= high and disc["accuracy"] > 0.8
    top = disc["top_features"][0]
    assert top["feature"].startswith("HR_") and top["synthetic_median"] > top["real_median"]
    section = temporal_section(metrics)
    assert section is not None and "of the time (95 % interval" in section["headline"]
    assert section["tells"][0]["what"].startswith("how much HR")
    path = render_report(tmp_path / "report.html", metrics=metrics, real=stays, synthetic=jittered, metadata=profile(stays))
    html = path.read_text()
    assert 'id="sequences"' in html and "What gives synthetic entities away" in html
    assert temporal_section({"schema_version": 1}) is None


def test_identical_sequences_have_no_tell(stays):
    copy = stays.assign(RecordID=stays["RecordID"] + 10**6)
    disc = temporal_metrics(stays, copy, "RecordID", "Time", MEASURES)["discriminative"]
    assert disc["accuracy"] <= 0.6 and disc["interval"][0] <= 0.5
    assert all(f["importance"] < 0.05 for f in disc["top_features"])
