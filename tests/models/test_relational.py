"""Contract of the ``relational`` synthesizer on the bundled Synthea sample, and the medical helpers.

Keys: 0 orphans, fresh unique primary keys, a second foreign key consistent with the chain;
dates: no child before its patient's birth; medical: code ↔ description/unit pairs never mixed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import Dataset
from synthkit.models import MultiTableSynthesizer, Synthesizer, create, get
from synthkit.models.medical import CodeBook, join_mixed, shift_dates, split_mixed
from synthkit.meta import Relationship


@pytest.fixture(scope="module")
def ehr() -> Dataset:
    """15 patients of the Synthea sample with all their encounters, conditions and observations."""
    from synthkit.datasets import load

    full = load("ehr")
    patients = full["patients"].iloc[:15]
    keep = set(patients["Id"])
    enc = full["encounters"][full["encounters"]["PATIENT"].isin(keep)]
    tables = {"patients": patients, "encounters": enc,
              "conditions": full["conditions"][full["conditions"]["PATIENT"].isin(keep)],
              "observations": full["observations"][full["observations"]["PATIENT"].isin(keep)]}
    return Dataset(tables={k: v.reset_index(drop=True) for k, v in tables.items()},
                   primary_keys=full.primary_keys, relationships=full.relationships)


@pytest.fixture(scope="module")
def fitted(ehr):
    return create("relational", **get("relational").test_params, seed=1).fit(ehr)


@pytest.fixture(scope="module")
def synthetic(fitted) -> Dataset:
    return fitted.sample(12, seed=0)


def test_registered_as_a_multi_table_model(synthetic):
    assert get("relational").name == "relational"
    assert get("relational").protocol is MultiTableSynthesizer
    assert isinstance(synthetic, Dataset) and isinstance(get("relational")(), MultiTableSynthesizer)
    assert synthetic.primary_keys["patients"] == "Id" and synthetic.validate().ok


def test_tables_columns_and_dtypes(synthetic, ehr):
    assert list(synthetic) == ["patients", "encounters", "conditions", "observations"]
    assert len(synthetic["patients"]) == 12
    for name, df in synthetic.items():
        assert list(df.columns) == list(ehr[name].columns), name
        for col in df.columns:
            assert df[col].dtype == ehr[name][col].dtype, f"{name}.{col}"
    assert len(synthetic["encounters"]) > 0 and len(synthetic["observations"]) > 0


def test_keys_are_valid_and_new(synthetic, ehr):
    report = Dataset(tables=synthetic, primary_keys=ehr.primary_keys, relationships=ehr.relationships).validate()
    assert report.ok, report.to_dict()  # 0 orphans, no duplicate or missing primary keys
    assert not set(synthetic["patients"]["Id"]) & set(ehr["patients"]["Id"])
    assert not set(synthetic["encounters"]["Id"]) & set(ehr["encounters"]["Id"])
    # the second foreign key agrees with the chain: a condition's patient is its encounter's patient
    enc_patient = synthetic["encounters"].set_index("Id")["PATIENT"]
    for child in ("conditions", "observations"):
        df = synthetic[child]
        assert (df["ENCOUNTER"].map(enc_patient) == df["PATIENT"]).all(), child


def test_no_child_is_dated_before_its_patients_birth(synthetic):
    born = synthetic["patients"].set_index("Id")["BIRTHDATE"]
    for table, cols in {"encounters": ["START", "STOP"], "conditions": ["START", "STOP"], "observations": ["DATE"]}.items():
        df = synthetic[table]
        floor = df["PATIENT"].map(born)
        for col in cols:
            values = df[col]
            assert ((values >= floor) | values.isna()).all(), f"{table}.{col}"
    enc = synthetic["encounters"]
    assert (enc["STOP"] >= enc["START"]).all()
    assert (enc.groupby("PATIENT", sort=False)["START"].diff().dropna() >= pd.Timedelta(0)).all()


def test_no_synthetic_date_is_a_real_timestamp(ehr):
    """Dates are built per synthetic patient (birth + learned offsets), never copied: clipping to the
    latest real date once put a third of all encounters on one real visit, down to the second."""
    model = create("relational", child_params={"epochs": 2, "hidden": 32, "embed": 16, "n_bins": 16}, seed=2,
                   date_shift_days=30).fit(ehr)
    made = model.sample(scale=2.0, seed=1)
    born = made["patients"]["BIRTHDATE"]
    assert not born.isin(set(ehr["patients"]["BIRTHDATE"])).any()  # shared birth dates moved too
    for table, cols in {"encounters": ["START", "STOP"], "conditions": ["START", "STOP"], "observations": ["DATE"]}.items():
        for col in cols:
            values = made[table][col].dropna()
            assert len(values) and not values.isin(set(ehr[table][col].dropna())).any(), f"{table}.{col}"
            assert values.max() < ehr[table][col].max() + pd.Timedelta(days=31), f"{table}.{col} runs past the data's end"


def test_code_description_and_unit_pairs_are_never_mixed(synthetic, ehr):
    for table, cols in {"conditions": ["CODE", "DESCRIPTION"], "encounters": ["CODE", "DESCRIPTION"],
                        "observations": ["CODE", "DESCRIPTION", "UNITS"]}.items():
        real = set(map(tuple, ehr[table][cols].astype(str).to_numpy()))
        made = set(map(tuple, synthetic[table][cols].astype(str).to_numpy()))
        assert made <= real, f"{table}: invented pairs {list(made - real)[:3]}"
    values = synthetic["observations"]
    numeric = pd.to_numeric(values["VALUE"], errors="coerce")
    assert numeric.notna().any() and values.loc[numeric.isna(), "VALUE"].dropna().isin(set(ehr["observations"]["VALUE"])).all()


def test_seed_reproduces_and_scale(fitted):
    a, b = fitted.sample(5, seed=3), fitted.sample(5, seed=3)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["encounters"].equals(fitted.sample(5, seed=4)["encounters"])
    assert len(fitted.sample(scale=2.0, seed=0)["patients"]) == 30


def test_save_load_round_trip_without_pickle(fitted, tmp_path: Path):
    fitted.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert type(loaded) is type(fitted)
    a, b = loaded.sample(4, seed=2), fitted.sample(4, seed=2)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    text = (tmp_path / "m" / "model.json").read_text()
    assert not any(key in text for key in fitted_keys(fitted))


def fitted_keys(model) -> list[str]:
    from synthkit.datasets import load

    return list(load("ehr")["patients"]["Id"].iloc[:15])


def test_dict_input_and_bad_input(ehr):
    tables = dict(ehr.tables)
    with pytest.raises(DataError, match="Dataset or a dict"):
        create("relational").fit([1, 2])
    with pytest.raises(DataError, match="PATIENTX"):
        create("relational").fit(tables, relationships=[Relationship(parent_table="patients", parent_key="Id",
                                                                      child_table="encounters", child_key="PATIENTX")])
    cyc = {"a": pd.DataFrame({"id": [1, 2], "b": [1, 2]}), "b": pd.DataFrame({"id": [1, 2], "a": [1, 2]})}
    rels = [Relationship(parent_table="a", parent_key="id", child_table="b", child_key="a"),
            Relationship(parent_table="b", parent_key="id", child_table="a", child_key="b")]
    with pytest.raises(DataError, match="cycle"):
        create("relational").fit(cyc, relationships=rels)
    with pytest.raises(DataError, match="empty"):
        create("relational").fit({"patients": tables["patients"].iloc[:0]})


# -- medical helpers -------------------------------------------------------------------------
def test_codebook_derives_descriptions_and_units_from_codes(ehr):
    obs = ehr["observations"]
    book = CodeBook.fit(obs, exclude=["PATIENT", "ENCOUNTER", "VALUE"])
    assert {"UNITS", "CATEGORY", "TYPE"} <= set(book.determinants)
    stripped = book.strip(obs)
    assert "UNITS" not in stripped.columns
    restored = book.restore(stripped, list(obs.columns))
    agree = (restored["UNITS"].fillna("") == obs["UNITS"].fillna("")).mean()
    assert agree > 0.999
    again = CodeBook.from_state(book.to_state())
    pd.testing.assert_frame_equal(again.restore(stripped, list(obs.columns)), restored)


def test_mixed_values_split_and_join():
    values = pd.Series(["49.2", "Never smoker", None, "7.0", "120.5"])
    numbers, text, decimals = split_mixed(values)
    assert numbers.tolist()[0] == 49.2 and np.isnan(numbers[1]) and text[1] == "Never smoker" and decimals == 1
    assert join_mixed(numbers, text, decimals).tolist()[:2] == ["49.2", "Never smoker"]
    assert split_mixed(pd.Series(["a", "b", "1"])) is None
    assert split_mixed(pd.Series(["239873007", "40055000"], name="CODE")) is None  # codes are labels


def test_shift_dates_is_one_shift_per_patient_in_every_table(ehr):
    shifted = shift_dates(dict(ehr.tables), ehr.relationships, "patients", "Id", max_days=100, seed=0)
    moved = shifted["patients"]["BIRTHDATE"] - ehr["patients"]["BIRTHDATE"]
    assert moved.abs().max() <= pd.Timedelta(days=100) and moved.nunique() > 1
    assert (moved != pd.Timedelta(0)).all()  # never left in place
    by_patient = pd.Series(moved.to_numpy(), index=ehr["patients"]["Id"])
    for table, col in (("encounters", "START"), ("conditions", "START"), ("observations", "DATE")):
        delta = shifted[table][col] - ehr[table][col]
        assert (delta == ehr[table]["PATIENT"].map(by_patient)).all(), table
    with pytest.raises(DataError, match="max_days"):
        shift_dates(dict(ehr.tables), ehr.relationships, "patients", "Id", max_days=-1)
