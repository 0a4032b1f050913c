"""Constraints on sampled rows: bounds (clipping), fixed combinations and inequalities (rejection)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import ConfigError, ModelError
from synthkit.models import Synthesizer, create


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def table(adult_small) -> pd.DataFrame:
    df = adult_small[["age", "education", "education-num", "sex", "hours-per-week", "income"]].copy()
    rng = np.random.default_rng(0)
    df["start"] = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 300, len(df)), unit="D")
    df["end"] = df["start"] + pd.to_timedelta(rng.integers(0, 60, len(df)), unit="D")
    df["retire_age"] = df["age"] + rng.integers(0, 30, len(df))
    return df


def _violations(out: pd.DataFrame, real: pd.DataFrame) -> dict[str, int]:
    seen = set(zip(real["education"], real["education-num"]))
    return {
        "age": int(((out["age"] < 25) | (out["age"] > 60)).sum()),
        "combo": int(sum(pair not in seen for pair in zip(out["education"], out["education-num"].astype(str)))),
        "ineq": int((out["age"] > out["retire_age"]).sum()),
        "dates": int((out["start"] > out["end"]).sum()),
    }


CONSTRAINTS = [
    {"type": "bounds", "column": "age", "low": 25, "high": 60},
    {"type": "fixed_combinations", "columns": ["education", "sex"]},
    {"type": "inequality", "low": "age", "high": "retire_age"},
    {"type": "inequality", "low": "start", "high": "end"},
]


def test_copula_breaks_rules_that_constraints_then_enforce(table, tmp_path):
    free = create("copula").fit(table).sample(3000, seed=0)
    assert ((free["age"] < 25) | (free["age"] > 60)).sum() > 100
    assert (free["age"] > free["retire_age"]).sum() > 10  # the copula alone does not keep a <= b
    model = create("copula").fit(table, constraints=CONSTRAINTS)
    out = model.sample(3000, seed=0)
    assert len(out) == 3000
    assert out["age"].between(25, 60).all()
    assert (out["age"] <= out["retire_age"]).all()
    assert (out["start"] <= out["end"]).all()
    seen = set(zip(table["education"], table["sex"]))
    assert all(pair in seen for pair in zip(out["education"], out["sex"]))
    assert model.constraint_report_["age <= retire_age"] == 0.0
    # constraints travel in the model file (JSON) and still hold after loading
    model.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert [c["type"] for c in doc["constraints"]] == [c["type"] for c in CONSTRAINTS]
    loaded = Synthesizer.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.sample(500, seed=4), model.sample(500, seed=4))


def test_constraints_combine_with_conditions(table):
    model = create("copula").fit(table, constraints=[{"type": "bounds", "column": "age", "high": 40}])
    out = model.sample(300, seed=1, conditions={"sex": "Female"})
    assert (out["sex"] == "Female").all() and (out["age"] <= 40).all()


def test_datetime_bounds_are_given_as_dates(table):
    model = create("copula").fit(table, constraints=[{"type": "bounds", "column": "start", "low": "2021-03-01"}])
    assert (model.sample(500, seed=2)["start"] >= pd.Timestamp("2021-03-01")).all()


def test_impossible_constraints_are_reported(table):
    never = table.assign(floor=table["age"] + 100)
    model = create("copula").fit(never, constraints=[{"type": "inequality", "low": "floor", "high": "age"}])
    assert model.constraint_report_["floor <= age"] == 1.0  # every training row breaks it
    with pytest.raises(ModelError, match=r"floor <= age held for 0\.00%"):
        model.sample(100, seed=0)


@pytest.mark.parametrize("spec, message", [
    ({"type": "bounds", "column": "nope", "low": 1}, "not a learned column"),
    ({"type": "bounds", "column": "age", "low": 9, "high": 1}, "above high"),
    ({"type": "bounds", "column": "age"}, "give low, high or both"),
    ({"type": "bounds", "column": "sex", "low": 1}, "must be numerical"),
    ({"type": "inequality", "low": "age", "high": "sex"}, "must be numerical"),
    ({"type": "fixed_combinations", "columns": ["sex"]}, "at least two"),
    ({"type": "unique"}, "type one of"),
    ({"type": "bounds", "column": "age", "lo": 3}, "unexpected keyword"),
])
def test_bad_constraints_are_clear_errors(table, spec, message):
    with pytest.raises(ConfigError, match=message):
        create("copula").fit(table, constraints=[spec])


def test_arm_keeps_constraints_too(table):
    model = create("arm", epochs=3, hidden=16, embedding_dim=4, n_bins=8, seed=0)
    model.fit(table, constraints=[{"type": "bounds", "column": "hours-per-week", "low": 20, "high": 50},
                                  {"type": "inequality", "low": "age", "high": "retire_age", "strict": True}])
    out = model.sample(1000, seed=0)
    assert out["hours-per-week"].between(20, 50).all() and (out["age"] < out["retire_age"]).all()
