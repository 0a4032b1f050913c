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
