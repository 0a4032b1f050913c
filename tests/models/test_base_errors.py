"""The base contract refuses malformed conditions and damaged or foreign model files at once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from synthkit.errors import DataError, ModelError, ModelFileError
from synthkit.models import Synthesizer, create
from synthkit.models.base import _content_sha256


@pytest.fixture(scope="module")
def model(adult_small):
    return create("copula", n_quantiles=51).fit(adult_small.iloc[:300])


@pytest.mark.parametrize(
    "conditions, error, message",
    [
        (["sex", "Male"], DataError, "must map column names"),
        ({"sex": []}, DataError, "allows no value"),
        ({"sex": float("nan")}, DataError, "missing value"),
        ({"age": "abc"}, DataError, "needs numbers"),
        ({"age": float("inf")}, DataError, "needs finite numbers"),
        ({"nonesuch": 1}, DataError, "not a learned column"),
        ({"workclass": "Astronaut"}, ModelError, "unseen or too rare"),
    ],
)
def test_bad_conditions_are_refused_quickly(model, conditions, error, message):
    start = time.perf_counter()
    with pytest.raises(error, match=message):
        model.sample(50, conditions=conditions)
    # not a timing assertion on speed, a guard against the old minutes-long rejection loop
    assert time.perf_counter() - start < 60


def test_conditions_that_exist_are_met(model):
    out = model.sample(200, seed=0, conditions={"sex": "Female", "income": [">50K"]})
    assert set(out["sex"]) == {"Female"} and set(out["income"]) == {">50K"}


def test_rejection_draws_as_long_as_the_match_rate_can_finish(model):
    """A 1 % class (about 1 % of copula's rows here) at 5,000 rows needs ~500,000 draws: met (50
    draws per row wanted, the old fixed budget, refused it). 200,000 rows of a 0.3 % class would need
    ~60 million: refused after the first batch, saying so, instead of drawing up to the limit."""
    rare = model.sample(5_000, seed=0, conditions={"education": "5th-6th"})
    assert len(rare) == 5_000 and set(rare["education"]) == {"5th-6th"}
    with pytest.raises(ModelError, match=r"of 400,000 draws matched; 200,000 rows would need about [0-9,]+ draws, "
                                         r"over the limit of 20,000,000"):
        model.sample(200_000, seed=0, conditions={"education": "1st-4th"})  # one batch of 2n rows, then the verdict


def _edit(folder: Path, change) -> None:
    """Change model.json and make its checksum match again, as a careful attacker would."""
    doc = json.loads((folder / "model.json").read_text())
    change(doc)
    doc["state_sha256"] = _content_sha256(doc)
    (folder / "model.json").write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(model="gan"),
        lambda d: d["params"].update(exec="rm -rf /"),
        lambda d: d.pop("schema"),
        lambda d: d.update(fit_info="x"),
        lambda d: d.update(state={}),
        lambda d: d.update(model="nonesuch"),
    ],
    ids=["other-class", "unknown-param", "no-schema", "fit-info", "empty-state", "unknown-model"],
)
def test_foreign_or_damaged_model_files_are_refused(model, tmp_path, change):
    model.save(tmp_path / "m")
    _edit(tmp_path / "m", change)
    with pytest.raises(ModelFileError):
        Synthesizer.load(tmp_path / "m")


def test_params_are_covered_by_the_checksum(model, tmp_path):
    model.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    doc["params"]["n_quantiles"] = 3
    (tmp_path / "m" / "model.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="checksum"):
        Synthesizer.load(tmp_path / "m")


def test_deeply_nested_json_is_refused(model, tmp_path):
    model.save(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        Synthesizer.load(tmp_path / "m")
