"""Synthea exports and FHIR R4: one Dataset shape, round trips keep rows and keys, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import Dataset, read, write
from synthkit.io.fhir import read_fhir

_TABLES = ["patients", "encounters", "conditions", "observations"]


@pytest.fixture(scope="module")
def synthea(shared_datasets: Path) -> Dataset:
    """The four FHIR-mapped Synthea tables, cut to 12 patients to stay fast."""
    full = read(shared_datasets / "synthea-ehr-sample", tables=_TABLES, format="synthea")
    keep = set(full["patients"]["Id"].iloc[:12])
    tables = {t: df[df["Id" if t == "patients" else "PATIENT"].isin(keep)].reset_index(drop=True) for t, df in full.tables.items()}
    return Dataset(tables, primary_keys=full.primary_keys, relationships=full.relationships, name="synthea")


def test_synthea_folder_loads_with_keys(shared_datasets: Path) -> None:
    ds = read(shared_datasets / "synthea-ehr-sample")
    assert isinstance(ds, Dataset) and len(ds) == 12
    assert ds["patients"].shape == (59, 25) and ds["observations"].shape == (21697, 9)
    assert ds.primary_keys["patients"] == "Id" and ds.primary_keys["encounters"] == "Id"
    rels = {(r.child_table, r.child_key, r.parent_table) for r in ds.relationships}
    assert {("encounters", "PATIENT", "patients"), ("conditions", "ENCOUNTER", "encounters"),
            ("encounters", "PROVIDER", "providers")} <= rels
    assert ds.validate().ok
    assert ds["immunizations"]["CODE"].iloc[0] == "08"  # codes stay text, leading zeros kept
    assert pd.api.types.is_datetime64_any_dtype(ds["encounters"]["START"])


@pytest.mark.parametrize("name", ["bundle.json", "resources.ndjson"])
def test_synthea_fhir_synthea_round_trip(synthea: Dataset, tmp_path: Path, name: str) -> None:
    path = write(synthea, tmp_path / name)
    if name.endswith(".json"):
        doc = json.loads(path.read_text())
        assert doc["resourceType"] == "Bundle" and {e["resource"]["resourceType"] for e in doc["entry"]} == {
            "Patient", "Encounter", "Condition", "Observation"}
    back = read(path)
    assert isinstance(back, Dataset) and back.table_names == _TABLES
    for table in _TABLES:
        pd.testing.assert_frame_equal(back[table], synthea[table], check_dtype=False)
    assert back.validate().ok and back.primary_keys == {"patients": "Id", "encounters": "Id"}
    synthea_dir = write(back, tmp_path / "synthea_out")
    again = read(synthea_dir)
    assert again.shape() == synthea.shape()
    pd.testing.assert_frame_equal(again["encounters"], synthea["encounters"], check_dtype=False)
    assert (synthea_dir / "patients.csv").read_text().splitlines()[0].startswith("Id,BIRTHDATE,DEATHDATE,SSN")


def test_fhir_folder_and_patient_fields(synthea: Dataset, tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    folder.mkdir()
    write(synthea, folder / "all.ndjson")
    ds = read(folder)
    patient = json.loads((folder / "all.ndjson").read_text().splitlines()[0])
    assert patient["resourceType"] == "Patient" and patient["gender"] in ("male", "female")
    assert patient["identifier"][0]["system"] == "http://hl7.org/fhir/sid/us-ssn"
    assert ds["patients"]["SSN"].tolist() == synthea["patients"]["SSN"].tolist()


def test_broken_fhir_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Bundle", "entry": [ {"resource": ')
    with pytest.raises(DataError, match=r"bad\.json is not valid JSON"):
        read(bad)
    nd = tmp_path / "bad.ndjson"
    nd.write_text('{"resourceType": "Patient", "id": "a"}\n{oops\n')
    with pytest.raises(DataError, match=r"bad\.ndjson line 2 is not valid JSON"):
        read_fhir(nd)
    no_type = tmp_path / "notype.json"
    no_type.write_text('{"resourceType": "Bundle", "entry": [{"resource": {"id": "x"}}]}')
    with pytest.raises(DataError, match="resource #1 has no resourceType"):
        read(no_type)
    only_obs = tmp_path / "obs.ndjson"
    only_obs.write_text('{"resourceType": "Observation", "id": "o"}\n')
    with pytest.raises(DataError, match="no Patient resources"):
        read(only_obs)
    with pytest.raises(DataError, match="needs a 'patients' table"):
        write(Dataset({"x": pd.DataFrame({"a": [1]})}), tmp_path / "x.json")


def test_table_option_selects_one_table(shared_datasets: Path) -> None:
    folder = shared_datasets / "synthea-ehr-sample"
    patients = read(folder, table="patients")
    assert isinstance(patients, pd.DataFrame) and patients.shape == (59, 25)
    with pytest.raises(DataError, match=r"no table\(s\) \['nope'\]"):
        read(folder, table="nope")
    with pytest.raises(DataError, match="single table"):
        read(folder / "patients.csv.gz", table="patients")
