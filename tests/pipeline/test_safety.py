"""synthkit replaces only what it made, refuses folders the user keeps, and checks the config
before any work (issue 15): the scenarios a new user meets, run for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from synthkit.errors import ConfigError
from synthkit.evaluate.schema import MetricsFile
from synthkit.pipeline import EXIT_INPUT_ERROR, EXIT_SINK_FAILED, load_config, run
from synthkit.pipeline.outputs import MARKER

from .conftest import tiny_config, write_yaml

REPO = Path(__file__).resolve().parents[2]


def _run_traced(path: Path, **kwargs: object) -> tuple[list[str], object]:
    """Run with a hook recording every point the run passes (empty: refused before any work)."""
    points: list[str] = []
    try:
        return points, run(path, hooks=[points.append], **kwargs)
    except ConfigError as exc:
        return points, exc


def test_existing_user_folder_is_refused_and_force_moves_it_aside(tmp_path: Path, adult_csv: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "important.txt").write_text("keep me")
    path = write_yaml(tmp_path / "p.yaml", tiny_config(adult_csv, output_dir=str(mine)))
    proc = subprocess.run([sys.executable, "-m", "synthkit.cli", "run", str(path)], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "SYNTHKIT_QUIET": "1"}, timeout=600)
    assert proc.returncode == EXIT_INPUT_ERROR
    assert proc.stderr.strip().count("\n") == 0 and str(mine) in proc.stderr and "--force" in proc.stderr
    assert (mine / "important.txt").read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == [
        "mine", "p.yaml"]
    result = run(path, force=True)
    assert result.status == "ok" and (mine / MARKER).is_file() and (mine / "synthetic.csv").is_file()
    moved = [p for p in tmp_path.iterdir() if p.name.startswith("mine.moved-")]
    assert len(moved) == 1 and (moved[0] / "important.txt").read_text() == "keep me"
    # the folder is synthkit's now: the next run replaces it without --force, the moved folder stays
    assert run(path).status == "ok" and (moved[0] / "important.txt").is_file()


@pytest.mark.parametrize("target", ["cwd", "home", "yaml_folder", "above_yaml", "source_folder", "root"])
def test_output_dir_at_or_above_a_kept_folder_is_refused(tmp_path: Path, adult_csv: Path, monkeypatch: pytest.MonkeyPatch,
                                                          target: str) -> None:
    work, home, project = tmp_path / "work", tmp_path / "home", tmp_path / "project" / "pipelines"
    for folder in (work, home, project):
        folder.mkdir(parents=True)
        (folder / "keep.txt").write_text("mine")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    out = {"cwd": ".", "home": str(home), "yaml_folder": str(project), "above_yaml": str(project.parent),
           "source_folder": str(adult_csv.parent), "root": "/"}[target]
    points, error = _run_traced(write_yaml(project / "p.yaml", tiny_config(adult_csv, output_dir=out)), force=True)
    assert isinstance(error, ConfigError) and "give the run a folder of its own" in str(error)
    assert points == [], "refused before any work"
    assert all((f / "keep.txt").read_text() == "mine" for f in (work, home, project))
    assert adult_csv.is_file()


def test_output_dir_is_relative_to_the_current_folder(tmp_path: Path, adult_csv: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    result = run(write_yaml(tmp_path / "cfg" / "p.yaml", tiny_config(adult_csv, output_dir="runs/tiny")))
    assert result.output_dir == tmp_path / "work" / "runs" / "tiny"
    assert (tmp_path / "work" / "runs" / "tiny" / "synthetic.csv").is_file()
    assert not (tmp_path / "cfg" / "runs").exists()
    assert json.loads((result.output_dir / MARKER).read_text())["status"] == "ok"


@pytest.mark.parametrize("change, message", [
    ({"evaluate": {"max_rows": 50}}, "greater than or equal to 100"),
    ({"sink": {"path": "../x.csv"}}, "inside the run folder"),
    ({"sink": {"path": "metrics.json"}}, "run's own outputs"),
    ({"sink": {"path": "a\\..\\b.csv"}}, "plain names"),
])
def test_config_values_that_would_fail_later_are_refused_on_load(tmp_path: Path, adult_csv: Path, change: dict,
                                                                  message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_yaml(tmp_path / "p.yaml", tiny_config(adult_csv, output_dir=str(tmp_path / "o"), **change)))


@pytest.mark.parametrize("case", ["sqlite_folder_missing", "postgres_unreachable", "parent_is_a_file", "source_missing",
                                  "unknown_param", "bad_param", "relational_holdout_path"])
def test_config_errors_are_refused_before_any_work(tmp_path: Path, adult_csv: Path, case: str) -> None:
    (tmp_path / "file").write_text("x")
    changes = {
        "sqlite_folder_missing": {"sink": {"url": f"sqlite:///{tmp_path / 'missing' / 'x.db'}", "table": "t"}},
        "postgres_unreachable": {"sink": {"url": "postgresql+psycopg://synthkit@127.0.0.1:9/none", "table": "t"}},
        "parent_is_a_file": {"output_dir": str(tmp_path / "file" / "out")},
        "source_missing": {"source": {"path": str(tmp_path / "nope.csv")}},
        "unknown_param": {"model": {"name": "copula", "params": {"bogus": 1}}},
        "bad_param": {"model": {"name": "copula", "params": {"n_quantiles": 1}}},
        "relational_holdout_path": {"model": {"name": "relational"}, "holdout": {"path": str(adult_csv)}},
    }[case]
    if case == "postgres_unreachable":
        pytest.importorskip("psycopg", reason="psycopg is in the optional postgres extra")
    cfg = tiny_config(adult_csv, output_dir=str(tmp_path / "out"))
    cfg.update(changes)
    points, error = _run_traced(write_yaml(tmp_path / "p.yaml", cfg))
    assert isinstance(error, ConfigError), error
    assert points == [], f"{case}: work started before the config was refused"
    assert not (tmp_path / "out").exists()


def test_sink_failure_keeps_the_committed_run_and_the_previous_table(tmp_path: Path, adult_csv: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sink.db'}"
    cfg = tiny_config(adult_csv, output_dir=str(tmp_path / "out"), sink={"url": url, "table": "synth"})
    first = run(write_yaml(tmp_path / "p.yaml", cfg))
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        before = conn.execute(sqlalchemy.text("SELECT * FROM synth")).fetchall()
    assert first.status == "ok" and len(before) == 120
    cfg.update(seed=1, sink={"url": url, "table": "synth", "if_exists": "fail"})  # the table exists: the write fails
    second = run(write_yaml(tmp_path / "p.yaml", cfg))
    assert second.status == "sink_failed" and second.exit_code == EXIT_SINK_FAILED
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT * FROM synth")).fetchall() == before
    engine.dispose()
    out = tmp_path / "out"
    marker, metrics = json.loads((out / MARKER).read_text()), json.loads((out / "metrics.json").read_text())
    assert marker["status"] == metrics["status"] == "sink_failed" and "cannot write" in metrics["sink"]["error"]
    MetricsFile.model_validate_json((out / "metrics.json").read_text())  # the published schema knows the status
    assert (out / "synthetic.csv").read_bytes() != b"" and metrics["meta"]["pipeline"]["seed"] == 1
