"""track.mlflow: a run logged to a local MLflow store (an SQLite file with artifacts beside it: MLflow 3
refuses its old folder store), found again with mlflow.search_runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from synthkit.errors import ConfigError
from synthkit.pipeline import run

mlflow = pytest.importorskip("mlflow", reason="mlflow (synthkit[mlflow]) is not installed")

CONFIG = {
    "name": "tracked",
    "seed": 0,
    "source": {"dataset": "adult", "max_rows": 1200},
    "model": {"name": "copula"},
    "evaluate": {"target": "income", "max_rows": 500},
    "gates": ["privacy.verdict != fail", "fidelity.score >= 0.99"],
}


def _write(tmp_path: Path, log_synthetic: bool) -> Path:
    cfg = {**CONFIG, "output_dir": str(tmp_path / "out"),
           "track": {"mlflow": {"experiment": "synthkit-test", "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                                "log_synthetic": log_synthetic}}}
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def search(tmp_path: Path):  # type: ignore[no-untyped-def]
    """mlflow.search_runs on the test's store (the global tracking URI restored afterwards)."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield lambda: mlflow.search_runs(experiment_names=["synthkit-test"], output_format="list")
    mlflow.set_tracking_uri(previous)


def _artifacts(client, run_id: str, path: str = "") -> set[str]:  # type: ignore[no-untyped-def]
    found: set[str] = set()
    for item in client.list_artifacts(run_id, path or None):
        found |= _artifacts(client, run_id, item.path) if item.is_dir else {item.path}
    return found


@pytest.mark.integration
def test_run_is_logged_with_params_metrics_gates_and_artifacts(tmp_path: Path, search) -> None:  # type: ignore[no-untyped-def]
    result = run(_write(tmp_path, log_synthetic=False))
    runs = search()
    assert len(runs) == 1
    logged = runs[0]
    metrics = json.loads((result.output_dir / "metrics.json").read_text())
    assert logged.data.params["model.name"] == "copula" and logged.data.params["source.max_rows"] == "1200"
    assert logged.data.metrics["fidelity.score"] == pytest.approx(metrics["fidelity"]["score"])
    assert logged.data.metrics["privacy.dcr_share"] == pytest.approx(metrics["privacy"]["dcr_share"])
    assert logged.data.metrics["gate.fidelity.score ge 0.99"] == 0.0  # the gate that failed
    assert logged.data.tags["gate.privacy.verdict ne fail"] == "pass"
    assert logged.data.tags["synthkit.status"] == result.status == "gate_failed"
    client = mlflow.MlflowClient()
    files = _artifacts(client, logged.info.run_id)
    assert {"report.html", "metrics.json", "model/model.json"} <= files
    assert not any("synthetic" in f for f in files)  # only when asked
    # nothing in the store holds a real row or PII value of the data the model was fitted on
    from synthkit.audit import audit
    from synthkit.datasets import load
    from synthkit.meta import Metadata

    real, _ = load("adult")
    audit_result = audit(real, Metadata.load(result.output_dir / "metadata.json"), run_dir=tmp_path / "mlartifacts")
    assert audit_result.passed, audit_result.summary()


@pytest.mark.integration
def test_synthetic_csv_is_logged_only_when_asked(tmp_path: Path, search) -> None:  # type: ignore[no-untyped-def]
    run(_write(tmp_path, log_synthetic=True))
    (logged,) = search()
    assert "synthetic.csv" in _artifacts(mlflow.MlflowClient(), logged.info.run_id)


def test_unknown_tracker_key_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, log_synthetic=False)
    cfg = yaml.safe_load(path.read_text())
    cfg["track"]["mlflow"]["experiment_name"] = "typo"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="track.mlflow.experiment_name"):
        run(path)
