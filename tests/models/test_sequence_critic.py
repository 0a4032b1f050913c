"""The sequence model's critic: boosted trees held as arrays, and the resampling they drive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from synthkit.models import sequence_critic
from synthkit.models.sequence_critic import CriticRounds, EntityCritic, length_strata, resample


def _summaries(rng: np.random.Generator, n: int, shift: float, scale: float) -> pd.DataFrame:
    frame = pd.DataFrame(rng.normal(shift, scale, size=(n, 3)), columns=["level", "step", "spread"])
    frame.loc[rng.random(n) < 0.15, "step"] = np.nan  # an entity read once has no step
    return frame


def test_the_array_trees_give_the_classifiers_own_log_odds():
    rng = np.random.default_rng(0)
    real, synthetic = _summaries(rng, 500, 0.0, 1.0), _summaries(rng, 500, 0.4, 1.3)
    critic = EntityCritic.fit(real, synthetic, seed=3)
    x = np.vstack([real.to_numpy(), synthetic.to_numpy()])
    clf = HistGradientBoostingClassifier(max_iter=sequence_critic.TREES, max_bins=sequence_critic.BINS,
                                         min_samples_leaf=sequence_critic.MIN_LEAF, early_stopping=False,
                                         random_state=3).fit(x, np.r_[np.ones(500), np.zeros(500)])
    probe = _summaries(rng, 300, 0.2, 1.5)
    probe.loc[::7, "level"] = np.inf  # read as missing, as an overflowing summary would be
    expected = clf.decision_function(np.where(np.isinf(probe.to_numpy()), np.nan, probe.to_numpy()))
    np.testing.assert_allclose(critic.log_odds(probe), expected, rtol=0, atol=1e-9)
    assert 0.0 < critic.slope <= 1.0
    np.testing.assert_allclose(critic.log_ratio(probe), critic.slope * expected, rtol=0, atol=1e-9)
    doc, tensors = critic.to_state()
    np.testing.assert_array_equal(EntityCritic.from_state(doc, tensors).log_ratio(probe), critic.log_ratio(probe))
    assert critic.log_ratio(probe[["spread", "level", "step"]]).tolist() == critic.log_ratio(probe).tolist()


def test_resampling_moves_a_shifted_pool_towards_the_real_summaries():
    rng = np.random.default_rng(1)
    real = _summaries(rng, 1000, 0.0, 1.0)
    critic = EntityCritic.fit(real, _summaries(rng, 1000, 0.6, 1.4), seed=0)
    pool = _summaries(rng, 4000, 0.6, 1.4)  # drawn as the critic's synthetic side was
    kept = pool.iloc[resample(critic.log_ratio(pool), 1000, np.random.default_rng(2))]
    assert len(kept) == 1000 and kept.index.is_monotonic_increasing and kept.index.is_unique
    for column in real.columns:
        assert abs(kept[column].mean() - real[column].mean()) < 0.5 * abs(pool[column].mean() - real[column].mean())
        assert abs(kept[column].std() - real[column].std()) < 0.5 * abs(pool[column].std() - real[column].std())
    again = resample(critic.log_ratio(pool), 1000, np.random.default_rng(2))
    assert again.tolist() == kept.index.tolist()


def test_rounds_add_their_log_ratios_and_keep_them_through_save_and_load():
    rng = np.random.default_rng(5)
    real = _summaries(rng, 400, 0.0, 1.0)
    first, second = (EntityCritic.fit(real, _summaries(rng, 400, shift, 1.2), seed=i) for i, shift in enumerate((0.5, 0.2)))
    rounds = CriticRounds([first, second])
    probe = _summaries(rng, 200, 0.3, 1.1)
    np.testing.assert_allclose(rounds.log_ratio(probe), first.log_ratio(probe) + second.log_ratio(probe), rtol=0, atol=1e-12)
    docs, tensors = rounds.to_state()
    assert len(docs) == 2 and {name.split(".")[0] for name in tensors} == {"critic0", "critic1"}
    np.testing.assert_array_equal(CriticRounds.from_state(docs, tensors).log_ratio(probe), rounds.log_ratio(probe))
    assert CriticRounds().log_ratio(probe).tolist() == [0.0] * 200  # no round: every entity weighs the same


@pytest.mark.parametrize("n", [5, 10])
def test_a_pool_no_larger_than_asked_is_kept_whole(n):
    assert resample(np.array([0.0, 3.0, -2.0, 1.0, 0.5]), n, np.random.default_rng(0)).tolist() == [0, 1, 2, 3, 4]


def test_strata_keep_their_share_of_the_pool_whatever_the_weights():
    rng = np.random.default_rng(4)
    strata = np.repeat([0, 1, 2], [500, 300, 200])
    log_ratio = np.where(strata == 0, 5.0, 0.0) + rng.normal(size=1000)  # the critic prefers stratum 0
    kept = resample(log_ratio, 100, np.random.default_rng(0), strata)
    assert np.bincount(strata[kept]).tolist() == [50, 30, 20] and len(set(kept.tolist())) == 100
    assert np.bincount(strata[resample(log_ratio, 100, np.random.default_rng(0))], minlength=3)[0] > 90
    inside = kept[strata[kept] == 1]  # within a stratum the weights still choose
    assert log_ratio[inside].mean() > log_ratio[strata == 1].mean() + 0.3


def test_fewer_entities_than_strata_go_to_strata_at_random():
    """Equal remainders are broken at random: with label order, 5 of 50 length strata always went
    to the 5 shortest."""
    strata = np.repeat(np.arange(50), 32)
    chosen = [strata[resample(np.zeros(len(strata)), 5, np.random.default_rng(seed), strata)] for seed in range(40)]
    assert all(len(set(c.tolist())) == 5 for c in chosen)  # one entity from each of 5 strata
    firsts = np.concatenate(chosen)
    assert firsts.max() >= 40 and np.mean(firsts) > 15  # not only the first strata


def test_length_strata_keep_equal_lengths_together():
    """Quantile groups of the lengths, but a tie is never split: a panel whose records all have 8
    years is one group (the critics choose freely), and stays of one length share a group."""
    assert set(length_strata(np.full(600, 8.0), 50).tolist()) == {0}
    lengths = np.random.default_rng(0).integers(1, 200, size=32_000).astype(float)
    strata = length_strata(lengths, 50)
    assert len(np.unique(strata)) == 50
    per_length = pd.Series(strata).groupby(lengths).nunique()
    assert (per_length == 1).all()  # every length in exactly one group
    assert (np.diff(pd.Series(lengths).groupby(strata).max().to_numpy()) > 0).all()  # groups ordered by length
    counts = np.bincount(strata)
    assert counts.min() > 0.6 * len(lengths) / 50 and counts.max() < 1.4 * len(lengths) / 50  # near equal shares
    three = length_strata(np.array([3.0, 1.0, 2.0]), 50)
    assert three[1] < three[2] < three[0] and length_strata(np.empty(0), 50).size == 0


def test_a_summary_no_entity_has_is_left_out_of_the_trees():
    """Stays two steps long have one gap each, so no spread of gaps: the trees' binning used to fail
    on that all-missing column (a sequence run on such stays crashed while fitting its critic)."""
    rng = np.random.default_rng(0)
    real, synthetic = _summaries(rng, 300, 0.0, 1.0), _summaries(rng, 300, 0.5, 1.0)
    real["gap_std"], synthetic["gap_std"] = np.nan, np.nan
    critic = EntityCritic.fit(real, synthetic, seed=0)
    assert "gap_std" not in critic.features and critic.features == ["level", "step", "spread"]
    odds = critic.log_ratio(pd.concat([real, synthetic]))
    assert np.isfinite(odds).all() and odds[:300].mean() > odds[300:].mean()  # it still tells the shifted draw apart
