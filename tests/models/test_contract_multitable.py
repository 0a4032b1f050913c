"""The contract of every ``MultiTableSynthesizer`` (tables linked by keys: ``fit(Dataset)``, ``sample -> Dataset``).

Run over ``available(MultiTableSynthesizer)`` on 8 real Synthea patients and their encounters
(bundled sample, with its real missing values: death dates, marital status, reason codes).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthkit.datasets import load
from synthkit.errors import DataError, NotFittedError, SynthkitError
from synthkit.io import Dataset
from synthkit.models import MultiTableSynthesizer, Synthesizer, available, clone, create, get

MODELS = available(MultiTableSynthesizer)


def _make(name: str, **extra) -> MultiTableSynthesizer:
    return create(name, **{**get(name).test_params, **extra})  # type: ignore[return-value]


@pytest.fixture(scope="module")
def ehr() -> Dataset:
    full = load("ehr")
    patients = full["patients"].iloc[:8].reset_index(drop=True)
    encounters = full["encounters"][full["encounters"]["PATIENT"].isin(set(patients["Id"]))].reset_index(drop=True)
    rels = [r for r in full.relationships if r.parent_table == "patients" and r.child_table == "encounters"]
    return Dataset(tables={"patients": patients, "encounters": encounters},
                   primary_keys={"patients": "Id", "encounters": "Id"}, relationships=rels)


@pytest.fixture(scope="module", params=MODELS)
def fitted(request, ehr) -> tuple[str, MultiTableSynthesizer]:
    return request.param, _make(request.param, seed=7).fit(ehr)


def test_every_multi_table_model_keeps_the_protocol():
    assert "relational" in MODELS
    for name in MODELS:
        assert get(name).protocol is MultiTableSynthesizer
        assert isinstance(create(name), MultiTableSynthesizer)


def test_same_tables_columns_dtypes_and_valid_keys(fitted, ehr):
    name, model = fitted
    out = model.sample(6, seed=1)
    assert isinstance(out, Dataset) and list(out) == list(ehr), name
    assert len(out["patients"]) == 6
    for table in ehr:
        assert list(out[table].columns) == list(ehr[table].columns), f"{name}: {table}"
        for col in ehr[table].columns:
            assert out[table][col].dtype == ehr[table][col].dtype, f"{name}: {table}.{col}"
    assert out.primary_keys == ehr.primary_keys and out.relationships == ehr.relationships
    assert out.validate().ok, out.validate().to_dict()  # no orphans, fresh unique keys
    assert not set(out["patients"]["Id"]) & set(ehr["patients"]["Id"])


def test_categories_stay_within_seen_set(fitted, ehr):
    name, model = fitted
    out = model.sample(8, seed=2)
    for table, cols in {"patients": ["GENDER", "RACE", "MARITAL"], "encounters": ["ENCOUNTERCLASS", "CODE"]}.items():
        for col in cols:
            assert set(out[table][col].dropna()) <= set(ehr[table][col].dropna()), f"{name}: {table}.{col}"


def test_missing_values_survive(fitted, ehr):
    name, model = fitted
    out = model.sample(20, seed=3)
    assert ehr["encounters"]["REASONCODE"].isna().mean() > 0.3
    assert out["encounters"]["REASONCODE"].isna().any() and out["encounters"]["REASONCODE"].notna().any(), name


def test_seed_reproduces(fitted):
    name, model = fitted
    a, b, c = model.sample(4, seed=5), model.sample(4, seed=5), model.sample(4, seed=6)
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], obj=f"{name}: {table}")
    assert not a["encounters"].equals(c["encounters"]), name


def test_fit_is_seeded(ehr):
    for name in MODELS:
        first = _make(name, seed=11)
        a = first.fit(ehr).sample(3, seed=0)
        b = clone(first).fit(ehr).sample(3, seed=0)
        for table in a:
            pd.testing.assert_frame_equal(a[table], b[table], obj=f"{name}: {table}")


def test_save_load_round_trip_without_pickle(fitted, tmp_path: Path, skip_unless_pickle_free, refuses_pickled_weights):
    name, model = fitted
    skip_unless_pickle_free(type(model))
    model.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert type(loaded) is type(model)
    a, b = loaded.sample(3, seed=9), model.sample(3, seed=9)
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], obj=f"{name}: {table}")
    refuses_pickled_weights(tmp_path / "m")


@pytest.mark.parametrize("name", MODELS)
def test_bad_input_is_a_clear_error(name, ehr):
    with pytest.raises(DataError):
        _make(name).fit(ehr["patients"])  # a DataFrame, not a Dataset
    empty = {"patients": ehr["patients"].iloc[:0], "encounters": ehr["encounters"]}
    with pytest.raises(DataError, match="empty"):
        _make(name).fit(empty, relationships=ehr.relationships)
    with pytest.raises(NotFittedError):
        _make(name).sample(3)


@pytest.mark.parametrize("n", [0, -5, 2.5, "ten"])
def test_bad_n_is_a_clear_error(fitted, n):
    _, model = fitted
    with pytest.raises(SynthkitError):
        model.sample(n)
