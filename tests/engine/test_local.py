"""The local engine: per-block seeds (same rows at any worker count), the copula from merged
statistics, and a streaming run over a Parquet lake larger than a memory cap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.slow
def test_local_run_over_a_lake_larger_than_a_memory_cap(tmp_path: Path) -> None:
    """Under RLIMIT_AS (address space left after a warm-up run + 192 MB) loading the 3 M-row lake
    fails, and profile -> fit copula -> sample -> evaluate -> audit over it completes."""
    write_lake(3_000_000, 30, str(tmp_path / "big"))
    write_lake(4_000, 2, str(tmp_path / "small"))
    env = {**os.environ, "MALLOC_ARENA_MAX": "1", "OMP_NUM_THREADS": "1", "ARROW_IO_THREADS": "1",
           "ARROW_DEFAULT_MEMORY_POOL": "system", "SYNTHKIT_QUIET": "1"}
    script = Path(__file__).with_name("memcap_run.py")
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "big"), str(tmp_path / "small"), str(tmp_path), "192"],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result["load"].startswith("loaded"), result  # the cap binds: the table does not fit under it
    assert result["status"] == "ok" and result["fidelity"] > 0.9
    assert result["rows"]["real"] + result["rows"]["holdout"] == 3_000_000
    assert result["sample"]["rows"] == result["rows"]["real"]
