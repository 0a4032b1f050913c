"""dp-marginals (MST): budget recorded, only DP outputs stored, singletons never leak, ε orders quality."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import ConfigError
from synthkit.models import Synthesizer, create
from synthkit.privacy import cdp_eps, describe_guarantee, dp_metrics
from synthkit.profile import profile


@pytest.fixture(scope="module")
def data(adult_small: pd.DataFrame) -> pd.DataFrame:
    df = adult_small.copy()
    df.loc[7, "native-country"] = "Atlantis-Singleton"
    df.loc[8, "occupation"] = "Dragon-tamer"
    return df


def _pair_tvd(real: pd.DataFrame, synth: pd.DataFrame) -> float:
    pairs = [("sex", "income"), ("education", "income"), ("marital-status", "relationship"), ("race", "sex")]
    out = []
    for a, b in pairs:
        r = pd.crosstab(real[a], real[b], normalize=True)
        s = pd.crosstab(synth[a], synth[b], normalize=True).reindex(index=r.index, columns=r.columns).fillna(0)
        out.append(0.5 * float(np.abs(r - s).to_numpy().sum()) + 0.5 * float(1 - s.to_numpy().sum()))
    return float(np.mean(out))


def test_guarantee_is_recorded_saved_and_restored(data, tmp_path: Path):
    model = create("dp-marginals", epsilon=2.0, delta=1e-6, seed=3).fit(data)
    g = model.privacy_guarantee_
    assert g["epsilon"] == 2.0 and g["delta"] == 1e-6 and g["mechanism"] == "mst" and g["accountant"] == "zCDP"
    assert g["epsilon_spent"] == pytest.approx(2.0, rel=1e-6)
    assert g["epsilon_spent"] == pytest.approx(cdp_eps(g["rho_preprocessing_and_marginals"], 1e-6 - g["delta_reserved_for_thresholds"]))
    model.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert loaded.privacy_guarantee_ == g
    assert json.loads((tmp_path / "m" / "model.json").read_text())["state"]["privacy_guarantee"] == g
    assert describe_guarantee(loaded.privacy_guarantee_).startswith("(2, 1e-6)-differential privacy")
    metrics = dp_metrics(loaded)
    assert metrics["epsilon_spent"] == g["epsilon_spent"] and metrics["statement"].startswith("(2, 1e-6)")
    assert dp_metrics(create("copula")) is None


def test_singleton_categories_never_reach_the_model_file_or_output(data, tmp_path: Path):
    model = create("dp-marginals", epsilon=3.0).fit(data)
    model.save(tmp_path / "m")
    blob = (tmp_path / "m" / "model.json").read_text()
    assert "Atlantis-Singleton" not in blob and "Dragon-tamer" not in blob
    out = model.sample(20_000, seed=0)
    assert "Atlantis-Singleton" not in set(out["native-country"]) and "Dragon-tamer" not in set(out["occupation"])


def test_model_file_holds_no_data_derived_schema_or_metadata(data, tmp_path: Path):
    metadata = profile(data)
    metadata.table().column("hours-per-week").stats["public_bounds"] = [1, 99]
    model = create("dp-marginals", metadata=metadata, epsilon=1.0, bounds={"age": [17, 90]}).fit(data)
    doc = json.loads((model.save(tmp_path / "m") / "model.json").read_text())
    cols = {c["name"]: c for c in doc["schema"]["columns"]}
    assert (cols["age"]["low"], cols["age"]["high"]) == (17, 90)
    assert (cols["hours-per-week"]["low"], cols["hours-per-week"]["high"]) == (1, 99)
    # no public bounds: the range is a coarse DP release (powers of two), not the data's quantiles
    low, high = cols["fnlwgt"]["low"], cols["fnlwgt"]["high"]
    assert np.log2(high) == int(np.log2(high)) and np.log2(low) == int(np.log2(low))
    assert low <= data["fnlwgt"].median() <= high
    meta_cols = doc["metadata"]["tables"]["table"]["columns"]
    assert all(c["missing_share"] == 0.0 and c["cardinality"] is None for c in meta_cols)
    assert doc["metadata"]["tables"]["table"]["n_rows"] is None
    assert next(c for c in meta_cols if c["name"] == "hours-per-week")["stats"] == {"public_bounds": [1, 99]}


def test_lower_epsilon_gives_lower_fidelity(data):
    scores = {}
    for eps in (0.05, None):
        runs = [_pair_tvd(data, create("dp-marginals", epsilon=eps, seed=s).fit(data).sample(4000, seed=0)) for s in (0, 1)]
        scores[eps] = float(np.mean(runs))
    assert scores[None] < 0.06  # without noise MST keeps the pairwise structure
    assert scores[0.05] > scores[None]


def test_bad_budget_is_a_clear_error(data):
    for bad in ({"epsilon": -1}, {"epsilon": float("inf")}, {"delta": 2.0}, {"bounds": {"age": [5, 1]}},
                {"preprocessing_share": 0.7, "selection_share": 0.5}, {"bounds": {"nope": [0, 1]}}):
        with pytest.raises(ConfigError):
            create("dp-marginals", **bad).fit(data.iloc[:200])


def test_data_reading_constraints_are_refused_but_public_ones_work(data):
    with pytest.raises(ConfigError, match="fixed_combinations"):
        create("dp-marginals").fit(data, constraints=[{"type": "fixed_combinations", "columns": ["sex", "relationship"]}])
    model = create("dp-marginals", epsilon=3.0).fit(data, constraints=[{"type": "bounds", "column": "age", "low": 20, "high": 60}])
    assert model.sample(500, seed=0)["age"].between(20, 60).all()
