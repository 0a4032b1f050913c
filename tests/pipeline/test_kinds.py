"""One flow for every kind of run: multi-table sources with hostile table names stay inside the
run folder (names mapped, mapping in the marker), and ``--reuse-model`` works for one-table,
sequence and multi-table runs alike (same model, same synthetic output, no refit)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.datasets import load
from synthkit.io.synthea import write_synthea
from synthkit.pipeline import run
from synthkit.pipeline.outputs import MARKER

from .conftest import tiny_config, write_yaml

HOSTILE = {"sqlite": "../../escape", "synthea": "..\\..\\escape"}


def _walk(root: Path) -> set[str]:
    return {str(Path(d, f).relative_to(root)) for d, _, files in os.walk(root) for f in files}


def _sqlite_source(data: Path) -> dict:
    """A real SQLite database whose root table is named ``../../escape`` (80 people, 240 visits)."""
    rng = np.random.default_rng(0)
    with sqlite3.connect(data / "db.sqlite") as con:
        con.execute('CREATE TABLE "../../escape" (id INTEGER PRIMARY KEY, age INTEGER, sex TEXT, score REAL)')
        con.execute('CREATE TABLE visits (vid INTEGER PRIMARY KEY, pid INTEGER REFERENCES "../../escape"(id), '
                    'kind TEXT, cost REAL)')
        con.executemany('INSERT INTO "../../escape" VALUES (?,?,?,?)', [
            (i, int(rng.integers(20, 80)), str(rng.choice(["F", "M"])), float(rng.normal())) for i in range(80)])
        con.executemany("INSERT INTO visits VALUES (?,?,?,?)", [
            (j, int(rng.integers(0, 80)), str(rng.choice(["a", "b", "c"])), float(rng.gamma(2.0))) for j in range(240)])
    return {"url": f"sqlite:///{data / 'db.sqlite'}"}


def _synthea_source(data: Path) -> dict:
    """A Synthea folder (30 real sample patients) whose conditions file is named ``..\\..\\escape.csv``."""
    ehr = load("ehr")
    patients = ehr.tables["patients"].head(30)
    tables = {"patients": patients, **{name: ehr.tables[source][ehr.tables[source]["PATIENT"].isin(patients["Id"])]
                                       for name, source in [("encounters", "encounters"), (HOSTILE["synthea"], "conditions")]}}
    # dates left out: the relational model trips over tz-aware dates read back from CSV (reported separately)
    tables = {name: frame.select_dtypes(exclude=["datetime", "datetimetz"]) for name, frame in tables.items()}
    folder = data / "synthea"
    write_synthea(type(ehr)(tables=tables), folder)
    assert (folder / f"{HOSTILE['synthea']}.csv").is_file()
    return {"path": str(folder)}


@pytest.mark.parametrize("kind", ["sqlite", "synthea"])
def test_hostile_table_names_stay_inside_the_run_folder(tmp_path: Path, kind: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    source = _sqlite_source(data) if kind == "sqlite" else _synthea_source(data)
    out = tmp_path / "runs" / "deep" / "out"
    cfg = {"name": "h", "output_dir": str(out), "source": source, "evaluate": {"enabled": False},
           "model": {"name": "relational", "params": {"child_params": {"epochs": 1}}}, "sink": {"path": "export"}}
    path = write_yaml(tmp_path / "p.yaml", cfg)
    before = _walk(tmp_path)
    result = run(path)
    assert result.status == "ok", result.leaks
    new = _walk(tmp_path) - before
    assert new and all(f.startswith("runs/deep/out/") for f in new), sorted(new)
    names = json.loads((out / MARKER).read_text())["tables"]
    safe = names[HOSTILE[kind]]
    assert set(names) == {HOSTILE[kind]} and "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert {f"runs/deep/out/synthetic/{safe}.csv", f"runs/deep/out/export/{safe}.csv"} <= new
    if kind == "sqlite":  # multi-table --reuse-model: the saved model is loaded, the output is the same
        again = run(path, reuse_model=True)
        assert json.loads((out / "metrics.json").read_text())["meta"]["pipeline"]["model_reused"] is True
        assert {f: (out / f).read_bytes() for f in again.files.values() if f.startswith("synthetic/")} == {
            f: (out / f).read_bytes() for f in result.files.values() if f.startswith("synthetic/")}


def _reused_twice(path: Path) -> tuple[bytes, bytes, bool]:
    first = run(path)
    a = (first.output_dir / "synthetic.csv").read_bytes()
    second = run(path, reuse_model=True)
    metrics = json.loads((second.output_dir / "metrics.json").read_text())
    return a, (second.output_dir / "synthetic.csv").read_bytes(), metrics["meta"]["pipeline"]["model_reused"]


def test_reuse_model_for_a_one_table_run(tmp_path: Path, adult_csv: Path) -> None:
    first, second, reused = _reused_twice(write_yaml(tmp_path / "p.yaml", tiny_config(adult_csv, output_dir=str(tmp_path / "o"))))
    assert reused is True and first == second


def test_reuse_model_for_a_sequence_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n, steps = 30, 6
    frame = pd.DataFrame({"stay": np.repeat(np.arange(n), steps), "t": np.tile(np.arange(steps) * 60, n),
                          "age": np.repeat(rng.integers(20, 90, n), steps), "hr": rng.normal(80, 10, n * steps).round(1)})
    frame.to_csv(tmp_path / "stays.csv", index=False)
    cfg = {"name": "seq", "output_dir": str(tmp_path / "o"), "source": {"path": str(tmp_path / "stays.csv")},
           "profile": {"kinds": {"stay": "id"}, "expectations": False}, "evaluate": {"enabled": False},
           "report": {"enabled": False}, "sample": {"rows": 10},
           "model": {"name": "sequence", "params": {"entity": "stay", "time": "t", "context": ["age"], "epochs": 1}}}
    first, second, reused = _reused_twice(write_yaml(tmp_path / "p.yaml", cfg))
    assert reused is True and first == second
    assert pd.read_csv(tmp_path / "o" / "synthetic.csv")["stay"].nunique() == 10
