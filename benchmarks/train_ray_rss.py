"""Where a Ray Train worker's peak RSS comes from: private (RssAnon) vs object-store (RssShmem) pages over time.

Runs arm with 1 worker on streamed Parquet lakes of two sizes with the SAME time budget while a
driver thread samples ``/proc/<pid>/status`` of the training worker every second; prints the series
and writes ``benchmarks/results/train_ray_rss.json``. If the peak grows with the rows at a fixed
budget, something holds rows; if it is the same, it grows with time (pages touched, allocator)::

    .venv/bin/python benchmarks/train_ray_rss.py --rows 2000000 6000000 --minutes 1.5
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_ray import ARM, write_lake  # noqa: E402

from synthkit.datasets import load  # noqa: E402
from synthkit.utils.atomic import write_json  # noqa: E402

FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")


def _children(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        out += [int(k) for k in kids]
        todo += [int(k) for k in kids]
    return out


def _status(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in FIELDS:
            values[key] = int(rest.split()[0]) / 1024.0
    return values


def sample(stop: threading.Event, series: list[dict[str, Any]], began: float) -> None:
    while not stop.wait(1.0):
        for pid in _children(os.getpid()):
            try:
                name = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                if "TrainWorker" in name:
                    series.append({"t": round(time.perf_counter() - began, 1), "pid": pid, **_status(pid)})
            except OSError:
                continue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 6_000_000])
    parser.add_argument("--minutes", type=float, default=1.5)
    parser.add_argument("--data", type=Path, default=Path("/tmp/synthkit-train-ray"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "train_ray_rss.json")
    args = parser.parse_args()
    import ray

    from synthkit.engine import EngineSpec, create_engine
    from synthkit.engine.train import fit_on_ray
    from synthkit.models.arm import AutoregressiveSynthesizer
    from synthkit.profile import profile

    train, _ = load("adult")
    metadata = profile(train)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    result = []
    for rows in args.rows:
        lake = write_lake(train, rows, args.data / f"adult_{rows}")
        series: list[dict[str, Any]] = []
        stop, began = threading.Event(), time.perf_counter()
        thread = threading.Thread(target=sample, args=(stop, series, began), daemon=True)
        thread.start()
        eng = create_engine(EngineSpec(kind="ray", num_workers=1, cpus_per_worker=0.5))
        model = fit_on_ray(AutoregressiveSynthesizer(metadata=metadata, max_minutes=args.minutes, **ARM), lake, eng,
                           materialize=False)
        stop.set()
        thread.join()
        info = model.training_engine_
        peak = {k: max((s.get(k, 0.0) for s in series), default=None) for k in FIELDS}
        print(f"rows {rows:,}: rows/s {info['rows_per_second']:.0f}, ru_maxrss {info['peak_rss_mb_per_worker']}, "
              f"sampled peaks {peak}", flush=True)
        for s in series[::10]:
            print("   ", s, flush=True)
        result.append({"rows": rows, "minutes": args.minutes, "rows_per_second": info["rows_per_second"],
                       "ru_maxrss_mb": info["peak_rss_mb_per_worker"], "sampled_peak_mb": peak, "series": series})
    ray.shutdown()
    write_json(args.out, {"runs": result, "load_average_end": os.getloadavg()})


if __name__ == "__main__":
    main()
