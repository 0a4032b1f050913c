"""DP preprocessing: released domains only, singletons never survive, codes round-trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthkit.privacy.mechanisms import dp_bounds, threshold_for
from synthkit.privacy.preprocess import MISSING_CODE_LABEL, DPDiscretizer


def _frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]).astype(object)
    color[0] = "singleton-violet"  # held by one row only
    color[1:4] = "rare-teal"        # held by three rows
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.1] = np.nan
    income = np.where(rng.random(n) < 0.6, 0.0, rng.lognormal(10, 1, n))
    return pd.DataFrame({"color": color, "age": age, "income": income})


def _fit(frame: pd.DataFrame, rho: float | None, **public) -> DPDiscretizer:
    return DPDiscretizer(n_bins=10).fit(frame, ["age", "income"], ["color"], rho, 1e-6, np.random.default_rng(0),
                                        public.get("bounds", {}), public.get("categories", {}), {"age": True})


def test_singletons_and_rare_categories_never_survive_the_threshold():
    frame = _frame()
    for seed in range(5):
        disc = DPDiscretizer(n_bins=10).fit(frame, ["age", "income"], ["color"], 0.5, 1e-6,
                                            np.random.default_rng(seed), {}, {}, {"age": True})
        labels = disc.spec("color")["labels"]
        assert {"red", "green", "blue"} <= set(labels)
        assert "singleton-violet" not in labels and "rare-teal" not in labels
        codes = disc.encode(frame, np.random.default_rng(1))
        back = disc.decode(codes, np.random.default_rng(2))
        assert set(back["color"].dropna()) <= {"red", "green", "blue"}
        assert "singleton-violet" not in str(disc.to_state())


def test_threshold_bounds_a_singletons_release_probability():
    sigma = 2.0
    tau = threshold_for(sigma, 1e-3)
    draws = 1 + np.random.default_rng(0).normal(0, sigma, 200_000)
    assert (draws > tau).mean() < 2e-3


def test_public_categories_fix_the_domain_without_thresholds():
    frame = _frame()
    disc = _fit(frame, 0.5, categories={"color": ["red", "green", "blue", "never-seen"]})
    labels = disc.spec("color")["labels"]
    assert set(labels) <= {"red", "green", "blue", "never-seen"}
    assert "singleton-violet" not in labels


def test_numeric_bounds_come_from_public_metadata_or_dp_not_from_extremes():
    frame = _frame()
    frame.loc[5, "income"] = 123_456_789.0  # one extreme outlier
    dp = _fit(frame, 0.5)
    assert dp.spec("income")["bounds_source"] == "dp"
    assert dp.spec("income")["high"] < 123_456_789.0  # the lone outlier does not set the range
    public = _fit(frame, 0.5, bounds={"age": (0, 120)})
    assert (public.spec("age")["low"], public.spec("age")["high"]) == (0, 120)
    low, high = dp_bounds(frame["age"].dropna().to_numpy(), 0.5, np.random.default_rng(0))
    assert low <= 18 and high >= 79 and high <= 256


def test_codes_round_trip_without_noise_keeps_integers_zeros_and_missing():
    frame = _frame()
    disc = _fit(frame, None)
    codes = disc.encode(frame, np.random.default_rng(0))
    assert codes.shape == (len(frame), 3) and codes.min() >= 0
    assert (codes.max(axis=0) < np.array(disc.sizes)).all()
    back = disc.decode(codes, np.random.default_rng(1))
    assert back["age"].isna().sum() == frame["age"].isna().sum()
    present = back["age"].dropna()
    assert (present == np.floor(present)).all() and present.between(18, 79).all()
    assert (back["income"] == 0).mean() == pytest.approx((frame["income"] == 0).mean())
    # every value is decoded inside its own bin
    starts = np.asarray(disc.spec("age")["bin_starts"])
    recoded = disc.encode(back, np.random.default_rng(2))
    assert (recoded[:, 1] == codes[:, 1]).all()
    assert MISSING_CODE_LABEL in disc.spec("age")["labels"]
    assert len(starts) <= 10


def test_noisy_release_is_seeded_and_state_round_trips():
    frame = _frame()
    a, b = _fit(frame, 0.2), _fit(frame, 0.2)
    assert a.to_state() == b.to_state()
    clone = DPDiscretizer.from_state(a.to_state())
    codes = a.encode(frame, np.random.default_rng(0))
    pd.testing.assert_frame_equal(a.decode(codes, np.random.default_rng(3)), clone.decode(codes, np.random.default_rng(3)))


def test_dp_bounds_of_small_data_are_not_stretched_by_noise_in_empty_buckets():
    # 300 rows and σ ≈ 16: a flat 3σ bar let one of ~160 empty buckets through one time in five
    values = np.random.default_rng(0).integers(20_000, 900_000, 300).astype(float)
    found = [dp_bounds(values, 0.002, np.random.default_rng(seed)) for seed in range(100)]
    assert all(f is not None for f in found)
    lows, highs = np.array([f[0] for f in found]), np.array([f[1] for f in found])
    assert (lows >= 2.0**13).all() and (highs <= 2.0**21).all(), (lows.min(), highs.max())


def test_quantile_bins_follow_the_data_not_the_noise_on_small_data():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": np.r_[rng.normal(100, 5, 290), rng.uniform(0, 1000, 10)]})
    disc = DPDiscretizer(n_bins=10).fit(frame, ["x"], [], 0.01, 0.0, np.random.default_rng(0), {"x": (0.0, 1000.0)}, {}, {})
    starts = np.asarray(disc.spec("x")["bin_starts"]) * disc.spec("x")["width"]
    # bins sit where the data is (around 100), not evenly over [0, 1000] (clipped noise mass: ~800 "rows")
    assert ((starts > 60) & (starts < 140)).sum() >= 3 and (starts < 300).all(), starts
