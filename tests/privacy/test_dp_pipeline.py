"""The DP vae through the pipeline: the ε spent reaches the model file, metrics.json and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from synthkit.pipeline import run


@pytest.mark.integration
def test_vae_with_epsilon_records_the_spend_in_every_output(tmp_path: Path):
    pytest.importorskip("opacus", reason="opacus is in the optional dp extra")
    cfg = {
        "name": "dp", "seed": 0, "output_dir": str(tmp_path / "out"),
        "source": {"dataset": "adult", "max_rows": 800},
        "model": {"name": "vae", "params": {"epsilon": 3.0, "epochs": 2, "batch_size": 200, "latent_dim": 4,
                                            "encoder_dims": [16], "decoder_dims": [16]}},
        "evaluate": {"target": "income", "max_rows": 300},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = run(path).output_dir
    saved = json.loads((out / "model" / "model.json").read_text())["state"]["privacy_guarantee"]
    dp = json.loads((out / "metrics.json").read_text())["privacy"]["dp"]
    assert 0 < saved["epsilon_spent"] <= 3.0 and saved["mechanism"] == "dp-sgd"
    assert dp["epsilon_spent"] == saved["epsilon_spent"] and dp["epsilon"] == 3.0
    assert dp["delta"] == saved["delta"] == pytest.approx(1e-5)  # default min(1e-5, 1/n^1.1)
    assert dp["mia_auc_bound"] < 1.0
    report = (out / "report.html").read_text()
    assert "differential privacy" in report and f"{saved['epsilon_spent']:.3g}" in report
