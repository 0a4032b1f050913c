"""vae: ELBO training with early stopping, sampling modes, learning on real data."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from synthkit.errors import ConfigError
from synthkit.models import create

FAST = {"epochs": 3, "batch_size": 200, "latent_dim": 16, "encoder_dims": (64,), "decoder_dims": (64,)}


@pytest.fixture(scope="module")
def fitted_vae(adult_small: pd.DataFrame):
    return create("vae", seed=1, **{**FAST, "epochs": 15, "patience": 3}).fit(adult_small)


def test_validation_loss_is_tracked_and_best_weights_kept(fitted_vae):
    history = fitted_vae.loss_history_
    assert all("val_loss" in e and {"loss", "recon", "kl"} <= set(e) for e in history)
    assert history[-1]["loss"] < history[0]["loss"]
    assert fitted_vae.stop_reason_ in ("epochs", "early_stopping")
    if fitted_vae.stop_reason_ == "early_stopping":
        assert len(history) < 15


def test_learns_marginals(fitted_vae, adult_small):
    out = fitted_vae.sample(4000, seed=0)
    for col in ["sex", "income", "race"]:
        real = adult_small[col].value_counts(normalize=True)
        fake = out[col].value_counts(normalize=True).reindex(real.index, fill_value=0)
        assert 0.5 * (real - fake).abs().sum() < 0.2, col
    assert abs(out["age"].median() - adult_small["age"].median()) < 8
    sigma = fitted_vae.decoder_.sigma.detach()
    assert torch.all(sigma >= 0.01) and torch.all(sigma <= 1.0)


def test_argmax_categories_and_quantile_encoding(adult_small):
    model = create("vae", seed=0, **{**FAST, "sample_categories": "argmax", "numeric_encoding": "quantile"})
    out = model.fit(adult_small).sample(500, seed=0)
    assert out["age"].notna().all() and set(out["sex"]) <= set(adult_small["sex"])
    assert model.encoder_.encoder("age").method == "quantile"


def test_time_budget(adult_small):
    model = create("vae", seed=0, **{**FAST, "epochs": None, "max_minutes": 0.01}).fit(adult_small)
    assert model.stop_reason_ == "time"


@pytest.mark.parametrize("params, match", [
    ({"latent_dim": 0}, "latent_dim"), ({"loss_factor": 0}, "loss_factor"), ({"sample_categories": "mode"}, "sample_categories"),
    ({"validation_fraction": 0.9}, "validation_fraction"), ({"max_modes": 0}, "max_modes"), ({"device": "tpu"}, "device"),
])
def test_bad_parameters_are_clear_errors(adult_small, params, match):
    with pytest.raises(ConfigError, match=match):
        create("vae", **{**FAST, **params}).fit(adult_small.iloc[:50])


# -- differential privacy (epsilon=...): DP-SGD through opacus over DP-released code domains --------------

DP_FAST = {"batch_size": 100, "latent_dim": 4, "encoder_dims": (16,), "decoder_dims": (16,), "n_bins": 8}


@pytest.fixture(scope="module")
def dp_data(adult_small: pd.DataFrame) -> pd.DataFrame:
    df = adult_small.iloc[:1000].copy()
    df.loc[5, "native-country"] = "Atlantis-Singleton"
    df.loc[6, "occupation"] = "Dragon-tamer"
    return df.reset_index(drop=True)


@pytest.fixture(scope="module")
def dp_vae(dp_data: pd.DataFrame, one_torch_thread):
    pytest.importorskip("opacus", reason="opacus is in the optional dp extra")
    return create("vae", epsilon=2.0, delta=1e-6, epochs=3, seed=1, **DP_FAST).fit(dp_data)


def test_dp_recorded_epsilon_equals_opacus_rdp_accountant(dp_vae):
    import numpy as np
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    from synthkit.privacy import dp_metrics, rdp_epsilon

    g = dp_vae.privacy_guarantee_
    assert g["mechanism"] == "dp-sgd" and g["epsilon"] == 2.0 and g["delta"] == 1e-6
    (sigma, q, steps), = g["sgd_history"]
    assert steps == dp_vae.steps_ == 30 and sigma == dp_vae.noise_multiplier_ > 0 and q == pytest.approx(0.1)
    delta = g["delta"] - g["delta_reserved_for_thresholds"]
    acc = RDPAccountant()
    for _ in range(steps):
        acc.step(noise_multiplier=sigma, sample_rate=q)
    assert abs(rdp_epsilon([(sigma, q, steps)], delta)[0] - acc.get_epsilon(delta=delta)) < 1e-6
    orders = RDPAccountant.DEFAULT_ALPHAS
    curve = compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders) \
        + g["rho_preprocessing_and_marginals"] * np.asarray(orders)
    expected, _ = get_privacy_spent(orders=orders, rdp=curve, delta=delta)
    assert abs(g["epsilon_spent"] - expected) < 1e-6
    assert 0.9 * g["epsilon"] < g["epsilon_spent"] <= g["epsilon"]
    # what the pipeline puts in metrics.json / the report
    dp = dp_metrics(dp_vae)
    assert dp["epsilon_spent"] == g["epsilon_spent"] and dp["statement"].startswith("(2, 1e-6)-differential privacy")


def test_dp_training_refuses_to_exceed_the_budget(dp_data, one_torch_thread):
    pytest.importorskip("opacus", reason="opacus is in the optional dp extra")
    from synthkit.privacy import rdp_epsilon

    model = create("vae", epsilon=1.0, noise_multiplier=3.0, epochs=50, seed=0, **DP_FAST).fit(dp_data.iloc[:500])
    g = model.privacy_guarantee_
    assert model.stop_reason_ == "budget" and 0 < model.steps_ < 50 * 5
    assert g["epsilon_spent"] <= 1.0
    sigma, q, steps = g["sgd_history"][0]
    assert steps == model.steps_
    one_more = rdp_epsilon([(sigma, q, steps + 1)], g["delta"] - g["delta_reserved_for_thresholds"],
                           g["rho_preprocessing_and_marginals"])[0]
    assert one_more > 1.0  # the next step would have overspent
    with pytest.raises(ConfigError, match="too small"):
        create("vae", epsilon=0.1, noise_multiplier=0.05, epochs=1, **DP_FAST).fit(dp_data.iloc[:200])


def test_dp_singleton_category_never_reaches_model_file_or_output(dp_vae, tmp_path):
    dp_vae.save(tmp_path / "m")
    text = (tmp_path / "m" / "model.json").read_text()
    assert "Atlantis-Singleton" not in text and "Dragon-tamer" not in text
    out = dp_vae.sample(4000, seed=0)
    assert "Atlantis-Singleton" not in set(out["native-country"].dropna())
    assert "Dragon-tamer" not in set(out["occupation"].dropna())


def test_dp_encoder_holds_only_dp_releases_or_public_bounds(dp_vae, dp_data, tmp_path):
    import json
    import math

    dp_vae.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert "encoder" not in doc["state"] and "loss_history" not in doc["state"]  # no raw-data TableEncoder, no exact losses
    columns = {c["column"]: c for c in doc["state"]["discretizer"]["columns"]}
    for name in ("age", "fnlwgt", "capital-gain", "hours-per-week"):
        spec = columns[name]
        assert spec["bounds_source"] == "dp"
        # bounds are edges of the public ±2^k grid, not the raw minimum / maximum
        assert (spec["low"], spec["high"]) != (float(dp_data[name].min()), float(dp_data[name].max()))
        for edge in (spec["low"], spec["high"]):
            assert edge == 0 or math.log2(abs(edge)).is_integer(), (name, edge)
    for name in ("age", "fnlwgt"):
        assert doc["schema"]["columns"][[c["name"] for c in doc["schema"]["columns"]].index(name)].get("low") \
            in (None, columns[name]["low"])
    for col in doc["metadata"]["tables"][next(iter(doc["metadata"]["tables"]))]["columns"]:
        assert col["cardinality"] is None and set(col.get("stats", {})) <= {"public_bounds", "public_categories"}
    # public bounds from the user are used as given (and charged nothing); values outside are clipped to them
    model = create("vae", epsilon=5.0, epochs=1, seed=0, bounds={"age": [10, 100]},
                   categories={"sex": ["Female", "Male", "Other"]}, **DP_FAST).fit(dp_data.iloc[:300])
    age = model.discretizer_.spec("age")
    assert (age["low"], age["high"], age["bounds_source"]) == (10.0, 100.0, "public")
    out = model.sample(500, seed=1)
    assert out["age"].between(10, 100).all() and set(out["sex"]) <= {"Female", "Male", "Other"}


def test_dp_round_trip_reference_run_and_errors(dp_vae, dp_data, tmp_path):
    from synthkit.models import Synthesizer

    dp_vae.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert loaded.privacy_guarantee_ == dp_vae.privacy_guarantee_
    pd.testing.assert_frame_equal(loaded.sample(100, seed=4), dp_vae.sample(100, seed=4))
    # dp=True without epsilon: the same DP pipeline without noise (the ε = ∞ point), no guarantee claimed
    ref = create("vae", dp=True, epochs=1, seed=0, **DP_FAST).fit(dp_data.iloc[:300])
    assert ref.privacy_guarantee_ is None and ref.noise_multiplier_ == 0.0
    assert ref.discretizer_.spec("age")["bounds_source"] == "data (no DP)"
    for params, match in [({"epsilon": 1.0, "dp": False}, "dp=False"), ({"epsilon": 1.0, "patience": 3}, "early stopping"),
                          ({"noise_multiplier": 1.0}, "only apply"), ({"epsilon": 1.0, "max_grad_norm": 0}, "max_grad_norm"),
                          ({"epsilon": -1.0}, "epsilon"), ({"epsilon": 1.0, "delta": 2.0}, "delta"),
                          ({"epsilon": 1.0, "epochs": None, "max_minutes": 1.0}, "epochs"),
                          ({"epsilon": 1.0, "grad_clip": 1.0}, "max_grad_norm")]:
        with pytest.raises(ConfigError, match=match):
            create("vae", **{**DP_FAST, **params}).fit(dp_data.iloc[:50])
