"""Representative draws (:mod:`synthkit.models.representative`): rows chosen from a pool of the
model's own draws so that a small sample's columns and pairs follow the model's tables.

What must hold: the chosen rows' token and pair shares are much closer to the reference than as
many independent draws' are; every chosen row is a pool row, each at most once; the choice is a
function of its inputs; only pairs a sample can fill are matched, and above the cap the most
dependent ones; arm and bayesnet sample this way up to ``MAX_ROWS`` rows by default, conditions
still honoured, and ``representative=False`` giving independent draws.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import ConfigError
from synthkit.models import create
from synthkit.models import representative as rep


def correlated_tokens(n: int, seed: int) -> np.ndarray:
    """Five token columns (sizes 4, 6, 3, 5, 2) drawn from a chain: each depends on the one before."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    columns = []
    for size in (4, 6, 3, 5, 2):
        z = 0.8 * z + 0.6 * rng.normal(size=n)
        columns.append(np.clip(np.floor((z + 2.0) / 4.0 * size), 0, size - 1).astype(np.int64))
    return np.stack(columns, axis=1)


SIZES = [4, 6, 3, 5, 2]


def pair_error(tokens: np.ndarray, reference: np.ndarray, sizes: list[int]) -> float:
    """Mean total variation distance of every column's and every pair's shares to the reference's."""
    errors = []
    for a, b in [(j, j) for j in range(len(sizes))] + list(itertools.combinations(range(len(sizes)), 2)):
        cells = sizes[a] * sizes[b]

        def shares(t: np.ndarray) -> np.ndarray:
            return np.bincount(t[:, a] * sizes[b] + t[:, b], minlength=cells) / len(t)

        errors.append(0.5 * np.abs(shares(tokens) - shares(reference)).sum())
    return float(np.mean(errors))


def test_chosen_rows_follow_the_reference_far_closer_than_independent_draws() -> None:
    reference = correlated_tokens(50_000, seed=1)
    ratios = []
    for seed in range(3):
        pool = correlated_tokens(4 * 300, seed=10 + seed)
        picks = rep.select_rows(pool, reference, SIZES, 300)
        assert len(picks) == 300 and len(set(picks.tolist())) == 300 and picks.min() >= 0 and picks.max() < len(pool)
        independent = correlated_tokens(300, seed=20 + seed)
        ratios.append(pair_error(pool[picks], reference, SIZES) / pair_error(independent, reference, SIZES))
    # measured 0.12-0.19: a sixth of the noise of independent rows is left
    assert max(ratios) < 0.35, ratios


def test_the_choice_is_a_function_of_its_inputs_and_refuses_a_short_pool() -> None:
    reference, pool = correlated_tokens(5_000, seed=1), correlated_tokens(400, seed=2)
    first = rep.select_rows(pool, reference, SIZES, 100)
    assert np.array_equal(first, rep.select_rows(pool.copy(), reference.copy(), SIZES, 100))
    assert len(rep.select_rows(pool, reference, SIZES, 0)) == 0
    with pytest.raises(ValueError, match="cannot give"):
        rep.select_rows(pool[:50], reference, SIZES, 100)


def test_pairs_too_large_to_fill_are_left_out_and_above_the_cap_the_most_dependent_are_kept(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 100, size=(2_000, 2))
    slots = rep._Slots(wide, [100, 100])
    assert len(slots.first) == 2  # 10,000 cells > MAX_CELLS: the two columns alone
    monkeypatch.setattr(rep, "MAX_PAIRS", 2)
    reference = np.column_stack([correlated_tokens(5_000, seed=3)[:, :2], rng.integers(0, 3, size=(5_000, 2))])
    slots = rep._Slots(reference, [4, 6, 3, 3])
    pairs = set(zip(slots.first[4:].tolist(), slots.second[4:].tolist(), strict=True))
    assert len(pairs) == 2 and (0, 1) in pairs  # the one dependent pair among six


def test_wanted_follows_the_flag_then_the_size() -> None:
    assert rep.wanted(None, 500) and not rep.wanted(None, rep.MAX_ROWS + 1) and not rep.wanted(None, 0)
    assert rep.wanted(True, rep.MAX_ROWS + 1) and not rep.wanted(False, 10) and not rep.wanted(True, 0)
    with pytest.raises(ConfigError, match="representative"):
        rep.check_representative("yes")


def _category_pair_error(sample: pd.DataFrame, reference: pd.DataFrame, columns: list[str]) -> float:
    errors = []
    for a, b in itertools.combinations(columns, 2):
        joint = pd.concat([sample[[a, b]].assign(_src=0), reference[[a, b]].assign(_src=1)])
        table = pd.crosstab([joint[a], joint[b]], joint["_src"], normalize="columns")
        errors.append(0.5 * float(np.abs(table[0] - table[1]).sum()))
    return float(np.mean(errors))


@pytest.mark.parametrize("name", ["arm", "bayesnet"])
def test_models_draw_small_samples_representatively(name, adult_small) -> None:
    """(The same rows at any thread count, chunked pools included: ``test_chunked``, whose 3,000 rows
    are drawn representatively.)"""
    real = adult_small.head(1_500)
    params = {"epochs": 3, "min_steps": 0} if name == "arm" else {}
    model = create(name, seed=0, **params).fit(real)
    independent = create(name, seed=0, representative=False, **params).fit(real)
    reference = model.sample(100_000, seed=99)  # above MAX_ROWS: independent draws of the same model
    columns = ["workclass", "education", "marital-status", "relationship", "sex", "income"]
    chosen = [_category_pair_error(model.sample(400, seed=s), reference, columns) for s in range(3)]
    plain = [_category_pair_error(independent.sample(400, seed=s), reference, columns) for s in range(3)]
    # measured: arm 0.6 of the independent rows' error, bayesnet (whose draws are already stratified
    # within each tree parent's value) 0.76
    assert all(c < p for c, p in zip(chosen, plain, strict=True)) and np.mean(chosen) < 0.85 * np.mean(plain), (chosen, plain)
    rows = model.sample(700, seed=5)
    assert list(rows.columns) == list(real.columns) and len(rows) == 700
    pd.testing.assert_frame_equal(rows, model.sample(700, seed=5))


def test_arm_keeps_conditions_when_drawing_representatively(adult_small) -> None:
    model = create("arm", seed=0, epochs=2, min_steps=0, representative=True).fit(adult_small.head(1_000))
    rows = model.sample(300, seed=1, conditions={"sex": "Female", "income": [">50K"]})
    assert len(rows) == 300 and (rows["sex"] == "Female").all() and (rows["income"] == ">50K").all()


def test_beyond_max_rows_the_default_draws_independent_rows(adult_small, monkeypatch) -> None:
    monkeypatch.setattr(rep, "MAX_ROWS", 100)
    model = create("bayesnet", seed=0).fit(adult_small.head(800))
    independent = create("bayesnet", seed=0, representative=False).fit(adult_small.head(800))
    pd.testing.assert_frame_equal(model.sample(300, seed=3), independent.sample(300, seed=3))
    assert not model.sample(100, seed=3).equals(independent.sample(100, seed=3))
    with pytest.raises(ConfigError, match="representative"):
        create("arm", representative="always").fit(adult_small.head(200))


def test_a_large_sample_draws_its_pool_piece_by_piece_and_still_follows_the_model(adult_small, monkeypatch) -> None:
    monkeypatch.setattr(rep, "POOL_ROWS", 128)  # 400 rows: four pools of at most 4 x 128 rows
    drawn: list[int] = []
    select = rep._Herd.choose
    monkeypatch.setattr(rep._Herd, "choose", lambda self, pool, n: drawn.append(len(pool)) or select(self, pool, n))
    model = create("bayesnet", seed=0).fit(adult_small.head(1_500))
    independent = create("bayesnet", seed=0, representative=False).fit(adult_small.head(1_500))
    reference = independent.sample(100_000, seed=99)
    columns = ["workclass", "education", "marital-status", "relationship", "sex", "income"]
    rows = model.sample(400, seed=2)
    assert drawn == [512, 512, 512, 64] and len(rows) == 400
    pd.testing.assert_frame_equal(rows, model.sample(400, seed=2))
    assert _category_pair_error(rows, reference, columns) < _category_pair_error(independent.sample(400, seed=2),
                                                                                 reference, columns)
