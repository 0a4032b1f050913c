"""Whole pipeline runs: outputs, gates and exit codes, reproducibility, crash safety, reuse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from synthkit.evaluate.schema import validate_metrics
from synthkit.pipeline import EXIT_GATE_FAILED, EXIT_OK, run

REPO = Path(__file__).resolve().parents[2]
SMALL = {
    "name": "t",
    "seed": 0,
    "source": {"dataset": "adult", "max_rows": 1500},
    "model": {"name": "copula"},
    "evaluate": {"target": "income", "max_rows": 600, "sensitive_columns": ["income"],
                 "quasi_identifiers": ["age", "sex", "race"]},
    "gates": ["privacy.verdict != fail"],
}


def _config(tmp_path: Path, **changes) -> Path:
    cfg = json.loads(json.dumps(SMALL))
    cfg["output_dir"] = str(tmp_path / "out")
    for key, value in changes.items():
        cfg[key] = value
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "synthkit.cli", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd or REPO, timeout=600,
    )


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("run")
    path = _config(tmp)
    return path, run(path)


def test_run_writes_every_output(first_run):
    _, result = first_run
    out = result.output_dir
    for name in ("synthetic.csv", "metrics.json", "report.html", "metadata.json", "expectations.json", "validation.json",
                 "audit.json"):
        assert (out / name).is_file(), name
    assert (out / "model" / "model.json").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "ok" and result.exit_code == EXIT_OK
    assert metrics["gates"][0]["passed"] is True
    assert metrics["audit"] == {"passed": True, "findings": 0}
    assert 0 < metrics["fidelity"]["score"] <= 1
    synthetic = pd.read_csv(out / "synthetic.csv")
    assert len(synthetic) == 750  # half of 1,500 rows trains; the other half is the holdout
    assert not any(p.name.startswith(".") for p in out.parent.iterdir()), "staging leftovers"


def test_same_seed_gives_byte_identical_synthetic_csv(first_run, tmp_path):
    path, result = first_run
    again = run(_config(tmp_path))
    assert (again.output_dir / "synthetic.csv").read_bytes() == (result.output_dir / "synthetic.csv").read_bytes()


def test_failed_gate_returns_gate_exit_code_and_keeps_outputs(tmp_path):
    path = _config(tmp_path, gates=["fidelity.score >= 1.01", "privacy.verdict != fail"])
    proc = _cli("run", str(path), "--json")
    assert proc.returncode == EXIT_GATE_FAILED, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "gate_failed"
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["status"] == "gate_failed"
    assert [g["passed"] for g in metrics["gates"]] == [False, True]
    assert (tmp_path / "out" / "synthetic.csv").is_file()


def test_reuse_model_skips_fitting_when_nothing_changed(first_run, tmp_path):
    path = _config(tmp_path, evaluate={"enabled": False}, report={"enabled": False}, gates=[])
    run(path)
    reused = run(path, reuse_model=True)
    metrics = json.loads((reused.output_dir / "metrics.json").read_text())
    assert metrics["meta"]["pipeline"]["model_reused"] is True
    changed = run(path, overrides=["model.params.n_quantiles=51"], reuse_model=True)
    metrics = json.loads((changed.output_dir / "metrics.json").read_text())
    assert metrics["meta"]["pipeline"]["model_reused"] is False


def test_config_error_exit_code_and_one_line_message(tmp_path):
    path = _config(tmp_path, model={"name": "copula", "params": {"n_quantiles": "many"}})
    proc = _cli("run", str(path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "n_quantiles" in proc.stderr


def test_sink_path_cannot_escape_the_run_folder(tmp_path):
    path = _config(tmp_path, sink={"path": "../escaped.csv"}, evaluate={"enabled": False}, report={"enabled": False},
                   gates=[])
    proc = _cli("run", str(path))
    assert proc.returncode == 2 and "inside the run folder" in proc.stderr
    assert not (tmp_path / "escaped.csv").exists()


@pytest.mark.integration
@pytest.mark.parametrize(
    "pipeline, overrides",
    [
        # the shipped model as configured (auto), on a half-minute budget instead of its default two minutes
        # for 1,500 rows: the suite's longest test otherwise (~100 s on 2 loaded cores)
        ("adult.yaml", ["source.max_rows=1500", "evaluate.max_rows=500", "model.params.max_minutes=0.5"]),
        ("augment.yaml", ["model.params.epochs=3", "sample.rows=300"]),
        ("icu.yaml", ["model.params.epochs=1", "sample.rows=40", "evaluate.max_rows=1000"]),
    ],
)
def test_example_pipeline_runs_with_its_own_model(tmp_path, pipeline, overrides):
    """The shipped pipelines as written (their models, gates), only smaller; run from a clean folder."""
    args = ["run", str(REPO / "pipelines" / pipeline), "--json"]
    for item in overrides:
        args += ["--set", item]
    proc = _cli(*args, cwd=tmp_path)
    summary = json.loads(proc.stdout)
    # a shipped example must pass its own gates, not merely run
    assert proc.returncode == EXIT_OK and summary["status"] == "ok", (proc.returncode, summary.get("gates"), proc.stderr[-2000:])
    out = tmp_path / summary["output_dir"]
    metrics = json.loads((out / "metrics.json").read_text())
    validate_metrics(metrics)
    assert metrics["audit"]["passed"] is True
    assert metrics["status"] == summary["status"]
    if pipeline == "icu.yaml":
        synthetic = pd.read_csv(out / "synthetic.csv")
        assert synthetic["RecordID"].nunique() == 40
        assert metrics["temporal"]["n_entities"]["synthetic"] == 40
        # held out by stay, attacked by stay: rows of one stay never sit on both sides of the attack
        assert metrics["privacy"]["membership_inference_split"] == "by entity"
        assert metrics["privacy"]["membership_inference_auc"] < 0.6
    if pipeline == "adult.yaml":  # auto also scored its candidates on predicting the evaluation's target
        selection = metrics["meta"]["pipeline"]["model_selection"]
        assert selection["target"] == "income"
        scored = [c for c in selection["candidates"] if c["status"] == "scored"]
        assert scored and all(0.0 <= c["utility"] <= 1.0 for c in scored)
    if pipeline == "augment.yaml":
        assert set(pd.read_csv(out / "synthetic.csv")["income"]) == {">50K"}
        assert metrics["utility"]["augmentation_lift"] is not None


# The multi-table pipeline (ehr.yaml: keys, dates, gates, FHIR sink and the audit of every table) runs
# once, in tests/audit/test_pipelines.py::test_multitable_pipeline_outputs_pass_the_audit.
