"""Profiling: kinds, statistics, PII, keys and relationships on real public data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import read
from synthkit.meta import Metadata
from synthkit.profile import profile
from synthkit.profile.pii import detect_pii


def test_adult_kinds_stats_and_no_pii(adult: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    meta = profile(adult[0], name="adult")
    table = meta.table()
    kinds = {c.name: c.kind for c in table.columns}
    assert kinds["age"] == "numerical" and kinds["fnlwgt"] == "numerical"
    assert kinds["workclass"] == "categorical" and kinds["income"] == "categorical"
    assert table.pii_columns == []
    assert table.primary_key is None and table.sequence_key is None
    age = table.column("age")
    assert age.stats["min"] == 17 and age.stats["max"] == 90 and age.stats["numeric_type"] == "discrete"
    assert age.stats["quantiles"]["0.5"] == pytest.approx(adult[0]["age"].median())
    assert table.column("fnlwgt").stats["numeric_type"] == "continuous"
    work = table.column("workclass")
    assert work.missing_share == pytest.approx(adult[0]["workclass"].isna().mean(), abs=1e-6)
    assert work.stats["top"][0]["value"] == "Private" and "Private" in work.stats["values"]
    assert all(t["count"] >= 5 for t in table.column("native-country").stats["top"])  # rare values withheld


def test_synthea_pii_keys_and_relationships(shared_datasets: Path) -> None:
    ds = read(shared_datasets / "synthea-ehr-sample")
    meta = profile(ds)
    patients = meta.tables["patients"]
    pii = {c.name: c.pii for c in patients.columns}
    assert pii["SSN"] == "ssn"
    assert patients.column("BIRTHDATE").kind == "datetime" and pii["BIRTHDATE"] == "date_of_birth"
    direct = {"SSN": "ssn", "DRIVERS": "drivers_license", "PASSPORT": "passport", "FIRST": "first_name",
              "LAST": "last_name", "MAIDEN": "last_name", "ADDRESS": "address", "ZIP": "zip",
              "LAT": "latitude", "LON": "longitude", "CITY": "city", "COUNTY": "city"}
    assert {k: pii[k] for k in direct} == direct
    assert {pii[c] for c in ("GENDER", "RACE", "ETHNICITY", "MARITAL", "HEALTHCARE_EXPENSES", "DEATHDATE")} == {"none"}
    assert patients.primary_key == "Id"
    # no raw extremes or value lists of PII columns
    for col in patients.columns:
        if col.is_pii:
            assert "min" not in col.stats and "max" not in col.stats and "top" not in col.stats and "values" not in col.stats
    rels = {(r.child_table, r.child_key): (r.parent_table, r.parent_key) for r in meta.relationships}
    assert rels[("encounters", "PATIENT")] == ("patients", "Id")
    assert rels[("observations", "ENCOUNTER")] == ("encounters", "Id")
    enc = meta.tables["encounters"]
    assert enc.column("PATIENT").kind == "id" and enc.primary_key == "Id"
    assert (enc.sequence_key, enc.sequence_index) == ("PATIENT", "START")
    assert meta.tables["observations"].column("CODE").stats["code_system"] == "LOINC"
    assert meta.tables["conditions"].column("CODE").stats["code_system"] == "SNOMED CT"
    assert meta.tables["organizations"].column("NAME").pii == "none"  # hospital names are not people
    assert meta.tables["providers"].column("NAME").pii == "name"


def test_relationships_discovered_without_declared_keys(shared_datasets: Path) -> None:
    folder = shared_datasets / "synthea-ehr-sample"
    tables = {n: read(folder / f"{n}.csv.gz") for n in ("patients", "encounters", "conditions")}
    meta = profile(tables)
    rels = {(r.child_table, r.child_key, r.parent_table, r.parent_key) for r in meta.relationships}
    assert ("encounters", "PATIENT", "patients", "Id") in rels
    assert ("conditions", "ENCOUNTER", "encounters", "Id") in rels
    assert meta.tables["patients"].primary_key == "Id"


def test_value_patterns_without_name_hints() -> None:
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({
        "contact": [f"user{i}@example.org" for i in range(n)],
        "c2": [f"{rng.integers(100, 999)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}" for _ in range(n)],
        "c3": [f"(555) {rng.integers(100, 999)}-{rng.integers(1000, 9999)}" for _ in range(n)],
        "c4": [f"10.0.{i % 250}.{i % 200}" for i in range(n)],
        "amount": rng.integers(10000, 99999, n),  # 5 digits but no ZIP name: not PII
        "lat_lon_free": rng.normal(size=n),
    })
    found = {c: detect_pii(df[c]) for c in df.columns}
    assert found == {"contact": "email", "c2": "ssn", "c3": "phone", "c4": "ip_address", "amount": "none", "lat_lon_free": "none"}
    assert detect_pii(pd.Series(rng.integers(10000, 99999, n), name="zip_code")) == "zip"
    assert detect_pii(pd.Series(rng.uniform(-80, 80, n), name="latitude")) == "latitude"
    assert detect_pii(pd.Series(rng.integers(1, 5, n), name="latitude")) == "none"  # integers are no coordinates


def test_metadata_json_round_trip(tmp_path: Path, shared_datasets: Path) -> None:
    meta = profile(read(shared_datasets / "synthea-ehr-sample", tables=["patients", "encounters"], format="synthea"))
    path = meta.save(tmp_path / "meta.json")
    loaded = Metadata.load(path)
    assert loaded == meta
    data = json.loads(path.read_text())
    assert data["version"] == 1 and set(data["tables"]) == {"patients", "encounters"}


def test_profile_bad_input() -> None:
    with pytest.raises(DataError, match="DataFrame or synthkit Dataset"):
        profile([1, 2, 3])  # type: ignore[arg-type]
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataError, match=r"duplicate column names: \['a'\]"):
        profile(df)
    with pytest.raises(DataError, match="has no column 'nope'"):
        profile(pd.DataFrame({"a": [1]}), primary_key="nope")


def test_medical_code_systems() -> None:
    from synthkit.profile.codes import code_system

    icd10 = pd.Series(["E11.9", "I10", "J45.909", "K21.9", "M54.5"] * 20, name="diagnosis")
    loinc = pd.Series(["8302-2", "29463-7", "39156-5", "72514-3"] * 25, name="obs")
    snomed = pd.Series([410620009, 185349003, 162673000, 308335008] * 25, name="CODE")
    icd9 = pd.Series(["250.83", "V57", "E909", "401", "428"] * 20, name="diag_1")
    assert code_system(icd10) == "ICD-10" and code_system(loinc) == "LOINC"
    assert code_system(snomed) == "SNOMED CT" and code_system(icd9) == "ICD-9"
    assert code_system(snomed.rename("amount")) is None  # numbers need a code-like name
    assert code_system(pd.Series(["A11", "A12", "A14"] * 30, name="status")) is None  # no dots, no name hint
    table = profile(pd.DataFrame({"CODE": snomed, "value": np.arange(100.0)})).table()
    assert table.column("CODE").kind == "categorical" and table.column("CODE").subtype == "code"
