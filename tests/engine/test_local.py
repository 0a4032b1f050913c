"""The local engine: per-block seeds (same rows at any worker count), the copula from merged
statistics, and a streaming run over a Parquet lake larger than a memory cap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthkit.engine import EngineSpec, create_engine
from synthkit.engine.sampling import block_plan, block_seed
from synthkit.models import create
from synthkit.models.copula_stats import fit_copula_from_batches
from synthkit.profile.merged import profile_sketch

sys.path.insert(0, str(Path(__file__).parent))
from lake_data import frame as lake_frame  # noqa: E402
from lake_data import write_lake  # noqa: E402

from synthkit.io.lake import write_partitioned  # noqa: E402


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return lake_frame(30_000, seed=5)


@pytest.fixture(scope="module")
def streamed(data: pd.DataFrame) -> tuple:
    with create_engine("local", num_workers=2, batch_rows=4_000) as eng:
        sketch = eng.merge_stats(data, sample_rows=3_000)
        meta = profile_sketch(sketch, "t")
        model = fit_copula_from_batches(lambda fn: eng.map_batches(data, fn), meta, sketch, seed=0)
    return meta, model


def test_block_plan_and_seeds_do_not_depend_on_workers() -> None:
    assert block_plan(250, 100) == [(0, 100), (1, 100), (2, 50)]
    assert block_plan(0, 100) == []
    assert len({block_seed(7, i) for i in range(1000)}) == 1000 and block_seed(7, 3) == block_seed(7, 3) != block_seed(8, 3)


def test_same_rows_at_one_and_two_workers(tmp_path: Path, streamed: tuple) -> None:
    _, model = streamed
    model.save(tmp_path / "model")
    outs = []
    for workers in (1, 2):
        with create_engine(EngineSpec(num_workers=workers, block_rows=3_000)) as eng:
            res = eng.sample(tmp_path / "model", 10_000, seed=11, out_dir=tmp_path / f"w{workers}")
        assert (res.rows, res.blocks) == (10_000, 4)
        outs.append(pd.read_parquet(tmp_path / f"w{workers}"))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    assert not outs[0].equals(model.sample(10_000, seed=12))


def test_copula_from_merged_statistics_matches_the_in_memory_fit(data: pd.DataFrame, streamed: tuple) -> None:
    meta, model = streamed
    reference = create("copula", metadata=meta, seed=0).fit(data)
    # normal-score correlations agree to the grid resolution plus sampling noise of the jitter
    assert np.abs(model.correlation_ - reference.correlation_).max() < 0.03
    a = model.sample(20_000, seed=1)
    b = reference.sample(20_000, seed=1)
    assert list(a.columns) == list(data.columns) and (a.dtypes == data.dtypes).all()
    for col in ("a", "b", "c", "d"):
        qs = [0.05, 0.25, 0.5, 0.75, 0.95]
        assert np.allclose(a[col].quantile(qs), b[col].quantile(qs), atol=0.05 * data[col].std())
    assert abs(a[["a", "b"]].corr().iloc[0, 1] - data[["a", "b"]].corr().iloc[0, 1]) < 0.03
    assert abs(a["e"].isna().mean() - data["e"].isna().mean()) < 0.01
    shares = a["grp"].value_counts(normalize=True)
    assert set(shares.index) == set(data["grp"]) and shares.max() < 0.07


def _capped_lake(folder: Path, rows: int, parts: int, chars: int) -> int:
    """The lake of ``lake_data`` plus a text column of ``chars`` letters (one distinct value per row,
    as notes or descriptions are), in ``parts`` files; returns the table's pandas size in memory."""
    per, size = rows // parts, 0

    def frames() -> Any:
        nonlocal size
        for i in range(parts):
            frame = lake_frame(per, seed=100 + i)
            letters = np.random.default_rng(i).integers(97, 123, (per, chars), dtype=np.uint8)
            frame["note"] = letters.view(f"S{chars}").ravel().astype(str).astype(object)
            size += int(frame.memory_usage(deep=True).sum())
            yield frame

    write_partitioned(frames(), str(folder))
    return size


@pytest.mark.parametrize("rows,chars,parts,batch,budget_mb", [
    pytest.param(150_000, 2_000, 75, 2_000, 160, id="ci"),  # a 310 MB table under a 160 MB budget
    pytest.param(600_000, 2_000, 300, 2_000, 160, id="600k", marks=pytest.mark.slow),  # 1.2 GB, same budget
])
def test_local_run_over_a_lake_larger_than_a_memory_cap(tmp_path: Path, rows: int, chars: int, parts: int, batch: int,
                                                        budget_mb: int) -> None:
    """A subprocess warms up (one tiny pipeline run), caps its data segment with RLIMIT_DATA at what
    it uses plus ``budget_mb`` (RLIMIT_AS would cap the address ranges torch, OpenBLAS and Arrow
    reserve but never touch; RLIMIT_DATA caps the heap and anonymous mappings every allocation
    uses), and then: reading the lake into pandas fails (the table is ~2x the budget, 8x in the
    slow variant, whose budget is the same: memory does not grow with rows), while
    profile -> fit copula -> sample -> evaluate -> audit over the same lake completes, streamed in
    ``batch``-row batches. The budget holds what does not grow with rows: quantile summaries (up to
    64k points per column), up to 10,000 distinct texts per column sketch before it switches to
    hashes, a few batches in flight, Arrow's read buffers, allocator slack. (It failed while the
    local engine's threaded Parquet scan read files ahead of slower workers: now a serial scan.)"""
    size = _capped_lake(tmp_path / "lake", rows, parts, chars)
    assert size > 1.8 * budget_mb * 2**20, size
    write_lake(4_000, 2, str(tmp_path / "small"))
    env = {**os.environ, "MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "ARROW_IO_THREADS": "1", "ARROW_DEFAULT_MEMORY_POOL": "system",
           "SYNTHKIT_QUIET": "1"}
    script = Path(__file__).with_name("memcap_run.py")
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "lake"), str(tmp_path / "small"), str(tmp_path),
                           str(budget_mb), str(batch)], capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["load"] != f"loaded {rows} rows", result  # the cap binds: the table does not fit under it
    assert result["status"] == "ok" and result["fidelity"] > 0.85, result
    assert result["rows"]["real"] + result["rows"]["holdout"] == rows
    assert result["sample"]["rows"] == result["rows"]["real"] == result["audit_rows"]


def test_a_damaged_model_fails_in_the_sampling_processes_with_a_clear_error(tmp_path: Path, streamed: tuple) -> None:
    """Two workers sample in forked processes; what a worker raises reaches the caller as the same
    synthkit error (not a broken pool), and nothing is left half written."""
    from synthkit.errors import ModelFileError

    _, model = streamed
    model.save(tmp_path / "model")
    for path in sorted((tmp_path / "model").iterdir()):
        if path.suffix == ".json":
            path.write_text(path.read_text()[: len(path.read_text()) // 2])  # truncated: not a model any more
    with create_engine(EngineSpec(num_workers=2, block_rows=3_000)) as eng, pytest.raises(ModelFileError):
        eng.sample(tmp_path / "model", 10_000, seed=11, out_dir=tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.parquet"))
