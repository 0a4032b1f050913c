"""A run over an engine (a Parquet lake on the local engine) passes the same stage list as every run:
the hooks test seam sees every stage, the Great Expectations suite checks the synthetic sample,
``--reuse-model`` is fingerprinted by the merged training sketch, and a run that dies leaves the
previous run folder as it was. What an engine run cannot do yet is refused before any data is read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from synthkit.errors import ConfigError
from synthkit.evaluate.schema import validate_metrics
from synthkit.io.lake import write_partitioned
from synthkit.pipeline import run_config
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.stages import STAGES

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))
from lake_data import frame as lake_frame  # noqa: E402


def _lake(folder: Path) -> Path:
    write_partitioned((lake_frame(1_000, seed) for seed in range(4)), folder)
    return folder


def _config(tmp: Path, **changes: object) -> PipelineConfig:
    return PipelineConfig.model_validate({
        "name": "lake", "output_dir": str(tmp / "out"), "source": {"path": str(tmp / "lake")},
        "model": {"name": "copula", "params": {"n_quantiles": 51}}, "evaluate": {"max_rows": 300, "families": ["fidelity"]},
        "report": {"enabled": False},
        "engine": {"kind": "local", "num_workers": 2, "batch_rows": 1_000, "block_rows": 1_500, "sample_rows": 600},
        **changes})


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_an_engine_run_passes_every_stage_and_validates_the_synthetic_sample(tmp_path: Path) -> None:
    _lake(tmp_path / "lake")
    points: list[str] = []
    result = run_config(_config(tmp_path), hooks=[points.append])
    stages = [p for p in points if not p.startswith("write:")]
    assert stages == [s.__name__ for s in STAGES] == list(result.timings)
    assert [p for p in points if p.startswith("write:")] == ["write:model", "write:synthetic", "write:metrics"]
    metrics = json.loads((result.output_dir / "metrics.json").read_text())
    validate_metrics(metrics)
    assert metrics["validation"]["success"] is True and metrics["validation"]["evaluated"] > 10
    assert metrics["meta"]["pipeline"]["engine"] == {"name": "local", "workers": 2}
    assert {"expectations", "validation", "engine", "audit"} <= set(result.files)
    record = json.loads((result.output_dir / "engine.json").read_text())
    rows = len(pd.read_parquet(result.output_dir / "synthetic"))
    assert rows == record["sample"]["rows"] == record["all_rows"]["real"] == metrics["meta"]["rows"]["real"]
    assert record["all_rows"]["real"] + record["all_rows"]["holdout"] == 4_000


def test_reuse_model_over_a_lake_follows_its_training_rows(tmp_path: Path) -> None:
    lake = _lake(tmp_path / "lake")
    cfg = _config(tmp_path)
    first = _files(run_config(cfg).output_dir)
    again = run_config(cfg, reuse_model=True)
    assert json.loads((again.output_dir / "metrics.json").read_text())["meta"]["pipeline"]["model_reused"] is True
    assert json.loads((again.output_dir / "engine.json").read_text())["fit"]["method"].startswith("reused")
    same = _files(again.output_dir)
    assert [k for k in first if k.startswith(("synthetic/", "model/"))] == [k for k in same if k.startswith(("synthetic/", "model/"))]
    assert all(first[k] == same[k] for k in first if k.startswith(("synthetic/", "model/", "model.fingerprint")))

    # a run that dies after sampling leaves the previous run folder exactly as it was, and no staging folder
    def die(point: str) -> None:
        if point == "audit":
            raise RuntimeError("killed in the audit")

    with pytest.raises(RuntimeError, match="killed"):
        run_config(cfg, reuse_model=True, hooks=[die])
    assert _files(again.output_dir) == same and not list(tmp_path.glob(".out.staging-*"))

    part = sorted(lake.glob("*.parquet"))[0]  # every row of one part changes: training rows change, the model is refitted
    changed = pd.read_parquet(part)
    changed["d"] += 1.0
    changed.to_parquet(part, index=False)
    refit = run_config(cfg, reuse_model=True)
    assert json.loads((refit.output_dir / "metrics.json").read_text())["meta"]["pipeline"]["model_reused"] is False
    assert (refit.output_dir / "model.fingerprint").read_bytes() != same["model.fingerprint"]


@pytest.mark.parametrize("changes, named", [
    ({"sink": {"path": "copy.parquet"}}, "sink.path"),
    ({"sample": {"conditions": {"grp": "g1"}}}, "sample.conditions"),
    ({"model": {"name": "relational"}}, "one-table models"),
    ({"model": {"name": "sequence", "params": {"entity": "grp"}}}, "one-table models"),
])
def test_an_engine_run_refuses_what_it_cannot_do_before_reading_data(tmp_path: Path, changes: dict, named: str) -> None:
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "part-0.parquet").write_bytes(b"")  # never read: refused first
    with pytest.raises(ConfigError, match=named):
        run_config(_config(tmp_path, **changes))
    assert not (tmp_path / "out").exists()
