"""Intervals of shares over rows that come in clusters (a synthetic patient's encounters)."""

from __future__ import annotations

import numpy as np
import pytest

from synthkit.evaluate.stats import clustered_share_ci, wilson


def test_independent_rows_give_wilsons_interval():
    wins = (np.random.default_rng(0).random(1000) < 0.3).astype(float)
    assert clustered_share_ci(wins, None) == wilson(wins.sum(), 1000)
    singletons = clustered_share_ci(wins, np.arange(1000))  # one row per cluster: n / (n - 1) at most
    np.testing.assert_allclose(singletons, wilson(wins.sum(), 1000), atol=1e-3)


def test_repeated_rows_of_a_cluster_count_once():
    per_patient = (np.random.default_rng(1).random(50) < 0.4).astype(float)
    wins, patients = np.repeat(per_patient, 20), np.repeat(np.arange(50), 20)  # 20 identical rows each
    lo, hi = clustered_share_ci(wins, patients)
    expected = wilson(per_patient.sum(), 50)
    np.testing.assert_allclose((lo, hi), expected, atol=0.01)  # the interval of 50 patients, not 1,000 rows
    row_lo, row_hi = wilson(wins.sum(), len(wins))
    assert hi - lo > 3 * (row_hi - row_lo)


def test_constant_shares_take_the_cautious_design_effect():
    zeros, patients = np.zeros(600), np.repeat(np.arange(30), 20)
    assert clustered_share_ci(zeros, patients) == pytest.approx(wilson(0.0, 30))  # 30 patients, not 600 rows
    assert clustered_share_ci(zeros, np.zeros(600)) == (0.0, 1.0)  # one cluster: nothing can be said
