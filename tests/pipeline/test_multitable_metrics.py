"""A multi-table run's metrics.json keeps the schema even when its root table is too small to evaluate."""

from __future__ import annotations

import json
from pathlib import Path

from synthkit.datasets import load
from synthkit.evaluate.schema import validate_metrics
from synthkit.models.relational import RelationalSynthesizer
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.outputs import RunFolder
from synthkit.pipeline.stages import RunContext, evaluate
from synthkit.profile import profile


def test_a_skipped_root_table_leaves_a_valid_metrics_file(tmp_path: Path) -> None:
    data = load("ehr")
    cfg = PipelineConfig.model_validate({"name": "ehr", "source": {"dataset": "ehr"}, "model": {"name": "relational"},
                                         "gates": ["fidelity.score >= 0.5"]})
    ctx = RunContext(cfg, RunFolder(tmp_path / "run"), RelationalSynthesizer, root="patients",
                     model=RelationalSynthesizer(), synthetic=dict(data.tables))
    ctx.data = ctx.train = data
    ctx.metadata = profile(data, name="ehr")
    ctx.holdout = {name: frame.head(10) for name, frame in data.tables.items()}  # under 20 rows: no table is evaluated
    evaluate(ctx)
    metrics = json.loads(ctx.folder.path("metrics.json").read_text())
    validate_metrics(metrics)  # schema_version and no stray keys
    assert metrics["schema_version"] == 1 and "skipped" not in metrics
    assert metrics["tables"]["patients"] == {"skipped": "fewer than 20 rows in train, holdout or synthetic data"}
    assert metrics["gates"] == [{"gate": "fidelity.score >= 0.5", "value": None, "passed": False,
                                 "reason": "fidelity.score was not computed"}]
    assert metrics["status"] == "gate_failed" and metrics["meta"]["pipeline"]["root_table"] == "patients"
