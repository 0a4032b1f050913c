"""Shared fixtures: the real public datasets beside the repo, and small Adult samples."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("SYNTHKIT_QUIET", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("SYNTHKIT_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``make test`` runs the suite on two pytest-xdist workers (``--dist loadgroup``); the tests
    that start a local Ray cluster are kept on one of them, and so are those on the session's
    PostgreSQL server, so that each is started once rather than once a worker."""
    for item in items:
        if item.get_closest_marker("ray"):
            item.add_marker(pytest.mark.xdist_group("ray"))
        elif "postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("postgres"))


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


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """A real PostgreSQL server for the whole session (tests/pg_server.py), stopped and deleted at the end.

    Skips with the reason only where no server binary is installed (``make test`` installs one as root).
    """
    pytest.importorskip("psycopg", reason="psycopg (synthkit[postgres]) is not installed")
    from pg_server import PostgresServer, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres, request: pytest.FixtureRequest) -> str:  # type: ignore[no-untyped-def]
    """A fresh empty database on the session's server, named after the test; its URL carries the password."""
    import re

    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:50]
    return postgres.create_database(name)
