"""The audit's whole-record rule for sequences, and the sequence runs that draw reproduced records and rows again."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from synthkit.audit import DEFAULT_MIN_ROW_COLUMNS, ReproducedEntities, ReproducedRows, audit
from synthkit.models import load
from synthkit.pipeline import run
from synthkit.profile import profile


def _stays(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """``n`` stays of 3 timed readings each, with a per-stay sex and age."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"pid": np.repeat(np.arange(n), 3),
                         "t": np.tile([0, 5, 9], n) + np.repeat(rng.integers(0, 100, n), 3),
                         "hr": rng.normal(80, 10, 3 * n).round(1), "sex": np.repeat(rng.choice(["F", "M"], n), 3),
                         "age": np.repeat(rng.integers(20, 90, n), 3), "lab": rng.normal(size=3 * n).round(2)})


def _check(real: pd.DataFrame) -> ReproducedEntities:
    return ReproducedEntities(real, profile(real).table(), "pid", "t", DEFAULT_MIN_ROW_COLUMNS)


def test_a_record_moved_in_time_or_shuffled_is_found_and_a_changed_one_is_not() -> None:
    real = _stays()
    moved = real[real["pid"] < 5].assign(pid=lambda d: d["pid"] + 1000, t=lambda d: d["t"] + 7)
    shuffled = real[real["pid"] == 7].iloc[::-1].assign(pid=2000)  # rows out of order: same record in time order
    changed = real[real["pid"] == 8].assign(pid=3000)
    changed.loc[changed.index[1], "hr"] += 0.5  # one reading of three differs
    prefix = real[real["pid"] == 9].iloc[:2].assign(pid=4000)  # the first two steps only
    synthetic = pd.concat([moved, shuffled, changed, prefix])
    hits = _check(real)(synthetic)
    assert hits.to_dict() == {1000: True, 1001: True, 1002: True, 1003: True, 1004: True, 2000: True, 3000: False, 4000: False}
    # read back from CSV, every cell is text: numbers and times are parsed as the real columns are typed
    as_text = _check(real)(synthetic.astype(str))
    assert as_text.to_numpy().tolist() == hits.to_numpy().tolist()


def test_only_records_unique_in_the_real_data_and_with_enough_values_count() -> None:
    real = _stays()
    twin = real[real["pid"] == 3].assign(pid=500, t=lambda d: d["t"] + 50)  # another real stay with the same record
    sparse = pd.DataFrame({"pid": 600, "t": [0], "hr": [np.nan], "sex": [np.nan], "age": [41], "lab": [np.nan]})
    real = pd.concat([real, twin, sparse], ignore_index=True)
    synthetic = pd.concat([real[real["pid"].isin([3, 4, 600])]], ignore_index=True)
    hits = _check(real)(synthetic)
    # stay 3 has a real twin (it singles no one out); stay 600 has one value present, fewer than 4
    assert hits.to_dict() == {3: False, 4: True, 600: False}


def test_audit_reports_reproduced_records_of_a_sequence_table() -> None:
    real = _stays()
    meta = profile(real)
    honest = real.assign(pid=real["pid"] + 10_000, hr=real["hr"] + 0.3)
    assert audit(real, meta, synthetic=honest, entity="pid", time="t").passed
    leaked = pd.concat([honest, real[real["pid"] < 3].assign(pid=lambda d: d["pid"] + 20_000, t=lambda d: d["t"] + 1)])
    result = audit(real, meta, synthetic=leaked, entity="pid", time="t")
    records = [f for f in result.findings if f["kind"] == "real_record"]
    assert len(records) == 1 and records[0]["count"] == 3 and "record_rule" in result.rules
    assert not [f for f in result.findings if f["kind"] == "real_row"]  # moved in time: no single row repeats


def _one_record_space(n: int = 300) -> pd.DataFrame:
    """Stays of two steps, each step two readings of three levels, and a sex: 162 possible records for
    300 stays, so about 47 records are unique and an honest model lands on them by chance."""
    rng = np.random.default_rng(3)
    return pd.DataFrame({"stay": np.repeat(np.arange(n), 2), "t": np.tile([0, 60], n),
                         "sex": np.repeat(rng.choice(["F", "M"], n), 2),
                         "a": rng.choice(["lo", "mid", "hi"], 2 * n), "b": rng.choice(["x", "y", "z"], 2 * n)})


def _run_stays(real: pd.DataFrame, tmp_path: Path, caplog) -> Path:
    """A sequence run (2 epochs, no evaluation or report) drawing as many stays as ``real`` has;
    its output folder, with the redraw's log kept in ``caplog``."""
    real.to_csv(tmp_path / "stays.csv", index=False)
    cfg = {"name": "seq", "seed": 0, "output_dir": str(tmp_path / "o"), "source": {"path": str(tmp_path / "stays.csv")},
           "profile": {"kinds": {"stay": "id"}, "expectations": False}, "evaluate": {"enabled": False},
           "report": {"enabled": False}, "sample": {"rows": int(real["stay"].nunique())},
           "model": {"name": "sequence", "params": {"entity": "stay", "time": "t", "context": ["sex"], "epochs": 2}}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(cfg))
    with caplog.at_level(logging.INFO, logger="synthkit.pipeline.redraw"):
        run(tmp_path / "p.yaml")
    return tmp_path / "o"


def test_a_sequence_run_draws_stays_with_a_row_that_reproduces_a_real_row_again(tmp_path: Path, caplog) -> None:
    """The audit checks a sequence table's rows too: an ICU run failed it with one admission row (time
    0, a man of 78, 94 kg) equal to a real stay's. Here rows are (t, sex, v, w), 240 possible and
    ~20 of them unique among 900 real rows, so honest stays hold such rows without repeating a whole
    record: the run draws those stays again and its audit passes."""
    rng = np.random.default_rng(5)
    n = 300
    real = pd.DataFrame({"stay": np.repeat(np.arange(n), 3), "t": np.tile([0, 60, 120], n),
                         "sex": np.repeat(rng.choice(["F", "M"], n), 3),
                         "v": rng.integers(0, 20, 3 * n), "w": rng.choice(["lo", "hi"], 3 * n)})
    out = _run_stays(real, tmp_path, caplog)
    records = ReproducedEntities(real, profile(real).table(), "stay", "t", DEFAULT_MIN_ROW_COLUMNS)
    steps = real.drop(columns="stay")  # the stay id is not learned: the run's audit leaves it out too
    same_row = ReproducedRows(steps, profile(steps).table())

    def rows(frame: pd.DataFrame) -> np.ndarray:
        return same_row(frame.drop(columns="stay"))

    first_draw = load(str(out / "model")).sample(n, seed=0)  # what the run drew before the redraws
    hit_by_row = set(first_draw.loc[rows(first_draw), "stay"])
    assert len(hit_by_row - set(records(first_draw).pipe(lambda h: h.index[h.to_numpy()]))) >= 5  # rows, not records
    synthetic = pd.read_csv(out / "synthetic.csv")
    assert not rows(synthetic).any() and not records(synthetic).any() and synthetic["stay"].nunique() == n
    assert any("again: they reproduced a unique real entity's whole record or row" in r.message for r in caplog.records)
    doc = json.loads((out / "audit.json").read_text())
    assert doc["passed"] and not doc["findings"]


def test_a_sequence_run_draws_stays_that_reproduce_a_real_record_again(tmp_path: Path, caplog) -> None:
    real = _one_record_space()
    out = _run_stays(real, tmp_path, caplog)
    check = ReproducedEntities(real, profile(real).table(), "stay", "t", DEFAULT_MIN_ROW_COLUMNS)
    first_draw = load(str(out / "model")).sample(300, seed=0)  # what the run drew before the redraws
    before = int(check(first_draw).sum())
    synthetic = pd.read_csv(out / "synthetic.csv")
    after = int(check(synthetic).sum())
    assert before >= 50 and after <= 1  # about a third of honest draws land on a unique record (77-94 at seeds 0-2)
    assert any("again: they reproduced a unique real entity's whole record or row" in r.message for r in caplog.records)
    assert synthetic["stay"].nunique() == 300 and len(synthetic) == 600 and synthetic.groupby("stay").size().eq(2).all()
    doc = json.loads((out / "audit.json").read_text())
    assert "record_rule" in doc["rules"]
    assert sum(f["count"] for f in doc["findings"] if f["kind"] == "real_record") == after  # what is left, same rule
    # the run folder records its sequence columns, so auditing it later compares whole records too
    table = json.loads((out / "metadata.json").read_text())["tables"]["seq"]
    assert (table["sequence_key"], table["sequence_index"]) == ("stay", "t")
    unique = check(real)
    two = real[real["stay"].isin(unique.index[unique.to_numpy()][:2])]
    planted = pd.concat([synthetic, two.assign(stay=lambda d: d["stay"] + 90_000, t=lambda d: d["t"] + 30)])
    planted.to_csv(out / "synthetic.csv", index=False)
    later = audit(real, run_dir=out)
    assert sum(f["count"] for f in later.findings if f["kind"] == "real_record") == after + 2 and not later.passed
