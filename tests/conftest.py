"""Shared fixtures: the real public datasets beside the repo, and small Adult samples."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("SYNTHKIT_QUIET", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("SYNTHKIT_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """``../shared/datasets`` (real public data); tests needing it skip when it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled Adult data: (train, test)."""
    from synthkit.datasets import load

    return load("adult")


@pytest.fixture(scope="session")
def adult_small(adult: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """2,000 Adult training rows (with their real missing values), for fast model tests."""
    train, _ = adult
    return train.sample(2000, random_state=0).reset_index(drop=True)


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save artifacts worth looking at (screenshots, reports)."""
    path = REPO / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
