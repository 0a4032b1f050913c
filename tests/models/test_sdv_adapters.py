"""SDV adapters behind the synthkit contract (skipped when the optional sdv extra is absent)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sdv", reason="sdv is in the optional sdv extra")

from synthkit.errors import ConfigError, ModelError
from synthkit.models import available, create
from synthkit.profile import profile


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_adapters_are_registered():
    assert {"sdv-copula", "sdv-ctgan", "sdv-tvae"} <= set(available())


def test_copula_adapter_learns_and_conditions(adult_small):
    model = create("sdv-copula").fit(adult_small)
    out = model.sample(2000, seed=0)
    assert list(out.columns) == list(adult_small.columns)
    assert abs((out["sex"] == "Male").mean() - (adult_small["sex"] == "Male").mean()) < 0.05
    assert abs(out["age"].median() - adult_small["age"].median()) < 4
    females = model.sample(200, seed=1, conditions={"sex": "Female"})
    assert (females["sex"] == "Female").all()


def test_pii_never_reaches_sdv(adult_small):
    df = adult_small.iloc[:300].copy()
    df["email"] = [f"person{i}@example.org" for i in range(len(df))]
    metadata = profile(df)
    metadata.table().column("email").pii = "email"
    model = create("sdv-copula", metadata=metadata).fit(df)
    sdv_columns = model.sdv_synthesizer_.get_metadata().get_column_names()
    assert "email" not in sdv_columns and "age" in sdv_columns
    out = model.sample(100, seed=0)
    assert not set(out["email"]) & set(df["email"])


def test_save_refuses_because_sdv_needs_pickle(adult_small, tmp_path):
    model = create("sdv-copula").fit(adult_small.iloc[:200])
    with pytest.raises(ModelError, match="without pickle"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_time_budget_sizes_the_epochs(adult_small):
    small = adult_small[["age", "sex", "income"]].iloc[:500]
    model = create("sdv-tvae", epochs=2000, batch_size=100, embedding_dim=8, layer_size=16, max_minutes=0.01, seed=0)
    model.fit(small)
    info = model.fit_info_
    assert 1 <= info["epochs"] < 2000
    assert info["seconds_per_epoch"] > 0 and info["probe_seconds"] > 0
    assert np.isfinite(model.sample(50, seed=0)["age"]).all()


def test_bad_parameters_are_clear_errors(adult_small):
    with pytest.raises(ConfigError, match="multiple of 10"):
        create("sdv-ctgan", batch_size=55).fit(adult_small.iloc[:50])
    with pytest.raises(ConfigError, match="epochs"):
        create("sdv-tvae", epochs=0).fit(adult_small.iloc[:50])
