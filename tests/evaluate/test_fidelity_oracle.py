"""Column shapes and column pair trends agree with SDMetrics (BSL: used only here, as an oracle)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from synthkit.evaluate.fidelity import column_scores, pair_scores, summarize_pairs
from synthkit.evaluate.inputs import prepare

sdmetrics = pytest.importorskip("sdmetrics", reason="sdmetrics (BSL, test oracle only) is in the optional sdv extra")
with warnings.catch_warnings():  # the single-table report is deprecated in favour of a multi-table one
    warnings.simplefilter("ignore", FutureWarning)
    from sdmetrics.reports.single_table import QualityReport
from sdmetrics.reports.single_table._properties import ColumnPairTrends, ColumnShapes


def _sdv_metadata(kinds: dict[str, str]) -> dict:
    return {"columns": {c: {"sdtype": k} for c, k in kinds.items()}}


def _cases(adult_split, copula_synthetic, shuffle_columns):
    train = adult_split["train"]
    noisy = adult_split["unseen"].copy()
    noisy.loc[noisy.sample(frac=0.2, random_state=0).index, "age"] = np.nan  # extra missing values
    noisy["hours-per-week"] = noisy["hours-per-week"] * 1.3 + 2  # a shifted distribution
    return {"copula": (train, copula_synthetic), "shifted": (train, noisy), "shuffled": (train, shuffle_columns(train))}


@pytest.mark.parametrize("case", ["copula", "shifted", "shuffled"])
def test_column_shapes_and_pair_trends_match_sdmetrics(case, adult_split, copula_synthetic, shuffle_columns):
    real, syn = _cases(adult_split, copula_synthetic, shuffle_columns)[case]
    prep = prepare(real, syn, None, None, max_rows=20_000, seed=0)
    meta = _sdv_metadata(prep.kinds)
    r, s = prep.train, prep.synthetic

    ours_cols = column_scores(r, s, prep.kinds)
    shapes = ColumnShapes()
    shapes.get_score(r, s, meta)
    for _, row in shapes.details.iterrows():
        assert ours_cols[row["Column"]]["metric"] == row["Metric"]
        assert ours_cols[row["Column"]]["score"] == pytest.approx(row["Score"], abs=1e-9)

    ours_pairs = pair_scores(r, s, prep.kinds)
    trends = ColumnPairTrends()
    all_pairs = trends.get_score(r, s, meta)
    for _, row in trends.details.iterrows():
        mine = ours_pairs[f"{row['Column 1']}|{row['Column 2']}"]
        assert mine["metric"] == row["Metric"]
        assert mine["score"] == pytest.approx(row["Score"], abs=1e-9)
    thresholded, all_mean, _ = summarize_pairs(ours_pairs)
    assert all_mean == pytest.approx(all_pairs, abs=0.01)

    report = QualityReport()
    report.generate(r, s, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    assert np.mean([c["score"] for c in ours_cols.values()]) == pytest.approx(props["Column Shapes"], abs=0.01)
    assert thresholded == pytest.approx(props["Column Pair Trends"], abs=0.01)


def test_per_column_distances_are_normalized(adult_split):
    train = adult_split["train"]
    shifted = train.copy()
    shifted["age"] = shifted["age"] + 10
    kinds = prepare(train, train, None, None, max_rows=20_000, seed=0).kinds
    cols = column_scores(train, shifted, kinds)
    same = column_scores(train, train.copy(), kinds)
    assert same["age"]["wasserstein"] == pytest.approx(0.0) and same["age"]["jensen_shannon"] == pytest.approx(0.0)
    q01, q99 = np.quantile(train["age"], [0.01, 0.99])
    assert cols["age"]["wasserstein"] == pytest.approx(10 / (q99 - q01), rel=1e-6)
    assert 0 < cols["age"]["jensen_shannon"] <= 1
    # categorical W1 under the 0/1 metric is the total variation distance
    assert cols["sex"]["wasserstein"] == pytest.approx(1 - cols["sex"]["score"])
    assert cols["age"]["score"] < 0.8 and same["age"]["score"] == 1.0
