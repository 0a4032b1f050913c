"""Temporal metrics on real ICU sequences: identical data scores perfectly, known damage is detected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import EvaluationError
from synthkit.evaluate.temporal import lag_autocorrelation, temporal_metrics

MEASURES = ["HR", "MAP", "Temp", "Urine"]


@pytest.fixture(scope="module")
def icu() -> pd.DataFrame:
    from synthkit.datasets import load

    events, _ = load("icu")
    ids = events["RecordID"].unique()[:160]
    return events[events["RecordID"].isin(ids)][["RecordID", "Time", "Age", *MEASURES]].reset_index(drop=True)


def test_identical_data_scores_as_identical(icu):
    out = temporal_metrics(icu, icu.copy(), "RecordID", "Time", MEASURES)
    assert out["length"]["ks"] == 0 and out["inter_event_time"]["ks"] == 0
    for m in MEASURES:
        assert out["marginals"][m]["ks"] == 0
        assert out["autocorrelation"][m]["diff_lag1"] == pytest.approx(0.0, abs=1e-12)
        assert out["autocorrelation"][m]["diff_lag1_rank"] == pytest.approx(0.0, abs=1e-12)
    assert out["autocorrelation"]["HR"]["real_lag1"] > 0.5  # vitals are strongly autocorrelated
    assert out["predictive"]["tstr_mae"] <= out["predictive"]["trtr_mae"] * 1.05


def test_two_halves_of_real_data_are_indistinguishable(icu):
    ids = icu["RecordID"].unique()
    a, b = icu[icu["RecordID"].isin(ids[::2])], icu[icu["RecordID"].isin(ids[1::2])]
    out = temporal_metrics(a, b, "RecordID", "Time", MEASURES)
    assert 0.3 <= out["discriminative"]["accuracy"] <= 0.7  # chance level, with CV noise
    assert out["discriminative"]["score"] < 0.2
    assert out["length"]["ks"] < 0.35


def test_shuffling_time_destroys_autocorrelation_but_not_marginals(icu):
    rng = np.random.default_rng(0)
    shuffled = icu.copy()
    # permute each measure's values within each stay: same per-stay values, no temporal order
    order = np.lexsort((rng.random(len(icu)), icu["RecordID"].to_numpy()))
    for m in MEASURES:
        shuffled[m] = icu[m].to_numpy()[order]
    out = temporal_metrics(icu, shuffled, "RecordID", "Time", MEASURES, seed=1)
    assert out["marginals"]["HR"]["ks"] == pytest.approx(0.0, abs=1e-9)
    assert out["autocorrelation"]["HR"]["diff_lag1"] > 0.2
    assert out["autocorrelation_lag1_mean_abs_diff"] > 0.1
    assert out["predictive"]["tstr_mae"] > out["predictive"]["trtr_mae"]


def test_truncated_sequences_are_seen_in_lengths_and_by_the_classifier(icu):
    short = icu[icu.groupby("RecordID").cumcount() < 10]
    out = temporal_metrics(icu, short, "RecordID", "Time", MEASURES)
    assert out["length"]["ks"] > 0.8
    assert out["discriminative"]["accuracy"] > 0.9
    assert out["n_entities"] == {"real": 160, "synthetic": 160}


def test_datetime_time_and_categorical_measure(icu):
    df = icu.assign(Time=pd.Timestamp("2012-01-01") + pd.to_timedelta(icu["Time"], unit="min"),
                    band=np.where(icu["HR"] > 90, "high", "normal"))
    out = temporal_metrics(df, df, "RecordID", "Time", ["HR", "band"])
    assert out["inter_event_time"]["real_mean"] == pytest.approx(
        icu.groupby("RecordID")["Time"].diff().mean() * 60)  # seconds
    assert out["marginals"]["band"]["tvd"] == 0.0
    assert "band" not in out["autocorrelation"]


def test_lag_autocorrelation_of_a_known_process():
    rng = np.random.default_rng(0)
    phi, rows = 0.8, []
    for e in range(40):  # AR(1) per entity
        x = np.zeros(200)
        for t in range(1, 200):
            x[t] = phi * x[t - 1] + rng.standard_normal()
        rows.append(pd.DataFrame({"e": e, "x": x}))
    df = pd.concat(rows, ignore_index=True)
    assert lag_autocorrelation(df, "e", "x", 1) == pytest.approx(phi, abs=0.05)
    assert lag_autocorrelation(df, "e", "x", 2) == pytest.approx(phi**2, abs=0.07)
    # Spearman's correlation of a Gaussian AR(1) is (6/pi) asin(phi/2)
    assert lag_autocorrelation(df, "e", "x", 1, rank=True) == pytest.approx(6 / np.pi * np.arcsin(phi / 2), abs=0.05)


def test_rank_lag1_is_not_led_by_a_few_entry_errors(icu):
    """Three temperatures typed without their decimal point (368 for 36.8) move the pooled Pearson
    lag-1 far more than the rank one, which sees them as three high ranks among thousands."""
    typo = icu.copy()
    rows = typo.index[typo["Temp"].notna()][[100, 900, 1700]]
    typo.loc[rows, "Temp"] = typo.loc[rows, "Temp"] * 10
    out = temporal_metrics(icu, typo, "RecordID", "Time", ["Temp"])["autocorrelation"]["Temp"]
    assert out["diff_lag1"] > 0.1
    assert out["diff_lag1_rank"] < 0.01
    assert out["diff_lag1_rank"] < out["diff_lag1"] / 10


@pytest.mark.parametrize("bad", ["missing_column", "empty", "no_measures", "text_time"])
def test_bad_input_is_a_clear_error(icu, bad):
    real, synth, measures, time = icu, icu, MEASURES, "Time"
    if bad == "missing_column":
        synth = icu.drop(columns=["HR"])
    elif bad == "empty":
        synth = icu.iloc[:0]
    elif bad == "no_measures":
        measures = []
    else:
        real = synth = icu.assign(Time=icu["Time"].astype(str))
    with pytest.raises(EvaluationError, match="HR|empty|measure|time column"):
        temporal_metrics(real, synth, "RecordID", time, measures)
