"""Tiny real inputs for whole-run tests: a 240-row Adult CSV and a fast one-table config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from synthkit.datasets import load


@pytest.fixture(scope="session")
def adult_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("adult") / "real.csv"
    load("adult")[0].sample(240, random_state=0).to_csv(path, index=False)
    return path


def tiny_config(adult_csv: Path, **changes: Any) -> dict[str, Any]:
    """A one-table run that takes about a second: copula, no evaluation, report or GE suite."""
    return {"name": "tiny", "seed": 0, "source": {"path": str(adult_csv)}, "model": {"name": "copula"},
            "profile": {"expectations": False}, "evaluate": {"enabled": False}, "report": {"enabled": False}, **changes}


def write_yaml(path: Path, cfg: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path
