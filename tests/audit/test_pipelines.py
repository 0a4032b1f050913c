"""Every example pipeline's outputs pass the leakage audit; a planted real SSN makes it fail.

(The single-table CLI is exercised through subprocess in ``tests/hardening/test_run.py``; the
multi-table pipeline runs here through the ``synthkit run`` command, as a data engineer's job does.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthkit.audit import audit
from synthkit.audit.sources import row_columns
from synthkit.evaluate.schema import validate_metrics
from synthkit.io import read
from synthkit.pipeline import run
from synthkit.pipeline.config import load_config
from synthkit.meta import Metadata
from synthkit.pipeline.inputs import load_source

REPO = Path(__file__).resolve().parents[2]
PIPELINES = sorted((REPO / "pipelines").glob("*.yaml"))
# multi-table pipelines (relational model, a Dataset source) run their own flow: one CSV per table
MULTITABLE = [p for p in PIPELINES if load_config(p).model.name == "relational"]
PIPELINES = [p for p in PIPELINES if p not in MULTITABLE]
SMALL = ["source.max_rows=600", "model.name=copula", "model.params={n_quantiles: 101}", "evaluate.max_rows=300",
         "evaluate.families=[fidelity]", "gates=[]"]

pytestmark = pytest.mark.integration


def _real(path: Path, overrides: list[str]) -> pd.DataFrame:
    """The real table the run read (same config, same seeded subsample)."""
    cfg = load_config(path, overrides)
    return load_source(cfg, multi=False).tables[cfg.name]


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.stem)
def test_example_pipeline_outputs_pass_the_audit(pipeline, tmp_path, monkeypatch, request):
    monkeypatch.chdir(tmp_path)  # pipelines write reports/<name> (and the sqlite demo db) under cwd
    if pipeline.stem == "postgres":  # its URL comes from the environment: the session's test server
        monkeypatch.setenv("SYNTHKIT_PG_URL", request.getfixturevalue("pg_url"))
    result = run(pipeline, overrides=SMALL)
    out = Path(result.output_dir)
    assert result.status == "ok", result.leaks
    assert (out / "synthetic.csv").is_file() and (out / "report.html").is_file()
    validate_metrics(json.loads((out / "metrics.json").read_text()))
    real = _real(pipeline, SMALL)
    report = audit(real, run_dir=out)
    assert report.passed, report.summary()
    checked = {c["where"] for c in report.checked}
    assert {"synthetic.csv", "report.html", "model/model.json", "model/weights.pt", "metadata.json"} <= checked
    # the row check ran (the examples have enough learned columns): a copied real row is caught
    assert "real_row:synthetic.csv" not in report.skipped
    synthetic = pd.read_csv(out / "synthetic.csv")
    meta_cols = [c for c in synthetic.columns if c in real.columns]
    nunique = real[meta_cols].astype(str).agg("|".join, axis=1)
    unique_row = int(np.flatnonzero(~nunique.duplicated(keep=False).to_numpy())[0])
    synthetic.loc[0, meta_cols] = real.loc[unique_row, meta_cols].to_numpy()
    synthetic.to_csv(out / "synthetic.csv", index=False)
    planted = audit(real, run_dir=out)
    assert [f["kind"] for f in planted.findings] == ["real_row"], planted.summary()


@pytest.mark.parametrize("pipeline", MULTITABLE, ids=lambda p: p.stem)
def test_multitable_pipeline_outputs_pass_the_audit(pipeline, tmp_path, monkeypatch):
    """Every table of a multi-table run passes the audit as written; a planted real row fails it.
    The run's own keys and dates (the runner's relational flow: Synthea patients -> encounters ->
    conditions/observations) hold, and gate it, and its FHIR sink reads back (one run for both: a
    relational fit is among the suite's longest)."""
    monkeypatch.chdir(tmp_path)
    small = ["model.params.child_params.epochs=1", "evaluate.families=[fidelity]",
             "gates=[keys.orphans == 0, keys.dated_before_root == 0]", "sink.path=fhir/bundle.json"]
    command = [sys.executable, "-m", "synthkit.cli", "run", str(pipeline), *[f"--set={o}" for o in small]]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=900,
                          env={**os.environ, "SYNTHKIT_QUIET": "1"})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    summary = proc.stdout.splitlines()
    assert summary[0] == f"{pipeline.stem}: ok", proc.stdout
    assert sum("gate keys." in line and "pass (value 0)" in line for line in summary) == 2, proc.stdout
    out = tmp_path / "reports" / pipeline.stem
    assert f"outputs: {out}" in summary, proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    validate_metrics(metrics)  # the multi-table layout (keys, tables) is part of the one schema
    assert metrics["keys"]["orphans"] == 0 and metrics["keys"]["duplicate_keys"] == 0 and metrics["keys"]["dated_before_root"] == 0
    assert [g["passed"] for g in metrics["gates"]] == [True, True]
    assert (out / "report.html").is_file() and (out / "audit.json").is_file()
    assert metrics["audit"] == {"passed": True, "findings": 0}
    tables = {name: pd.read_csv(out / "synthetic" / f"{name}.csv") for name in metrics["tables"]}
    if pipeline.stem == "ehr":
        assert metrics["keys"]["root_date_column"] == "BIRTHDATE"
        assert set(metrics["tables"]) == {"patients", "encounters", "conditions", "observations"}
        assert set(tables["encounters"]["PATIENT"]) <= set(tables["patients"]["Id"])
        back = read(out / "fhir" / "bundle.json")  # written once the run's own audit passed
        assert len(back.tables["patients"]) == len(tables["patients"]) and len(back.tables["encounters"]) == len(tables["encounters"])
    data = load_source(load_config(pipeline, small), multi=True)
    meta = Metadata.load(out / "metadata.json")
    for name, real in data.tables.items():
        report = audit(real, Metadata.single(meta.table(name)), synthetic=out / "synthetic" / f"{name}.csv")
        assert report.passed, f"{name}: {report.summary()}"
    # the largest table: a unique real row planted into the synthetic CSV is caught
    name = max(data.tables, key=lambda t: len(data.tables[t]))
    real, path = data.tables[name], out / "synthetic" / f"{name}.csv"
    synthetic = pd.read_csv(path)
    cols = row_columns(meta.table(name), real)
    text = real[cols].astype(str).agg("|".join, axis=1)
    row = int(np.flatnonzero(~text.duplicated(keep=False).to_numpy() & real[cols].notna().all(axis=1).to_numpy())[0])
    synthetic.loc[0, cols] = real.loc[row, cols].to_numpy()
    synthetic.to_csv(path, index=False)
    planted = audit(real, Metadata.single(meta.table(name)), synthetic=path)
    assert "real_row" in [f["kind"] for f in planted.findings], planted.summary()


def test_pipeline_with_ssn_column_passes_until_a_real_ssn_is_planted(adult_small, tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    real = adult_small.iloc[:600].copy()
    real.insert(0, "ssn", [f"{a:03d}-{b:02d}-{c:04d}" for a, b, c in zip(rng.integers(100, 899, 600), rng.integers(10, 99, 600),
                                                                          rng.integers(1000, 9999, 600), strict=True)])
    real.to_csv(tmp_path / "people.csv", index=False)
    config = {"name": "people", "source": {"path": "people.csv"}, "model": {"name": "copula"},
              "evaluate": {"max_rows": 300, "families": ["fidelity"]}}
    (tmp_path / "people.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    assert run(tmp_path / "people.yaml").status == "ok"
    out = tmp_path / "reports" / "people"
    real_read = pd.read_csv(tmp_path / "people.csv")
    clean = audit(real_read, run_dir=out)
    assert clean.passed, clean.summary()
    assert any(f["where"] == "synthetic.csv" for f in clean.checked)
    synthetic = pd.read_csv(out / "synthetic.csv", dtype=str)
    secret = real.iloc[123]["ssn"]
    synthetic.loc[5, "ssn"] = secret
    synthetic.to_csv(out / "synthetic.csv", index=False)
    leaked = audit(real_read, run_dir=out)
    assert not leaked.passed
    [finding] = leaked.findings
    assert (finding["kind"], finding["where"], finding["column"], finding["count"]) == ("pii_value", "synthetic.csv", "ssn", 1)
    assert secret not in leaked.summary()
