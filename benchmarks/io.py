"""Benchmark: reading and writing 1 M rows × 20 columns with SQLite, PostgreSQL and DuckDB.

Run: ``.venv/bin/python benchmarks/io.py [--rows 1000000]``. Writes ``benchmarks/results/io.json``
and ``benchmarks/results/io.md``.

The table mixes what users have: 8 floats (one with NULLs), 5 integers (two nullable), 3
low-cardinality text columns, 2 booleans (one nullable), a timestamp with time zone and a unique
text id. Writes go through ``synthkit.io.write_sql`` (one transaction): PostgreSQL by COPY and by
plain parameterised INSERTs, DuckDB by its DataFrame scan, SQLite by INSERTs. Reads are the public
``synthkit.io.read`` (streamed in 50,000-row chunks, declared types restored, text coerced).

Every operation runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own; a write first
loads the frame from Parquet, and the baseline RSS (libraries imported, frame loaded for writes,
before the operation) is beside it. The
PostgreSQL server is the tests' throw-away server (tests/pg_server.py: fsync off, loopback). The
machine is shared: the load average before and after is recorded.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, this folder is sys.path[0]: keep its modules from shadowing the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.utils.atomic import write_json, write_text
from synthkit.utils.formatting import cell

__all__ = ["make_frame", "main"]

RESULTS = ROOT / "benchmarks" / "results"
CASES = [("sqlite", "insert"), ("postgres", "copy"), ("postgres", "insert"), ("duckdb", "auto")]


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """1 M × 20 by default: floats, ints, text categories, booleans, a timestamp and an id."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {f"f{i}": rng.normal(size=rows) for i in range(8)}
    cols["f0"][rng.random(rows) < 0.05] = np.nan
    for i in range(5):
        values = pd.array(rng.integers(0, 10 ** (i + 2), rows), dtype="Int64")
        if i < 2:
            values[rng.random(rows) < 0.05] = pd.NA
        cols[f"i{i}"] = values
    for i, labels in enumerate((["a", "b", "c"], ["north", "south", "east", "west"], [f"code{k}" for k in range(50)])):
        cols[f"c{i}"] = rng.choice(labels, rows).astype(object)
    cols["b0"] = rng.random(rows) < 0.5
    flags = pd.array(rng.random(rows) < 0.3, dtype="boolean")
    flags[rng.random(rows) < 0.05] = pd.NA
    cols["b1"] = flags
    cols["ts"] = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**8, rows), unit="s")
    cols["id"] = pd.Series(np.arange(rows)).map("id{:09d}".format)
    return pd.DataFrame(cols)


def _rss_mb() -> float:
    """Peak RSS of this process (VmHWM: unlike ru_maxrss it does not inherit the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB on most systems


def _child(op: str, url: str, method: str, parquet: str) -> dict[str, Any]:
    """One measured operation in this (fresh) process."""
    from synthkit.io import read, write_sql

    frame = pd.read_parquet(parquet) if op == "write" else None  # a read starts without the frame
    baseline = _rss_mb()
    start = time.perf_counter()
    if frame is not None:
        write_sql({"bench": frame}, url, if_exists="replace", method=method)  # type: ignore[arg-type]
        rows = len(frame)
    else:
        rows = len(read(url, table="bench"))
    return {"seconds": round(time.perf_counter() - start, 2), "peak_rss_mb": round(_rss_mb(), 1),
            "baseline_rss_mb": round(baseline, 1), "rows": rows}


def _run_child(op: str, url: str, method: str, parquet: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", op, url, method, str(parquet)], capture_output=True,
                          text=True, check=False, env={**os.environ, "SYNTHKIT_QUIET": "1"})
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(rows: int, on_result: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run every case; ``on_result`` gets the results so far after each operation (partial saves)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from pg_server import PostgresServer, unavailable_reason

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and clean up when killed
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="synthkit-io-bench-"))
    parquet = work / "frame.parquet"
    subprocess.run([sys.executable, __file__, "--make", str(rows), str(parquet)], check=True)  # the frame never lives here
    server = None
    pg_reason = unavailable_reason()
    if pg_reason is None:
        server = PostgresServer().start()
    results: list[dict[str, Any]] = []
    try:
        for backend, method in CASES:
            if backend == "postgres" and server is None:
                results.append({"backend": backend, "method": method, "skipped": pg_reason})
                continue
            url = {"sqlite": f"sqlite:///{work / 'bench.db'}", "duckdb": f"duckdb:///{work / f'bench-{method}.duckdb'}",
                   "postgres": server.url() if server else ""}[backend]
            for op in ("write", "read"):
                print(f"{backend}/{method} {op} ...", file=sys.stderr, flush=True)
                results.append({"backend": backend, "method": method, "op": op, **_run_child(op, url, method, parquet)})
                print(f"  {results[-1]}", file=sys.stderr, flush=True)
                if on_result is not None:
                    on_result(_summary(rows, results, load_before))
    finally:
        if server is not None:
            server.stop()
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    return _summary(rows, results, load_before)


def _summary(rows: int, results: list[dict[str, Any]], load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {"rows": rows, "columns": 20, "results": list(results), "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
            "python": platform.python_version(), "pandas": pd.__version__}


def _markdown(data: dict[str, Any]) -> str:
    lines = [f"# I/O: {data['rows']:,} rows × {data['columns']} columns", "",
             "Written by `synthkit.io.write_sql` (one transaction), read back by `synthkit.io.read` (streamed in chunks, "
             "types restored). Each operation in a fresh process; baseline RSS = libraries imported (+ the frame, for writes).",
             "", "| database | write path | op | seconds | rows/s | peak RSS MB | baseline RSS MB |", "|---|---|---|---:|---:|---:|---:|"]
    for r in data["results"]:
        if "skipped" in r or "error" in r:
            lines.append(f"| {r['backend']} | {r['method']} | {r.get('op', '–')} | – | – | – | {r.get('skipped') or r.get('error')} |")
            continue
        rate = r["rows"] / r["seconds"] if r["seconds"] else None
        lines.append(f"| {r['backend']} | {r['method']} | {r['op']} | {cell(r['seconds'])} | {cell(rate, 0)} | "
                     f"{cell(r['peak_rss_mb'], 0)} | {cell(r['baseline_rss_mb'], 0)} |")
    lines += ["", f"Machine: {data['cpus']} CPUs, shared; load average before {data['load_average_before']}, "
              f"after {data['load_average_after']} (1/5/15 min). Python {data['python']}, pandas {data['pandas']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(*sys.argv[2:6])))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--make":
        make_frame(int(sys.argv[2])).to_parquet(sys.argv[3])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", default="io", help="results file stem in benchmarks/results/")
    args = parser.parse_args()

    def save(result: dict[str, Any]) -> None:
        write_json(RESULTS / f"{args.out}.json", result)
        write_text(RESULTS / f"{args.out}.md", _markdown(result))

    print(_markdown(main(args.rows, on_result=save)))
