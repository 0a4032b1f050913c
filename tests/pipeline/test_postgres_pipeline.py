"""pipelines/postgres.yaml run by the CLI against the test PostgreSQL server: the synthetic table lands
in the database, and the password in the URL appears in no output file, log line or error message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYNTHKIT_PG_URL": url}
    return subprocess.run([sys.executable, "-m", "synthkit.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600)


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.integration
@pytest.mark.postgres
def test_postgres_pipeline_writes_the_sink_and_never_the_password(postgres, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    fast = ["--set", f"output_dir={out}", "--set", "model.name=copula", "--set", "source.max_rows=1500",
            "--set", "evaluate.max_rows=600"]
    proc = _cli("-v", "run", "pipelines/postgres.yaml", *fast, url=pg_url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _count(pg_url, "adult") > 30_000  # created from the bundled data on first run
    assert _count(pg_url, "adult_synthetic") == 750  # ratio 1.0 of the 750 training rows, written by COPY
    assert "COPY" in proc.stderr and "synthkit:***@" in proc.stderr  # the -v log names the URL, redacted

    secret = postgres.password.encode()
    leaks = [p for p in out.rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert leaks == []
    assert secret.decode() not in proc.stdout + proc.stderr
    report = (out / "report.html").read_text()
    assert "synthkit:***@127.0.0.1" in report  # the config is shown, with the password hidden

    # errors: a missing table, an unreachable database
    for args in (["--set", "source.table=no_such_table", "--set", "source.options={}"], ["--set", "source.url=" + pg_url.rsplit("/", 1)[0] + "/nodb"]):
        bad = _cli("run", "pipelines/postgres.yaml", *fast, "--set", f"output_dir={tmp_path / 'bad'}", *args, url=pg_url)
        assert bad.returncode == 2, bad.stderr[-2000:]
        assert "error:" in bad.stderr and "Traceback" not in bad.stderr
        assert secret.decode() not in bad.stdout + bad.stderr
        assert "***" in bad.stderr
