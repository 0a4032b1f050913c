"""The Ray engine on a real two-node local Ray cluster (``ray.cluster_utils.Cluster``, 1 CPU per node).

One cluster for the module (started here, never an existing one): the same rows as the local engine
for a seed, merged statistics equal to the local engine's, a sampling actor killed mid-job still
yields exactly n unique rows, and a pipeline gives the same fidelity on Ray as locally.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ray = pytest.importorskip("ray", reason="synthkit[ray] not installed")

from synthkit.engine import EngineSpec, create_engine  # noqa: E402
from synthkit.engine.holdout import HashSplit, split_sketches  # noqa: E402
from synthkit.engine.ray_engine import USAGE_STATS_ENV, import_ray  # noqa: E402
from synthkit.errors import DataError  # noqa: E402
from synthkit.evaluate.schema import validate_metrics  # noqa: E402
from synthkit.io.lake import LakeSource  # noqa: E402
from synthkit.models import create  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from lake_data import write_lake  # noqa: E402
from sink_checks import assert_same_rows, execute, old_rows, staging_tables  # noqa: E402

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    import_ray()  # as the engine does before it starts a cluster: Ray's usage statistics off
    nodes = Cluster(initialize_head=True, connect=False, head_node_args={"num_cpus": 1, "include_dashboard": False})
    nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    ray.init(address=nodes.address, log_to_driver=False)  # an explicit address: our own cluster only
    try:
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lake") / "t"
    write_lake(12_000, 4, str(folder))
    return folder


@pytest.fixture(scope="module")
def model_dir(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.read_parquet(lake)
    folder = tmp_path_factory.mktemp("model") / "copula"
    create("copula", seed=0, n_quantiles=101).fit(frame).save(folder)
    return folder


def _ray(**kw: object) -> object:
    return create_engine(EngineSpec(kind="ray", num_workers=2, batch_rows=3_000, block_rows=2_500, **kw))  # type: ignore[arg-type]


def test_engine_joins_only_the_given_cluster_and_records_it(cluster: object) -> None:
    with _ray() as eng:
        info = eng.info()
    assert info["kind"] == "ray" and info["workers"] == 2 and info["nodes"] == 2
    assert ray.is_initialized()  # the engine did not shut down a cluster it did not start


def test_ray_usage_statistics_are_off_unless_the_user_turned_them_on(
    cluster: object, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """synthkit promises no network beyond what the user configures; Ray would report usage by default."""
    with _ray() as eng:
        assert eng.sample(model_dir, 5_000, seed=4, out_dir=tmp_path / "synthetic").rows == 5_000  # a Ray Data job
    assert os.environ[USAGE_STATS_ENV] == "0"
    # with statistics on, Ray Data leaves this thread polling a Prometheus server for the process's life
    assert "data-usage-metrics-poller" not in {thread.name for thread in threading.enumerate()}
    monkeypatch.setenv(USAGE_STATS_ENV, "1")
    import_ray()
    assert os.environ[USAGE_STATS_ENV] == "1", "a user's explicit opt-in is kept"


def test_same_rows_for_a_seed_on_ray_and_locally(cluster: object, model_dir: Path, tmp_path: Path) -> None:
    with _ray() as eng:
        on_ray = eng.sample(model_dir, 9_000, seed=4, out_dir=tmp_path / "ray")
    with create_engine(EngineSpec(num_workers=1, block_rows=2_500)) as eng:
        eng.sample(model_dir, 9_000, seed=4, out_dir=tmp_path / "local")
    assert (on_ray.rows, on_ray.blocks) == (9_000, 4)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ray"), pd.read_parquet(tmp_path / "local"))


def test_killed_sampling_actor_still_yields_exactly_n_unique_rows(cluster: object, model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    with _ray(options={"kill_block": 1}) as eng:
        result = eng.sample(model_dir, 9_000, seed=4, out_dir=out)
    assert (tmp_path / ".synthetic.killed-1").is_file()  # an actor process was SIGKILLed at block 1
    frame = pd.read_parquet(out)
    assert result.rows == len(frame) == 9_000
    assert not frame.duplicated().any()
    assert sorted(p.name for p in out.glob("*.parquet")) == [f"part-{i:06d}.parquet" for i in range(4)]
    with create_engine(EngineSpec(num_workers=2, block_rows=2_500)) as eng:  # the retried block is the same block
        eng.sample(model_dir, 9_000, seed=4, out_dir=tmp_path / "local")
    pd.testing.assert_frame_equal(frame, pd.read_parquet(tmp_path / "local"))


@pytest.mark.postgres
def test_ray_workers_sink_to_postgres_and_a_writer_killed_mid_transaction_is_retried(
        cluster: object, model_dir: Path, tmp_path: Path, pg_url: str) -> None:
    """Workers COPY the parts into a staging table; the one killed inside part 2's transaction is
    retried and the table ends with exactly the Parquet rows. An append the target's CHECK
    constraint refuses leaves the old rows and no staging table."""
    out = tmp_path / "synthetic"
    execute(pg_url, "CREATE TABLE synth (x int)", "INSERT INTO synth VALUES (1), (2)")
    with _ray(options={"kill_sink_part": 2}) as eng:
        eng.sample(model_dir, 9_000, seed=4, out_dir=out)
        result = eng.sink_sql(out, pg_url, "synth")
    assert (tmp_path / ".sink-killed-2").is_file()  # a worker process was SIGKILLed before its commit
    assert (result.rows, result.parts, result.loaded_by, result.method) == (9_000, 4, "workers", "COPY")
    assert_same_rows(pg_url, "synth", out)
    assert staging_tables(pg_url) == []
    execute(pg_url, "ALTER TABLE synth ADD CONSTRAINT small_a CHECK (a < 1) NOT VALID")
    before = old_rows(pg_url)
    with _ray() as eng, pytest.raises(DataError, match="small_a"):
        eng.sink_sql(out, pg_url, "synth", if_exists="append")
    assert old_rows(pg_url) == before and staging_tables(pg_url) == []


def test_merged_statistics_on_ray_equal_local(cluster: object, lake: Path) -> None:
    source = LakeSource.open(lake)
    with _ray() as eng:
        remote = eng.merge_stats(source, sample_rows=500, seed=2)
    with create_engine(EngineSpec(num_workers=2, batch_rows=5_000)) as eng:
        local = eng.merge_stats(source, sample_rows=500, seed=2)
    assert remote.rows == local.rows == 12_000
    pd.testing.assert_frame_equal(remote.sample, local.sample)
    for name, col in local.columns.items():
        other = remote.columns[name]
        assert (other.missing, other.minimum, other.maximum, other.categories) == (col.missing, col.minimum, col.maximum, col.categories)
        bound = (col.rank_error + other.rank_error) / col.present + 2 / col.present
        if col.family == "numeric":
            qs = np.linspace(0.01, 0.99, 9)
            values = pd.read_parquet(lake)[name].dropna().to_numpy(dtype=float)
            for q, v in zip(qs, other.quantiles(qs), strict=True):
                assert np.mean(values < v) - bound <= q <= np.mean(values <= v) + bound


def test_a_dataframe_with_missing_text_splits_on_ray_as_locally(cluster: object) -> None:
    """A DataFrame source (the bundled tables are one) whose text columns hold missing values, one of them
    mixing numbers and text, one with a single value. Ray kept such columns as pickled objects whose frames came back unindexable
    (``engine: ray`` on Adult failed in evaluation); they are Arrow strings now, the mixed one as text."""
    rng = np.random.default_rng(0)
    n = 4_000
    frame = pd.DataFrame({"age": rng.integers(18, 90, n),
                          "job": np.where(rng.random(n) < 0.1, None, rng.choice(["clerk", "nurse", "pilot"], n)),
                          "code": pd.Series("A7", index=range(n), dtype=object)})
    frame.loc[rng.random(n) < 0.5, "code"] = 7  # numbers and text in one column
    frame.loc[::50, "code"] = np.nan
    frame["note"] = None
    frame.loc[0, "note"] = "seen once"  # text in one block only: every block gets the same column types
    split = HashSplit(0.5, 0)
    with _ray() as eng:
        train, hold = split_sketches(eng, frame, n, split, sample_rows=500, seed=0)
    with create_engine(EngineSpec(num_workers=2, batch_rows=1_000)) as eng:
        local_train, local_hold = split_sketches(eng, frame.astype({"code": str}).mask(frame.isna()), n, split, 500, 0)
    for remote, local in ((train, local_train), (hold, local_hold)):
        assert remote.rows == local.rows and remote.rows + (hold.rows if remote is train else train.rows) == n
        pd.testing.assert_frame_equal(remote.sample.iloc[::7].reset_index(drop=True), local.sample.iloc[::7].reset_index(drop=True))
    assert hold.sample["job"].isna().any() and set(hold.sample["code"].dropna()) == {"7", "A7"}


def test_pipeline_on_ray_gives_the_local_fidelity(cluster: object, lake: Path, tmp_path: Path) -> None:
    """Same YAML, engine local vs ray: fidelity within 0.02 (the seeded detection sample is the
    same; column shapes and pair trends over all rows differ only by quantile-summary error)."""
    results = {}
    for kind in ("local", "ray"):
        cfg = {"name": f"lake-{kind}", "output_dir": str(tmp_path / kind), "source": {"path": str(lake)},
               "model": {"name": "copula", "params": {"n_quantiles": 201}},
               "evaluate": {"max_rows": 1_500, "target": "flag", "families": ["fidelity", "privacy"]},
               "engine": {"kind": kind, "num_workers": 2, "batch_rows": 3_000, "block_rows": 2_500, "sample_rows": 1_500}}
        path = tmp_path / f"{kind}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        from synthkit.pipeline import run

        result = run(path)
        assert result.status == "ok", result.to_dict()
        metrics = json.loads((tmp_path / kind / "metrics.json").read_text())
        validate_metrics(metrics)  # the schema every metrics.json keeps
        results[kind] = (metrics, json.loads((tmp_path / kind / "engine.json").read_text()))
    (local, local_run), (remote, remote_run) = results["local"], results["ray"]
    assert remote["meta"]["pipeline"]["engine"] == {"name": "ray", "workers": 2} and local_run["samples"] == remote_run["samples"]
    assert local["meta"]["pipeline"]["engine"]["name"] == "local" and remote_run["engine"]["nodes"] == 2
    assert remote["meta"]["evaluated_rows"]["real"] == local["meta"]["evaluated_rows"]["real"] == 1_500
    assert remote_run["samples"]["real"] == 1_500 and remote["meta"]["rows"] == local["meta"]["rows"]
    assert abs(remote["fidelity"]["score"] - local["fidelity"]["score"]) <= 0.02
    assert abs(remote["fidelity"]["column_shapes"] - local["fidelity"]["column_shapes"]) <= 0.01
    assert remote_run["audit"]["synthetic_rows"] == remote_run["sample"]["rows"] == remote["meta"]["rows"]["synthetic"]
    assert (tmp_path / "ray" / "report.html").read_text().count("seeded") >= 1
