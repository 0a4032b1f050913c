"""The leakage audit: planted real PII values and real rows are found; clean outputs pass."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from synthkit.audit import audit, reproduced_rows
from synthkit.errors import ConfigError, DataError, LeakageError
from synthkit.models import create
from synthkit.profile import profile


def _with_pii(frame: pd.DataFrame) -> pd.DataFrame:
    """Adult rows plus real-looking direct identifiers (SSN, e-mail, phone, full address)."""
    rng = np.random.default_rng(1)
    n = len(frame)
    out = frame.copy()
    out["ssn"] = (pd.Series(rng.integers(100, 899, n)).astype(str) + "-" + pd.Series(rng.integers(10, 99, n)).astype(str)
                  + "-" + pd.Series(rng.integers(1000, 9999, n)).astype(str))
    out["email"] = "Person" + pd.Series(np.arange(n)).astype(str) + "@Example-Mail.org"
    out["home_address"] = pd.Series(rng.integers(10, 9999, n)).astype(str) + " Birchwood Hollow Road Apt " + pd.Series(np.arange(n)).astype(str)
    return out


@pytest.fixture(scope="module")
def fitted(adult_small, tmp_path_factory):
    """A copula fitted on Adult + PII, its model folder, synthetic rows and a rendered report."""
    from synthkit.evaluate import evaluate
    from synthkit.report import render_report

    real = _with_pii(adult_small.iloc[:1200].reset_index(drop=True))
    meta = profile(real)
    table = meta.table()
    meta.table().column("home_address").pii = "address"
    assert table.column("ssn").pii == "ssn" and table.column("email").pii == "email"
    model = create("copula", metadata=meta, n_quantiles=101).fit(real)
    synthetic = model.sample(1200, seed=3)
    folder = tmp_path_factory.mktemp("audit")
    model.save(folder / "model")
    scores = evaluate(real, synthetic, metadata=meta, families=("fidelity",), max_rows=600).scores
    render_report(folder / "report.html", metrics=scores, real=real, synthetic=synthetic, metadata=meta)
    return real, meta, synthetic, folder


def test_clean_outputs_pass(fitted):
    real, meta, synthetic, folder = fitted
    result = audit(real, meta, synthetic=synthetic, model_dir=folder / "model", report_path=folder / "report.html")
    assert result.passed, result.summary()
    wheres = {c["where"] for c in result.checked}
    assert {"synthetic", "model/model.json", "model/weights.pt", "report.html"} <= wheres
    assert all(c.get("tokens", 1) > 0 for c in result.checked)
    result.raise_if_failed()


def test_planted_ssn_fails_without_revealing_it(fitted):
    real, meta, synthetic, _ = fitted
    bad = synthetic.copy()
    secret = real.loc[17, "ssn"]
    bad.loc[4, "ssn"] = secret
    result = audit(real, meta, synthetic=bad)
    assert not result.passed
    [finding] = result.findings
    assert finding["kind"] == "pii_value" and finding["column"] == "ssn" and finding["source_column"] == "ssn"
    assert finding["count"] == 1 and finding["rows"] == [4]
    text = json.dumps(result.to_dict()) + result.summary()
    assert secret not in text
    with pytest.raises(LeakageError) as info:
        result.raise_if_failed()
    assert info.value.exit_code == 4 and "ssn" in str(info.value) and secret not in str(info.value)


def test_pii_found_in_any_column_and_inside_free_text(fitted):
    real, meta, synthetic, _ = fitted
    bad = synthetic.copy()
    bad.loc[0, "occupation"] = real.loc[3, "email"].upper()  # case and column do not hide it
    bad["notes"] = "patient seen today, nothing unusual to report here"
    bad.loc[9, "notes"] = f"called back at {real.loc[5, 'home_address']}, left a message."
    result = audit(real, meta, synthetic=bad)
    found = {(f["column"], f["source_column"]) for f in result.findings}
    assert ("occupation", "email") in found
    assert ("notes", "home_address") in found


def test_whole_unique_real_row_fails_but_common_row_does_not(fitted):
    real, meta, synthetic, _ = fitted
    bad = synthetic.copy()
    learned = [c for c in real.columns if c not in ("ssn", "email", "home_address")]
    bad.loc[10, learned] = real.loc[42, learned].to_numpy()
    result = audit(real, meta, synthetic=bad)
    [row] = [f for f in result.findings if f["kind"] == "real_row"]
    assert row["rows"] == [10] and row["count"] == 1 and row["columns"] == len(learned)
    # a row that occurs twice in the real data identifies no one: not flagged
    common = pd.DataFrame({"a": ["x", "x", "y", "z"], "b": ["p", "p", "q", "r"], "c": [1, 1, 2, 3], "d": [True, True, False, True]})
    cmeta = profile(common)
    assert audit(common, cmeta, synthetic=common.iloc[[0, 1]], min_row_columns=4).passed
    assert not audit(common, cmeta, synthetic=common.iloc[[2]], min_row_columns=4).passed


def test_reproduced_rows_marks_what_the_audit_would_flag(fitted):
    """The pipeline draws these rows again before writing; the mask follows the audit's row rule exactly."""
    real, meta, synthetic, _ = fitted
    bad = synthetic.copy().reset_index(drop=True)
    learned = [c for c in real.columns if c not in ("ssn", "email", "home_address")]
    bad.loc[[3, 10], learned] = real.loc[[7, 42], learned].to_numpy()
    mask = reproduced_rows(real, meta.table(None), bad)
    assert mask.dtype == bool and len(mask) == len(bad) and list(np.flatnonzero(mask)) == [3, 10]
    assert not reproduced_rows(real, meta.table(None), synthetic).any()
    common = pd.DataFrame({"a": ["x", "x", "y", "z"], "b": ["p", "p", "q", "r"], "c": [1, 1, 2, 3], "d": [True, True, False, True]})
    assert list(reproduced_rows(common, profile(common).table(None), common)) == [False, False, True, True]
    few = pd.DataFrame({"a": list("abcdef"), "b": range(6)})  # too few columns to single anyone out
    assert not reproduced_rows(few, profile(few).table(None), few).any()


def test_rows_match_through_csv_round_trip_and_timezones(tmp_path):
    real = pd.DataFrame({
        "when": pd.date_range("1850-03-01", periods=30, freq="37D", tz="Europe/Berlin"),
        "amount": np.linspace(0.1, 3.0, 30),
        "count": np.arange(30, dtype=np.int64),
        "flag": [True, False] * 15,
        "group": ["a", "b", "c"] * 10,
    })
    meta = profile(real)
    synthetic = real.iloc[[7]].copy()
    synthetic["when"] = synthetic["when"].dt.tz_convert("UTC")  # same instant, other zone
    path = tmp_path / "synthetic.csv"
    synthetic.to_csv(path, index=False)
    result = audit(real, meta, synthetic=path)
    assert [f["kind"] for f in result.findings] == ["real_row"]
    assert result.findings[0]["where"] == "synthetic.csv"


def test_too_few_columns_skips_the_row_check_with_a_reason():
    real = pd.DataFrame({"a": list("abcdef"), "b": range(6)})
    result = audit(real, profile(real), synthetic=real)
    assert result.passed
    assert "a row needs 4+" in result.skipped["real_row:synthetic"]


def test_tampered_model_file_and_report_are_caught(fitted, tmp_path):
    real, meta, _, folder = fitted
    model = tmp_path / "model"
    shutil.copytree(folder / "model", model)
    doc = json.loads((model / "model.json").read_text())
    doc["params"]["note"] = f"trained for {real.loc[8, 'email']}"
    (model / "model.json").write_text(json.dumps(doc))
    report = tmp_path / "report.html"
    html = (folder / "report.html").read_text()
    report.write_text(html.replace("</body>", f"<td>{real.loc[2, 'ssn']}</td></body>"))
    result = audit(real, meta, model_dir=model, report_path=report)
    where = {(f["where"], f["source_column"]) for f in result.findings}
    assert where == {("model/model.json", "email"), ("report.html", "ssn")}


def test_identifier_values_in_files_are_leaks_but_regenerated_ids_are_not(tmp_path):
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"patient_id": rng.integers(10**7, 10**8, 50), "x": rng.normal(size=50), "g": rng.choice(list("ab"), 50)})
    meta = profile(real)
    meta.table().column("patient_id").kind = "id"
    synthetic = create("copula", metadata=meta).fit(real).sample(50, seed=0)
    assert audit(real, meta, synthetic=synthetic).passed
    (tmp_path / "metrics.json").write_text(json.dumps({"worst_row": int(real.loc[3, "patient_id"])}))
    result = audit(real, meta, run_dir=tmp_path)
    assert [(f["kind"], f["where"]) for f in result.findings] == [("identifier", "metrics.json")]


def test_low_entropy_pii_is_skipped_with_reasons():
    real = pd.DataFrame({"first_name": ["Mary", "John", "Anne"] * 4, "city": ["Springfield", "Shelbyville", "Ogdenville"] * 4,
                         "v": range(12)})
    meta = profile(real)
    meta.table().column("first_name").pii = "first_name"
    meta.table().column("city").pii = "city"
    result = audit(real, meta, synthetic=real)
    assert "many people" in result.skipped["first_name"] and "many people" in result.skipped["city"]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"real": [1, 2]}, DataError, "DataFrame"),
        ({"real": pd.DataFrame()}, DataError, "empty"),
        ({}, ConfigError, "nothing to audit"),
        ({"run_dir": "/nonexistent/run"}, DataError, "not found"),
        ({"synthetic": "/nonexistent.csv"}, DataError, "not found"),
        ({"model_dir": __file__}, DataError, "not a folder"),
        ({"metadata": {"tables": {}}}, ConfigError, "Metadata"),
        ({"min_row_columns": 0}, ConfigError, "min_row_columns"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, words):
    real = kwargs.pop("real", pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}))
    if "run_dir" not in kwargs and "synthetic" not in kwargs and "model_dir" not in kwargs and kwargs != {}:
        kwargs["synthetic"] = pd.DataFrame({"a": [1]})
    with pytest.raises(error, match=words):
        audit(real, kwargs.pop("metadata", None), **kwargs)


def test_metadata_that_does_not_fit_the_real_data_is_refused(fitted):
    real, meta, synthetic, _ = fitted
    with pytest.raises(DataError, match="lacks metadata columns"):
        audit(real.drop(columns=["ssn"]), meta, synthetic=synthetic)


def test_run_folder_reads_its_own_metadata(fitted, tmp_path):
    real, meta, synthetic, folder = fitted
    meta.save(tmp_path / "metadata.json")
    bad = synthetic.copy()
    bad.loc[1, "email"] = real.loc[1, "email"]
    bad.to_csv(tmp_path / "synthetic.csv", index=False)
    shutil.copytree(folder / "model", tmp_path / "model")
    result = audit(real, run_dir=tmp_path)
    assert [(f["where"], f["column"]) for f in result.findings] == [("synthetic.csv", "email")]
    checked = {c["where"] for c in result.checked}
    assert {"synthetic.csv", "metadata.json", "model/model.json"} <= checked
