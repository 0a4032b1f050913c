"""Benchmark: distributed training of ``arm`` on Ray Train over a Parquet dataset no worker holds.

Recorded run (run it when the machine is idle; about 15 minutes on 2 idle cores, estimated from the
quick check: the 1-core runs' start-up and statistics pass are about twice as long as on 2 cores;
without ``--no-plain`` add the same-machine 1-worker run, about 4 more minutes)::

    .venv/bin/python benchmarks/train_ray.py --rows 10000000 --small-rows 1000000 --sample-rows 1000000 \
        --minutes 2 --small-minutes 2 --no-plain

An epoch over 10 M rows takes far longer than that on 2 cores, so every run is time-budgeted (the
same budget for the Ray runs and the in-process one, so their quality compares like for like) and
seconds per epoch are projected from the measured rows/s. Quick check of the script (7 minutes under
load 3-10): ``--rows 200000 --small-rows 50000 --sample-rows 50000 --minutes 1 --small-minutes 1 --no-plain``.
Writes ``benchmarks/results/train_ray.json`` and ``.md``.

Data: Adult's training rows bootstrapped to ``--rows`` rows with jittered numbers (age ±2 years,
fnlwgt × log-normal, hours ±3), written as Parquet part files of 125,000 rows (chunk by chunk: the
driver never holds the table). Training streams the files (no materialization, at every row count:
the memory comparison is like for like): each worker reads its own part files. Runs, with resources
scaling with workers: on a Ray cluster pinned to 1 core, 1 worker on ``--small-rows`` and on
``--rows`` rows; on 2 cores, 2 workers on ``--rows`` rows and (unless ``--no-plain``) 1 worker, the
same-machine comparison; each for one epoch or ``--minutes``; then arm in one process on a seeded
``--sample-rows`` sample (whole part files chosen by seed: the parts are i.i.d. bootstrap draws).
Measured per run: training rows/s (streaming, encoding and steps from the first batch of an epoch on:
the pipeline's start-up, long on a 1-core cluster, is not throughput; the validation pass over its
50,000 rows kept in the object store is not counted), seconds per epoch, peak RSS of every training
worker (``ru_maxrss``, with the sampled peaks of its heap and of the object-store pages it touched)
at two row counts against a fixed budget (:data:`RSS_BUDGET_MB`), SDMetrics Quality of 20,000
sampled rows against Adult's *test* rows (never trained on) with the quality of 20,000 real training
rows as the ceiling; then the 1 → 2 worker scaling efficiency and the projected time of one epoch
over 1 B rows on N workers. The load average is recorded at start and end.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from models import _columns, _quality  # noqa: E402  (benchmarks/models.py: SDMetrics QualityReport on learned columns)

from synthkit.datasets import load  # noqa: E402
from synthkit.engine.train import BLOCK_BYTES, STREAM_OBJECT_STORE_BYTES  # noqa: E402
from synthkit.utils.atomic import write_json, write_text  # noqa: E402
from synthkit.utils.formatting import cell  # noqa: E402

PART_ROWS = 125_000
ALL_CORES = frozenset(os.sched_getaffinity(0))
ARM = {"epochs": 1, "batch_size": 512}
# The claim: every training worker stays below this at any row count. Why 1 GB: a worker before its
# first batch holds ~520 MB (Ray worker, torch, the model and its encoders: measured); streaming adds
# what configuration bounds, not rows: the object-store pages of blocks Ray Data fills ahead
# (STREAM_OBJECT_STORE_BYTES, 256 MB), a few blocks of at most BLOCK_BYTES (8 MB) copied into the
# shuffle buffer of 20,000 rows, and the step's activations (arm, batch 512: tens of MB).
RSS_BUDGET_MB = 1024
BUDGET_REASON = ("Why 1,024 MB: a worker holds ~520 MB before its first batch (Ray worker, torch, model and "
                 "encoders); streaming adds only what configuration bounds: up to 256 MB of object-store pages "
                 "(what Ray Data may fill ahead of the workers), a few blocks of at most 8 MB copied into the "
                 "20,000-row shuffle buffer, and a step's activations.")


def write_lake(train: pd.DataFrame, rows: int, folder: Path, seed: int = 0) -> Path:
    """``rows`` bootstrapped Adult rows as Parquet parts of PART_ROWS rows (one chunk in memory at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.parquet"))) == -(-rows // PART_ROWS):
        return folder
    rng = np.random.default_rng(seed)
    for i, start in enumerate(range(0, rows, PART_ROWS)):
        n = min(PART_ROWS, rows - start)
        chunk = train.iloc[rng.integers(0, len(train), n)].reset_index(drop=True)
        chunk["age"] = np.clip(chunk["age"] + rng.integers(-2, 3, n), 17, 90)
        chunk["fnlwgt"] = np.round(chunk["fnlwgt"] * rng.lognormal(0, 0.05, n)).astype(np.int64)
        chunk["hours-per-week"] = np.clip(chunk["hours-per-week"] + rng.integers(-3, 4, n), 1, 99)
        pq.write_table(pa.Table.from_pandas(chunk, preserve_index=False), folder / f"part-{i:04d}.parquet")
    return folder


def start_cluster(cores: int) -> None:
    """A private local Ray cluster on ``cores`` of this machine's cores.

    The driver pins itself with ``os.sched_setaffinity`` before ``ray.init``; every process Ray starts
    (GCS, raylet, training workers, Ray Data's read and encode tasks) is its descendant and inherits
    the mask, so a 1-core cluster really runs on one core. Ray's logical CPUs stay 2 on either (the
    same scheduling, only the physical cores differ; with ``num_cpus=1`` Ray Data's 1-CPU ListFiles
    task never fits next to a 0.5-CPU worker and the pipeline hangs). The mask is restored on stop.
    """
    import ray

    if ray.is_initialized():
        ray.shutdown()
    os.sched_setaffinity(0, ALL_CORES)
    os.sched_setaffinity(0, set(sorted(ALL_CORES)[:cores]))
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)


def stop_cluster() -> None:
    import ray

    ray.shutdown()
    os.sched_setaffinity(0, ALL_CORES)


def ray_run(lake: Path, rows: int, workers: int, minutes: float, metadata: Any, cores: int) -> dict[str, Any]:
    from synthkit.engine import EngineSpec, create_engine
    from synthkit.engine.train import fit_on_ray
    from synthkit.models.arm import AutoregressiveSynthesizer

    # 0.5 CPU per worker (1 torch thread either way): with 2 workers at 0.75 on 2 cores, the 0.5 CPU left
    # was too little for Ray Data's read operator ("Cluster resources are not enough ... may hang forever")
    eng = create_engine(EngineSpec(kind="ray", num_workers=workers, cpus_per_worker=0.5))
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    model = fit_on_ray(AutoregressiveSynthesizer(metadata=metadata, max_minutes=minutes, **ARM), lake, eng,
                       materialize=False)
    info = model.training_engine_
    rps = info["rows_per_second"]
    return {"engine": f"ray, {workers} worker{'s' if workers > 1 else ''}, {cores} core{'s' if cores > 1 else ''}",
            "workers": workers, "cores": cores, "rows": rows,
            "fit_seconds": time.perf_counter() - start, "preprocess_seconds": info["preprocess_seconds"],
            "train_seconds": info["train_seconds"], "rows_per_second": rps,
            "seconds_per_epoch": rows / rps if rps else None,
            "stop_reason": model.fit_info_["stop_reason"], "peak_rss_mb_per_worker": info["peak_rss_mb_per_worker"],
            "peak_memory_mb_per_worker": info.get("peak_memory_mb_per_worker", {}),
            "load_average_1min": [load_before, os.getloadavg()[0]], "model": model}


def local_run(lake: Path, rows: int, minutes: float, metadata: Any) -> dict[str, Any]:
    """arm in one process on a seeded sample of the lake (the usual answer without a cluster).

    The sample is whole part files picked by seed (each part is an i.i.d. bootstrap draw, so they are
    a random sample), cut to ``rows``: the driver never reads the whole lake.
    """
    import pyarrow.parquet as pq

    from synthkit.models.arm import AutoregressiveSynthesizer

    files = sorted(lake.glob("*.parquet"))
    picked = np.random.default_rng(1).permutation(len(files))[: -(-rows // PART_ROWS)]
    sample = pd.concat([pq.read_table(files[i]).to_pandas() for i in sorted(picked)], ignore_index=True).head(rows)
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    model = AutoregressiveSynthesizer(metadata=metadata, max_minutes=minutes, **ARM).fit(sample)
    info = model.fit_info_
    return {"engine": "local, 1 process, sample", "workers": 1, "rows": len(sample),
            "fit_seconds": time.perf_counter() - start,
            "preprocess_seconds": info["preprocess_seconds"], "train_seconds": info["train_seconds"],
            "rows_per_second": len(sample) * 0.9 * info["epochs"] / info["train_seconds"] if info["train_seconds"] else None,
            "seconds_per_epoch": info["seconds_per_epoch"], "stop_reason": info["stop_reason"],
            "load_average_1min": [load_before, os.getloadavg()[0]], "model": model}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--small-rows", type=int, default=1_000_000)
    parser.add_argument("--sample-rows", type=int, default=1_000_000)
    parser.add_argument("--minutes", type=float, default=3.5, help="training budget of each run on --rows rows")
    parser.add_argument("--small-minutes", type=float, default=1.5, help="training budget of the --small-rows run")
    parser.add_argument("--no-plain", action="store_true",
                        help="skip the 1-worker run on 2 cores (the same-machine comparison)")
    parser.add_argument("--data", type=Path, default=Path("/tmp/synthkit-train-ray"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    import ray

    from synthkit.profile import profile

    began, load_start = time.perf_counter(), os.getloadavg()
    train, test = load("adult")
    metadata = profile(train)
    sdtypes = _columns(train)
    big = write_lake(train, args.rows, args.data / f"adult_{args.rows}")
    small = write_lake(train, args.small_rows, args.data / f"adult_{args.small_rows}")
    start_cluster(1)  # resources scale with workers: 1 worker on 1 core, 2 workers on 2 cores
    small_1 = ray_run(small, args.small_rows, 1, args.small_minutes, metadata, cores=1)
    big_1 = ray_run(big, args.rows, 1, args.minutes, metadata, cores=1)
    start_cluster(2)
    big_2 = ray_run(big, args.rows, 2, args.minutes, metadata, cores=2)
    plain = None if args.no_plain else ray_run(big, args.rows, 1, args.minutes, metadata, cores=2)
    stop_cluster()
    local = local_run(big, args.sample_rows, args.minutes, metadata)
    runs = [r for r in (small_1, big_1, plain, big_2, local) if r is not None]
    for run in runs:
        model = run.pop("model")
        run.update(_quality(test, model.sample(20_000, seed=0), sdtypes))
    ceiling = _quality(test, train.sample(20_000, random_state=0), sdtypes)
    one, two = big_1["rows_per_second"], big_2["rows_per_second"]
    efficiency = two / (2 * one) if one and two else None  # fair: 2 workers on 2 cores vs 1 worker on 1 core
    plain_efficiency = two / (2 * plain["rows_per_second"]) if plain and plain["rows_per_second"] else None
    projection = [{"workers": n, "hours_per_epoch_1b_rows": 1e9 / (one * n * (efficiency if n > 1 else 1.0)) / 3600}
                  for n in (1, 2, 8, 32, 128)] if one and efficiency else []
    peaks = [max(r["peak_rss_mb_per_worker"]) for r in runs if r.get("peak_rss_mb_per_worker")]
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__},
              "rows": args.rows, "small_rows": args.small_rows, "sample_rows": args.sample_rows,
              "minutes_per_run": args.minutes, "small_minutes": args.small_minutes, "runs": runs,
              "ceiling_real_train_rows": ceiling, "scaling_efficiency_1_to_2": efficiency,
              "scaling_efficiency_1_to_2_same_cores": plain_efficiency, "projection": projection,
              "rss_budget_mb": RSS_BUDGET_MB, "block_mb": BLOCK_BYTES / 2**20,
              "stream_object_store_mb": STREAM_OBJECT_STORE_BYTES / 2**20, "peak_rss_mb": max(peaks) if peaks else None,
              "rss_within_budget": bool(peaks) and max(peaks) <= RSS_BUDGET_MB,
              "load_average_start": load_start, "load_average_end": os.getloadavg(),
              "total_minutes": (time.perf_counter() - began) / 60}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "train_ray.json", result)
    write_text(args.out / "train_ray.md", render(result))


def _memory(run: dict[str, Any]) -> str:
    """Peak RSS per worker, with the private heap (RssAnon) and touched object-store pages (RssShmem) beside it."""
    peaks = run.get("peak_rss_mb_per_worker")
    if not peaks:
        return "(one process)"
    kinds = run.get("peak_memory_mb_per_worker") or {}
    return ", ".join(f"{rss:,.0f} ({anon:,.0f} / {shm:,.0f})" if kinds else f"{rss:,.0f}"
                     for rss, anon, shm in zip(peaks, kinds.get("anon", peaks), kinds.get("shmem", peaks)))


def render(r: dict[str, Any]) -> str:
    runs = r["runs"]
    local = runs[-1]
    small_1, big_1 = runs[0], runs[1]
    plain = next((run for run in runs if run.get("cores") == 2 and run["workers"] == 1), None)
    lines = ["# arm on Ray Train: throughput, memory per worker, quality", "",
             f"Adult bootstrapped to {r['rows']:,} rows (and {r['small_rows']:,}) of Parquet part files; arm defaults "
             f"(batch 512), one epoch or {r['minutes_per_run']} min per run ({r['small_minutes']} min for the "
             f"{r['small_rows']:,}-row run; the in-process run on the sample gets the same budget): an epoch that does "
             "not fit the budget is projected as rows / rows/s. Every Ray run streams its part files (no "
             "materialization) with the same settings: Ray Data blocks of at most "
             f"{r['block_mb']:.0f} MB, at most {r['stream_object_store_mb']:.0f} MB of object store filled ahead of the "
             "workers, a local shuffle buffer of 20,000 encoded rows. Resources scale with workers: the 1-worker runs "
             "use a Ray cluster pinned to 1 core (`sched_setaffinity` before `ray.init`, inherited by every Ray "
             "process; Ray's logical CPUs stay 2), the 2-worker run a cluster on both cores"
             + (" (and, for the same-machine comparison, 1 worker on both cores)" if plain else "") + ". "
             f"{r['machine']['cpus']} cores; load average {', '.join(f'{v:.1f}' for v in r['load_average_start'])} at "
             f"start, {', '.join(f'{v:.1f}' for v in r['load_average_end'])} at the end (other engineers share the "
             f"machine: timings are pessimistic under load). Whole run: {r['total_minutes']:.1f} min.", "",
             "| engine | rows | rows/s | s/epoch | stop | peak RSS/worker MB (heap / object store) | quality vs holdout "
             "| shapes | pairs | load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        lines.append(f"| {run['engine']} | {run['rows']:,} | {cell(run['rows_per_second'], 0)} | "
                     f"{cell(run['seconds_per_epoch'], 0)} | {run['stop_reason']} | {_memory(run)} | "
                     f"{cell(run['quality'], 3)} | {cell(run['column_shapes'], 3)} | {cell(run['column_pair_trends'], 3)} | "
                     f"{', '.join(f'{v:.1f}' for v in run['load_average_1min'])} |")
    c = r["ceiling_real_train_rows"]
    best = max(runs[:-1], key=lambda run: run["quality"])
    lines += ["", f"Quality is SDMetrics' QualityReport of 20,000 sampled rows against Adult's test rows (never trained "
              f"on). Ceiling (20,000 real training rows vs the same test rows): {c['quality']:.3f}. The in-process "
              f"model on a {local['rows']:,}-row sample scores {cell(local['quality'], 3)}; the best Ray run "
              f"{cell(best['quality'], 3)} ({best['engine']}, {best['rows']:,} rows).", "",
              f"Memory: budget {r['rss_budget_mb']} MB per training worker at any row count; highest peak measured "
              f"{cell(r['peak_rss_mb'], 0)} MB — {'within' if r['rss_within_budget'] else 'OVER'} the budget. Like for "
              f"like (1 worker, 1 core, same streaming settings): {max(small_1['peak_rss_mb_per_worker']):,.0f} MB at "
              f"{small_1['rows']:,} rows, {max(big_1['peak_rss_mb_per_worker']):,.0f} MB at {big_1['rows']:,}. "
              "Peak RSS is `ru_maxrss`: the worker's heap (RssAnon, in brackets) plus the ~170 MB of torch and Ray "
              "libraries (RssFile) plus the object-store pages its zero-copy batches touched (RssShmem, shared with "
              "the node's object store, bounded by the streaming budget). " + BUDGET_REASON, "",
              f"Scaling efficiency 1 → 2 workers: {cell(r['scaling_efficiency_1_to_2'], 2)} with resources scaling "
              "with workers (2 workers on 2 cores vs 1 worker on 1 core; Ray Data's read and encode tasks share each "
              "cluster's cores with its workers)"
              + (f"; {cell(r['scaling_efficiency_1_to_2_same_cores'], 2)} on the same 2 cores (1 worker there also "
                 "has the second core for its data tasks, so this understates scaling)" if plain else "") + ".", "",
              "## Projection: one epoch over 1 B rows", "",
              "Assumes each worker gets one core for its training step and its share of reading and encoding, at "
              "the rows/s of the 1-worker, 1-core run here; the 1 → 2 efficiency measured with resources scaling "
              "with workers holds for every N > 1 (on several machines the all-reduce of arm's gradients crosses "
              "a network, which 2 workers on one machine do not measure); each worker reads its own part files "
              "(no shared bottleneck in storage). A worker with more cores (or a GPU) is faster than assumed.", "",
              "| workers | hours per epoch |", "|---|---|"]
    lines += [f"| {p['workers']} | {p['hours_per_epoch_1b_rows']:.1f} |" for p in r["projection"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
