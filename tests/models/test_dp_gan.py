"""gan with differential privacy: DP-SGD on the critic only, DP code domains, no conditional vector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import ConfigError
from synthkit.models import Synthesizer, create

FAST = {"batch_size": 100, "embedding_dim": 8, "generator_dims": (16,), "critic_dims": (16,), "n_bins": 8}


@pytest.fixture(scope="module")
def data(adult_small: pd.DataFrame) -> pd.DataFrame:
    df = adult_small.iloc[:1000].copy()
    df.loc[5, "native-country"] = "Atlantis-Singleton"
    return df.reset_index(drop=True)


@pytest.fixture(scope="module")
def dp_gan(data: pd.DataFrame, one_torch_thread):
    pytest.importorskip("opacus", reason="opacus is in the optional dp extra")
    return create("gan", epsilon=2.0, delta=1e-6, epochs=2, seed=1, **FAST).fit(data)


def test_spent_epsilon_is_opacus_rdp_plus_the_preprocessing(dp_gan):
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    g = dp_gan.privacy_guarantee_
    (sigma, q, steps), = g["sgd_history"]  # one DP-SGD phase: the critic's
    assert steps == dp_gan.steps_ == 20 and sigma == dp_gan.noise_multiplier_ > 0 and q == pytest.approx(0.1)
    orders = RDPAccountant.DEFAULT_ALPHAS
    curve = compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders) \
        + g["rho_preprocessing_and_marginals"] * np.asarray(orders)
    expected, _ = get_privacy_spent(orders=orders, rdp=curve, delta=g["delta"] - g["delta_reserved_for_thresholds"])
    assert abs(g["epsilon_spent"] - expected) < 1e-6
    assert 0.9 * g["epsilon"] < g["epsilon_spent"] <= g["epsilon"]


def test_model_file_holds_no_raw_reads_and_round_trips(dp_gan, data, tmp_path: Path):
    dp_gan.save(tmp_path / "m")
    text = (tmp_path / "m" / "model.json").read_text()
    doc = json.loads(text)
    assert "Atlantis-Singleton" not in text
    # no TableEncoder (raw modes, ranges), no conditional-vector category counts, no exact losses
    assert not {"encoder", "extra", "loss_history"} & set(doc["state"])
    loaded = Synthesizer.load(tmp_path / "m")
    assert loaded.privacy_guarantee_ == dp_gan.privacy_guarantee_
    pd.testing.assert_frame_equal(loaded.sample(300, seed=4), dp_gan.sample(300, seed=4))
    out = dp_gan.sample(3000, seed=0)
    assert list(out.columns) == list(data.columns) and "Atlantis-Singleton" not in set(out["native-country"].dropna())


def test_training_stops_at_the_budget_and_bad_settings_are_refused(data, one_torch_thread):
    pytest.importorskip("opacus", reason="opacus is in the optional dp extra")
    model = create("gan", epsilon=1.0, noise_multiplier=3.0, epochs=50, seed=0, **FAST).fit(data.iloc[:500])
    assert model.stop_reason_ == "budget" and model.privacy_guarantee_["epsilon_spent"] <= 1.0
    reference = create("gan", dp=True, epochs=1, seed=0, **FAST).fit(data.iloc[:300])  # ε = ∞: clipping, no noise
    assert reference.privacy_guarantee_ is None and reference.noise_multiplier_ == 0.0
    for params, match in [({"epsilon": 1.0, "dp": False}, "dp=False"), ({"epsilon": 1.0, "max_grad_norm": 0}, "max_grad_norm"),
                          ({"epsilon": 1.0, "epochs": None, "max_minutes": 1.0}, "epochs")]:
        with pytest.raises(ConfigError, match=match):
            create("gan", **{**FAST, **params}).fit(data.iloc[:50])
