"""The `engine:` block and the core without Ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthkit.engine import EngineSpec, create_engine, engine_spec
from synthkit.errors import ConfigError
from synthkit.pipeline.config import load_config


def _yaml(tmp_path: Path, engine: dict) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "source": {"dataset": "adult"}, "engine": engine}))
    return path


def test_engine_block_and_cli_style_overrides(tmp_path: Path) -> None:
    cfg = load_config(_yaml(tmp_path, {"num_workers": 3, "cpus_per_worker": 0.5, "memory_per_worker": 2**30}),
                      ["engine.kind=ray", "engine.address=10.0.0.1:6379"])  # what `synthkit run --engine ray --address` sets
    spec = engine_spec(cfg.engine)
    assert spec == EngineSpec(kind="ray", address="10.0.0.1:6379", num_workers=3, cpus_per_worker=0.5, memory_per_worker=2**30)
    with pytest.raises(ConfigError, match="engine.kind"):
        load_config(_yaml(tmp_path, {"kind": "spark"}))
    with pytest.raises(ConfigError, match="engine.num_workers"):
        load_config(_yaml(tmp_path, {"num_workers": 0}))
    with create_engine(engine_spec(load_config(_yaml(tmp_path, {"num_workers": 2})).engine)) as eng:
        assert eng.info()["kind"] == "local" and eng.num_workers == 2
        with pytest.raises(NotImplementedError):
            eng.train()


def test_core_and_local_engine_import_without_ray() -> None:
    code = ("import sys; sys.modules['ray'] = None\n"  # an import of ray would fail
            "import synthkit, synthkit.engine, synthkit.pipeline, synthkit.engine.dataplane, synthkit.profile.sketch\n"
            "from synthkit.engine import create_engine\n"
            "create_engine('local').close()\n"
            "try:\n    create_engine('ray')\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ConfigError" in out.stdout and "synthkit[ray]" in out.stdout
