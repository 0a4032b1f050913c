"""scikit-learn parameter semantics for every registered model, of every protocol.

``get_params`` returns the constructor's flat keys (what YAML ``model.params`` holds), the same keys
rebuild the same model, ``set_params`` changes them (unknown names are a clear error), and
``clone(model)`` is an unfitted copy with equal, independent parameters.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from synthkit.errors import ConfigError, NotFittedError
from synthkit.models import available, clone, create, get
from synthkit.models.params import DPParams, NeuralParams

ALL = available()


def _canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=list)


@pytest.mark.parametrize("name", ALL)
def test_get_params_round_trips_through_flat_yaml_keys(name):
    model = create(name, **get(name).test_params)
    params = model.get_params()
    assert "seed" in params and "metadata" not in params
    assert all(not k.endswith("_") for k in params)
    rebuilt = create(name, **json.loads(_canonical(params)))  # what a YAML file would give back
    assert _canonical(rebuilt.get_params()) == _canonical(params)
    assert model.get_params(deep=False) == params


@pytest.mark.parametrize("name", ALL)
def test_set_params_changes_parameters_and_refuses_unknown_ones(name):
    model = create(name, **get(name).test_params)
    before = model.get_params()
    assert model.set_params(seed=123) is model
    after = model.get_params()
    assert after["seed"] == 123 and {k: v for k, v in after.items() if k != "seed"} == {
        k: v for k, v in before.items() if k != "seed"}
    with pytest.raises(ConfigError, match="not_a_parameter"):
        model.set_params(not_a_parameter=1)


@pytest.mark.parametrize("name", ALL)
def test_clone_is_an_unfitted_copy_with_independent_equal_parameters(name):
    model = create(name, **get(name).test_params, seed=5)
    copy = clone(model)
    assert type(copy) is type(model) and copy is not model
    assert _canonical(copy.get_params()) == _canonical(model.get_params())
    for key, value in model.get_params().items():
        if isinstance(value, (dict, list)):
            assert copy.get_params()[key] is not value, f"{name}: {key} is shared, not copied"
    with pytest.raises(NotFittedError):
        copy.sample(3)


def test_clone_of_a_fitted_model_is_unfitted_and_keeps_given_metadata(adult_small: pd.DataFrame):
    from synthkit.profile import profile

    data = adult_small.iloc[:300]
    meta = profile(data)
    model = create("copula", metadata=meta, seed=3).fit(data)
    copy = clone(model)
    with pytest.raises(NotFittedError):
        copy.sample(3)
    assert copy.metadata == meta and copy.metadata is not meta
    pd.testing.assert_frame_equal(copy.fit(data).sample(50, seed=1), model.sample(50, seed=1))
    assert clone(create("copula")).metadata is None  # metadata profiled by fit is learned, not given


def test_set_params_keeps_derived_settings_consistent():
    model = create("dp-vae", hidden=16)
    model.set_params(hidden=8)
    assert model.hidden == 8 and model.encoder_dims == (8, 8) == model.decoder_dims
    with pytest.raises(ConfigError):
        clone(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["gan", "vae"])
def test_parameter_objects_match_flat_keys(name):
    neural = NeuralParams(epochs=2, batch_size=100, device="cpu")
    privacy = DPParams(epsilon=5.0, max_grad_norm=2.0, n_bins=10)
    by_object = create(name, neural=neural, privacy=privacy)
    by_keys = create(name, epochs=2, batch_size=100, device="cpu", epsilon=5.0, max_grad_norm=2.0, n_bins=10)
    assert _canonical(by_object.get_params()) == _canonical(by_keys.get_params())
    assert by_object.neural_params == neural and by_keys.dp_params == privacy
    assert "neural" not in by_keys.get_params() and "privacy" not in by_keys.get_params()
    # each model keeps its own defaults for keys not given
    assert create(name).get_params()["epochs"] == {"gan": 100, "vae": 150}[name]
    with pytest.raises(ConfigError, match="once"):
        create(name, neural=neural, epochs=3)
    with pytest.raises(ConfigError, match="NeuralParams"):
        create(name, neural={"epochs": 3})
    with pytest.raises(TypeError, match="not_a_parameter"):
        create(name, not_a_parameter=3)
