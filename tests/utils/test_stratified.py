"""Stratified uniforms: one per stratum of [0, 1), yet each position is an exact U(0, 1) draw."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from synthkit.utils.stratified import grouped_stratified_uniforms, stratified_uniforms, stratified_uniforms_torch


def _one_per_stratum(u: np.ndarray) -> bool:
    m = len(u)
    return bool((np.floor(np.sort(u) * m) == np.arange(m)).all())


def test_the_uniforms_hold_one_value_in_each_stratum():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 1000):
        assert _one_per_stratum(stratified_uniforms(n, rng))
        assert _one_per_stratum(stratified_uniforms_torch(n, torch.Generator().manual_seed(n)).double().numpy())
    assert len(stratified_uniforms(0, rng)) == 0


def test_each_row_is_still_an_exact_uniform_draw():
    """Row 3 of ten, over 2,000 seeds, is U(0, 1): stratifying must not bias any row's own draw."""
    firsts = np.array([stratified_uniforms(10, np.random.default_rng(s))[3] for s in range(2000)])
    assert stats.kstest(firsts, "uniform").pvalue > 0.01
    torch_firsts = np.array([float(stratified_uniforms_torch(10, torch.Generator().manual_seed(s))[3]) for s in range(2000)])
    assert stats.kstest(torch_firsts, "uniform").pvalue > 0.01


def test_groups_are_stratified_each_on_its_own():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 5, 997)
    u = grouped_stratified_uniforms(groups, rng)
    for g in range(5):
        assert _one_per_stratum(u[groups == g])
    # the same seed gives the same uniforms; another seed others
    np.testing.assert_array_equal(grouped_stratified_uniforms(groups, np.random.default_rng(2)),
                                  grouped_stratified_uniforms(groups, np.random.default_rng(2)))
    assert not np.array_equal(u, grouped_stratified_uniforms(groups, np.random.default_rng(2)))
    assert len(grouped_stratified_uniforms(np.array([], dtype=int), rng)) == 0
