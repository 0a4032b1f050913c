"""Benchmark: profiling 1 M rows x 20 columns (time and peak memory) and GE validation on Adult.

Run: ``.venv/bin/python benchmarks/profiling.py [--rows 1000000]``. Writes
``benchmarks/results/profile.json`` and ``benchmarks/results/profile.md``. The frame mixes the
column types real data has (floats with missing values, integers, low/high-cardinality categories,
dates, ids, booleans, e-mails and ZIP codes) so that every profiling path is exercised.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.profile import profile
from synthkit.utils.atomic import write_json, write_text


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {
        "row_id": np.arange(n),
        "age": rng.integers(18, 90, n),
        "income": rng.lognormal(10, 1, n),
        "score": np.where(rng.random(n) < 0.1, np.nan, rng.normal(0, 1, n)),
        "balance": rng.normal(1000, 500, n).round(2),
        "visits": rng.poisson(3, n),
        "rating": rng.integers(1, 6, n),
        "flag": rng.random(n) < 0.3,
        "state": rng.choice([f"S{i:02d}" for i in range(50)], n),
        "segment": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "city": rng.choice([f"City{i}" for i in range(2000)], n),
        "product": np.where(rng.random(n) < 0.05, None, rng.choice(["x", "y", "z"], n)),
        "signup": pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, n), unit="D"),
        "last_seen": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"),
        "zip": rng.integers(10000, 99999, n),
        "email": pd.Series(rng.integers(0, 10**9, n)).astype(str).radd("user").add("@example.org"),
        "weight": rng.normal(70, 12, n),
        "height": rng.normal(170, 10, n),
        "code": rng.choice(["E11.9", "I10", "J45.909", "K21.9", "M54.5"], n),
        "temperature": rng.normal(36.8, 0.4, n),
    }
    return pd.DataFrame(cols)


def bench_profile(n: int) -> dict[str, object]:
    df = make_frame(n)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu = time.perf_counter(), time.process_time()
    meta = profile(df, name="bench")  # timed without tracemalloc: tracing slows allocation-heavy code
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    profile(df, name="bench")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    table = meta.table()
    return {
        "rows": n, "columns": df.shape[1], "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
        "peak_traced_mb": round(peak / 2**20, 1), "max_rss_mb": round(rss_after / 1024, 1),
        "rss_growth_mb": round((rss_after - rss_before) / 1024, 1), "frame_mb": round(df.memory_usage(deep=True).sum() / 2**20, 1),
        "kinds": {c.name: c.kind for c in table.columns}, "pii": table.pii_columns,
    }


def bench_ge_adult() -> dict[str, object]:
    from synthkit.datasets import load
    from synthkit.profile.expectations import validate

    df, _ = load("adult")
    meta = profile(df)
    start = time.perf_counter()
    validate(df.iloc[:10], meta)  # import GE and warm up
    warm = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    result = validate(df, meta)
    return {"rows": len(df), "expectations": result["evaluated"], "success_percent": result["success_percent"],
            "first_call_seconds": round(warm, 2), "seconds": round(time.perf_counter() - start, 2),
            "cpu_seconds": round(time.process_time() - cpu, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    results = {"machine": f"{platform.machine()} {platform.python_version()}, {os.cpu_count()} cpus",
               "load_average_before": [round(v, 1) for v in os.getloadavg()],
               "profile": bench_profile(args.rows), "ge_adult": bench_ge_adult()}
    out = ROOT / "benchmarks" / "results"
    write_json(out / "profile.json", results)
    p, g = results["profile"], results["ge_adult"]
    md = (
        "# Profiling benchmark\n\n| task | rows x cols | wall s | CPU s | peak memory |\n|---|---|---|---|---|\n"
        f"| profile() | {p['rows']:,} x {p['columns']} | {p['seconds']} | {p['cpu_seconds']} | {p['peak_traced_mb']} MB traced, {p['max_rss_mb']} MB max RSS |\n"
        f"| GE validate (Adult) | {g['rows']:,} x 15 ({g['expectations']} expectations) | {g['seconds']} (first call {g['first_call_seconds']}) | {g['cpu_seconds']} | - |\n\n"
        f"Budget: profile of 1 M x 20 under 30 s and 4 GB. Load average before the run: {results['load_average_before']} "
        "(a shared 2-core machine: wall times are noisy, CPU seconds less so).\n"
    )
    write_text(out / "profile.md", md)
    print(md)


if __name__ == "__main__":
    main()
