"""dp-vae: DP-SGD through opacus; ε recorded = opacus' RDP accountant; the budget is a hard stop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import ConfigError
from synthkit.models import Synthesizer, create
from synthkit.privacy import describe_guarantee

opacus = pytest.importorskip("opacus", reason="opacus is in the optional dp extra")

FAST = {"hidden": 16, "latent": 4, "batch_size": 100, "n_bins": 8}


@pytest.fixture(scope="module")
def data(adult_small: pd.DataFrame) -> pd.DataFrame:
    df = adult_small.iloc[:1000].copy()
    df.loc[3, "native-country"] = "Atlantis-Singleton"
    return df.reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(data: pd.DataFrame):
    return create("dp-vae", epsilon=2.0, delta=1e-6, epochs=3, seed=1, **FAST).fit(data)


def test_recorded_epsilon_equals_opacus_rdp_accountant(fitted):
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    g = fitted.privacy_guarantee_
    assert g["mechanism"] == "dp-sgd" and g["delta"] == 1e-6 and g["epsilon"] == 2.0
    (sigma, q, steps), = g["sgd_history"]
    assert steps == fitted.steps_ > 0 and sigma == fitted.noise_multiplier_
    delta = g["delta"] - g["delta_reserved_for_thresholds"]
    acc = RDPAccountant()
    acc.history = [(sigma, q, steps)]
    # the DP-SGD part alone is exactly opacus' accountant ...
    from synthkit.privacy import rdp_epsilon

    assert abs(rdp_epsilon([(sigma, q, steps)], delta)[0] - acc.get_epsilon(delta=delta)) < 1e-6
    # ... and the total adds the preprocessing's ρ-zCDP as ρ·α at every RDP order
    orders = RDPAccountant.DEFAULT_ALPHAS
    curve = compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders) + g["rho_preprocessing_and_marginals"] * np.asarray(orders)
    expected, _ = get_privacy_spent(orders=orders, rdp=curve, delta=delta)
    assert abs(g["epsilon_spent"] - expected) < 1e-6
    assert expected <= g["epsilon"]
    assert g["epsilon_spent"] > 0.9 * g["epsilon"]  # noise calibrated to spend (almost) all of it


def test_training_stops_when_the_budget_is_spent(data):
    model = create("dp-vae", epsilon=3.0, noise_multiplier=1.0, epochs=50, seed=0, **FAST).fit(data)
    g = model.privacy_guarantee_
    assert model.stop_reason_ == "budget"
    assert 0 < model.steps_ < 50 * len(data) / FAST["batch_size"]
    assert g["epsilon_spent"] <= 3.0
    from synthkit.privacy import rdp_epsilon

    sigma, q, steps = g["sgd_history"][0]
    one_more = rdp_epsilon([(sigma, q, steps + 1)], g["delta"] - g["delta_reserved_for_thresholds"],
                           g["rho_preprocessing_and_marginals"])[0]
    assert one_more > 3.0  # the next step would have overspent


def test_noise_too_small_for_any_step_is_refused(data):
    with pytest.raises(ConfigError, match="too small"):
        create("dp-vae", epsilon=0.1, noise_multiplier=0.05, epochs=1, **FAST).fit(data)


def test_singleton_category_never_reaches_model_file_or_output(fitted, tmp_path: Path):
    fitted.save(tmp_path / "m")
    assert "Atlantis-Singleton" not in (tmp_path / "m" / "model.json").read_text()
    out = fitted.sample(5000, seed=0)
    assert "Atlantis-Singleton" not in set(out["native-country"].dropna())


def test_guarantee_round_trips_and_reads_in_words(fitted, tmp_path: Path):
    fitted.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert loaded.privacy_guarantee_ == fitted.privacy_guarantee_
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["state"]["privacy_guarantee"]["epsilon_spent"] == fitted.privacy_guarantee_["epsilon_spent"]
    assert "loss_history" not in doc["state"]  # exact training losses are not DP outputs
    pd.testing.assert_frame_equal(loaded.sample(50, seed=4), fitted.sample(50, seed=4))
    assert describe_guarantee(loaded.privacy_guarantee_).startswith("(2, 1e-6)-differential privacy")


def test_without_epsilon_there_is_no_guarantee(data):
    model = create("dp-vae", epsilon=None, epochs=1, **FAST).fit(data.iloc[:300])
    assert model.privacy_guarantee_ is None
    assert describe_guarantee(model.privacy_guarantee_).startswith("No formal")


def test_bad_params_are_clear_errors(data):
    for bad in ({"max_grad_norm": 0}, {"noise_multiplier": -1.0}, {"epochs": 0}, {"epsilon": 0}):
        with pytest.raises(ConfigError):
            create("dp-vae", **{**FAST, **bad}).fit(data.iloc[:100])
