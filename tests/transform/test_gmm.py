"""The 1-D mixture finds the modes that are there and prunes the ones that are not."""

from __future__ import annotations

import numpy as np

from synthkit.transform.gmm import fit_mixture, mode_posteriors


def test_finds_two_separated_modes():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-10, 1, 3000), rng.normal(20, 2, 1000)])
    mix = fit_mixture(x, np.random.default_rng(1), max_modes=10)
    # the heaviest mode near each true center, with about the right weight
    near_a = np.abs(mix.means - (-10)) < 2
    near_b = np.abs(mix.means - 20) < 3
    assert mix.weights[near_a].sum() > 0.7 and mix.weights[near_b].sum() > 0.2
    assert mix.weights.min() >= 0.005 and abs(mix.weights.sum() - 1) < 1e-9
    assert np.all(np.diff(mix.means) >= 0)


def test_spike_behind_a_tail_gets_its_own_narrow_mode():
    rng = np.random.default_rng(0)
    x = np.where(rng.random(5000) < 0.9, 0.0, rng.lognormal(8, 1, 5000))  # like "capital gain"
    mix = fit_mixture(x, rng)
    at_zero = np.argmin(np.abs(mix.means))
    assert abs(mix.means[at_zero]) < 1e-6 and mix.stds[at_zero] < 0.01 * x.std()
    assert mix.n_modes >= 2


def test_constant_and_empty_inputs():
    rng = np.random.default_rng(0)
    const = fit_mixture(np.full(100, 3.0), rng)
    assert const.n_modes == 1 and const.means[0] == 3.0 and const.stds[0] > 0
    assert fit_mixture(np.array([np.nan, np.nan]), rng).n_modes == 0


def test_posteriors_are_probabilities():
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    mix = fit_mixture(x, rng, max_modes=4)
    post = mode_posteriors(x, mix)
    assert post.shape == (500, mix.n_modes)
    np.testing.assert_allclose(post.sum(axis=1), 1.0)


def test_subsample_is_seeded():
    x = np.random.default_rng(0).gamma(2, 3, 50_000)
    a = fit_mixture(x, np.random.default_rng(5), max_samples=2000)
    b = fit_mixture(x, np.random.default_rng(5), max_samples=2000)
    np.testing.assert_array_equal(a.means, b.means)
