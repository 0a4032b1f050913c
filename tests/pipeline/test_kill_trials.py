"""Kill anywhere, lose nothing: kill -9 at seeded random points *inside* the run's writes.

Each trial forks a child that runs the pipeline (tiny CSV source, copula model, report, a Parquet
file sink and a SQLite sink) with a hook on the run context: when the run reaches the chosen point
(the model's weights, the synthetic CSV, the Parquet sink file, the report, metrics, the commit, the
SQL transaction) the hook starts counting interpreter events (Python and C calls) and SIGKILLs the
child at a random event within that write, calibrated by a counting run. After each trial, as the
next run finds it: the previous run folder and the sink table are exactly as before, or the new
run is complete (and the table holds its rows, or the marker says its sink never finished, with the
table as before); the dead run's staging folder is swept by the next run, never earlier ones left.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.datasets import load
from synthkit.pipeline import run_config
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.outputs import MARKER, recover

# each point starts a write: model weights, CSV, Parquet, report, metrics + marker + the commit's swap, SQL sink
POINTS = ["write:model", "write:synthetic", "write:sink_file", "write:report", "write:metrics", "sink"]
OUTPUTS = {"synthetic.csv", "synthetic.parquet", "metrics.json", "report.html", "metadata.json", "audit.json",
           "model/model.json", "model/weights.pt", MARKER}


def _config(tmp: Path, seed: int) -> PipelineConfig:
    return PipelineConfig.model_validate({
        "name": "k", "seed": seed, "output_dir": str(tmp / "out"), "source": {"path": str(tmp / "real.csv")},
        "model": {"name": "copula", "params": {"n_quantiles": 21}}, "evaluate": {"enabled": False},
        "profile": {"expectations": False},
        "sink": {"path": "synthetic.parquet", "url": f"sqlite:///{tmp / 'sink.db'}", "table": "synth"},
    })


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _table(tmp: Path) -> list[tuple]:
    with sqlite3.connect(tmp / "sink.db") as conn:
        return conn.execute("SELECT * FROM synth").fetchall()


def _rows(frame: pd.DataFrame) -> list[tuple]:
    """A frame's rows as SQLite returns them (NULL as None)."""
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]


def _child(cfg: PipelineConfig, point: str, after: int) -> None:
    """In the forked child: run, and SIGKILL itself at interpreter event ``after`` past ``point``."""
    seen = [0]

    def count(frame: object, event: str, arg: object) -> None:
        seen[0] += 1
        if seen[0] >= after:
            os.kill(os.getpid(), signal.SIGKILL)

    def hook(name: str) -> None:
        if name == point:
            sys.setprofile(count)

    try:
        run_config(cfg, hooks=[hook])
    except BaseException as exc:  # noqa: BLE001 - reported by the parent, never swallowed
        with open(Path(cfg.output_dir).parent / "child-errors.txt", "a") as fh:
            fh.write(f"seed {cfg.seed} at {point}: {type(exc).__name__}: {str(exc)[:300]}\n")
        os._exit(1)
    finally:
        os._exit(0)


def _calibrate(cfg: PipelineConfig) -> dict[str, int]:
    """Interpreter events from each point to the next (the write's length), in a forked counting run."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        counts = dict.fromkeys(POINTS, 0)
        current = [""]

        def count(frame: object, event: str, arg: object) -> None:
            counts[current[0]] = counts.get(current[0], 0) + 1

        def hook(name: str) -> None:
            current[0] = name
            sys.setprofile(count if name in counts else None)

        try:
            run_config(cfg, hooks=[hook])
            sys.setprofile(None)
            os.write(write, json.dumps({p: counts[p] for p in POINTS}).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        text = fh.read()
    os.waitpid(pid, 0)
    return json.loads(text)


def kill_trials(tmp: Path, n_trials: int, seed: int) -> dict[str, int]:
    """Run ``n_trials`` seeded kill trials; assert the invariants after each; return the tallies."""
    real = load("adult")[0].sample(240, random_state=0)
    real.to_csv(tmp / "real.csv", index=False)
    out = tmp / "out"
    assert run_config(_config(tmp, 1)).status == "ok"
    lengths = _calibrate(_config(tmp, 1))
    assert all(lengths[p] > 0 for p in POINTS), lengths
    rng = np.random.default_rng(seed)
    tally = {"trials": 0, "killed": 0, "unchanged": 0, "completed": 0, "sink_pending": 0}
    for trial in range(n_trials):
        before, table = _snapshot(out), _table(tmp)
        point = POINTS[trial % len(POINTS)]
        after = int(rng.integers(1, lengths[point] + 1))
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child(_config(tmp, 100 + trial), point, after)
        _, status = os.waitpid(pid, 0)
        tally["trials"] += 1
        tally["killed"] += os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        # what the next run finds: only the dead run's staging folder is left (earlier ones were swept)
        leftovers = {p.name for p in tmp.iterdir() if p.name.startswith(".out.")}
        assert leftovers <= {f".out.staging-{pid}", ".out.previous"}, leftovers
        recover(out)
        assert not [p for p in tmp.iterdir() if p.name.startswith(".out.")]
        now = _snapshot(out)
        assert not [name for name in now if ".tmp" in name], f"trial {trial}: partial file left"
        if now == before:
            assert _table(tmp) == table, f"trial {trial} at {point}: the sink changed without a new run folder"
            tally["unchanged"] += 1
            continue
        assert OUTPUTS <= set(now), f"trial {trial} at {point}: incomplete run folder {sorted(set(now))}"
        marker = json.loads(now[MARKER])
        synthetic = pd.read_csv(out / "synthetic.csv")
        assert pd.read_parquet(out / "synthetic.parquet").shape == synthetic.shape
        sunk = _table(tmp)
        assert sunk in (table, _rows(synthetic)), f"trial {trial} at {point}: the sink table is neither old nor new"
        # killed after the swap (end of write:metrics) or in the sink stage: the marker says sink_pending
        # (the table old, or new if the transaction had committed); otherwise the run finished: ok, table new
        pending = marker["status"] == "sink_pending"
        assert marker["status"] == "ok" or (pending and point in ("write:metrics", "sink")), (point, marker)
        assert pending or sunk == _rows(synthetic)
        tally["sink_pending" if marker["status"] == "sink_pending" else "completed"] += 1
    return tally


def _report(capsys: pytest.CaptureFixture[str], tally: dict[str, int]) -> None:
    with capsys.disabled():
        print(f"\nkill trials: {tally['trials']} run, {tally['killed']} killed inside a write; afterwards "
              f"{tally['unchanged']} left the previous run as it was, {tally['completed']} completed the new run, "
              f"{tally['sink_pending']} committed it with the sink marked pending (table old or new, never mixed)")


def test_kill_inside_writes_loses_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tally = kill_trials(tmp_path, n_trials=21, seed=0)
    _report(capsys, tally)
    assert tally["killed"] >= 18 and not (tmp_path / "child-errors.txt").exists(), tally
    assert tally["unchanged"] > 0 and tally["completed"] + tally["sink_pending"] > 0, tally


@pytest.mark.slow
def test_kill_inside_writes_loses_nothing_many_trials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tally = kill_trials(tmp_path, n_trials=210, seed=1)
    _report(capsys, tally)
    errors = (tmp_path / "child-errors.txt").read_text() if (tmp_path / "child-errors.txt").exists() else ""
    assert tally["killed"] >= 180, (tally, errors[:2000])
