"""Great Expectations: suites from metadata that real data passes 100 %, offline, counts only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import ConfigError
from synthkit.io import read
from synthkit.meta import Metadata
from synthkit.profile import profile, to_sdv_dict
from synthkit.profile.expectations import build_suite, load_suite, save_suite, validate


def test_adult_passes_its_own_suite_and_bad_rows_fail(adult_small: pd.DataFrame, tmp_path: Path) -> None:
    meta = profile(adult_small)
    suite = build_suite(meta)
    kinds = {e.expectation_type if hasattr(e, "expectation_type") else type(e).__name__ for e in suite.expectations}
    assert len(suite.expectations) > 30 and kinds
    result = validate(adult_small, suite)
    assert result["success"] and result["success_percent"] == 100.0
    assert result["evaluated"] == result["successful"] == len(suite.expectations)
    assert os.environ["GX_ANALYTICS_ENABLED"] == "False"
    json.dumps(result)  # JSON-serializable summary

    bad = adult_small.copy()
    bad.loc[:9, "age"] = 500
    bad.loc[:199, "workclass"] = "Astronaut"
    bad.loc[:, "hours-per-week"] = np.nan
    path = save_suite(suite, tmp_path / "suite.json")
    result = validate(bad, path)  # from the JSON file
    failed = {(r["expectation"], r["column"]) for r in result["results"] if not r["success"]}
    assert ("expect_column_values_to_be_between", "age") in failed
    assert ("expect_column_values_to_be_in_set", "workclass") in failed
    assert ("expect_column_values_to_not_be_null", "hours-per-week") in failed
    assert not result["success"] and result["success_percent"] < 100
    assert "Astronaut" not in json.dumps(result)  # no raw values in the summary
    age = next(r for r in result["results"] if r["column"] == "age" and r["expectation"].endswith("between"))
    assert age["details"].startswith("10 of 2000")


@pytest.mark.integration
def test_synthea_tables_pass_their_suites(shared_datasets: Path) -> None:
    ds = read(shared_datasets / "synthea-ehr-sample", tables=["patients", "encounters"], format="synthea")
    meta = profile(ds)
    for name in ("patients", "encounters"):
        result = validate(ds[name], meta, table=name)
        assert result["success"], [r for r in result["results"] if not r["success"]]
    # the primary key must be unique
    dup = pd.concat([ds["patients"], ds["patients"].iloc[:1]], ignore_index=True)
    result = validate(dup, meta, table="patients")
    assert any(r["expectation"] == "expect_column_values_to_be_unique" and not r["success"] for r in result["results"])


def test_mixed_object_column_passes_its_suite() -> None:
    df = pd.DataFrame({"m": [1, "a", 2.5, None, True] * 20, "n": np.arange(100)})
    result = validate(df, profile(df))
    assert result["success"], [r for r in result["results"] if not r["success"]]


def test_suite_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_suite(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_suite(tmp_path / "bad.json")


def test_sdv_export_loads_in_sdv(shared_datasets: Path, adult_small: pd.DataFrame) -> None:
    sdv_metadata = pytest.importorskip("sdv.metadata", reason="sdv is in the optional sdv extra")
    ds = read(shared_datasets / "synthea-ehr-sample", tables=["patients", "encounters", "conditions"], format="synthea")
    exported = to_sdv_dict(profile(ds))
    assert exported["tables"]["patients"]["columns"]["SSN"] == {"sdtype": "ssn", "pii": True}
    assert {"parent_table_name": "patients", "parent_primary_key": "Id", "child_table_name": "encounters",
            "child_foreign_key": "PATIENT"} in exported["relationships"]
    sdv_metadata.Metadata.load_from_dict(exported).validate()
    single = to_sdv_dict(profile(adult_small))
    assert single["tables"]["table"]["columns"]["age"]["sdtype"] == "numerical"
    sdv_metadata.Metadata.load_from_dict(single).validate()


def test_profile_html_shows_aggregates_only(shared_datasets: Path, tmp_path: Path) -> None:
    """``synthkit profile --html``'s page (the report package's profile page): kinds, PII classes, the
    primary key, and no identifier value."""
    from synthkit.report import render_profile_report

    ds = read(shared_datasets / "synthea-ehr-sample", tables=["patients", "encounters"], format="synthea")
    meta = profile(ds)
    patients = ds["patients"]
    summary = validate(patients, meta, table="patients")
    assert summary["success"]
    page = render_profile_report(tmp_path / "profile.html", data=patients,
                                 metadata=Metadata.single(meta.table("patients"))).read_text()
    assert "PII: ssn" in page and "Primary key" in page and meta.table("patients").primary_key == "Id"
    for raw in patients["SSN"].iloc[:5].tolist() + patients["LAST"].iloc[:5].tolist():
        assert raw not in page  # no identifier value reaches the page
    assert "<script" not in page and "https://" not in page.split("<body")[1]
