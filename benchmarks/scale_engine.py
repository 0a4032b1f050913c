"""The engine side of ``benchmarks/scale.py``: the engine pipeline over a Parquet lake of N rows x 30
columns, per-stage seconds, peak RSS of the driver and its worker processes, sampling rows/s with 1
and 2 workers (scaling efficiency) and a cost model for 1 B rows on N workers.

RSS is sampled every 0.2 s by a thread: the driver is this process; workers are its descendant
processes (Ray: raylet-spawned workers of the private local cluster; local engine: none, threads).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

from synthkit.utils.atomic import write_json, write_text

COLUMNS = 30
RATE_ROWS = 2_000_000  # rows sampled per worker count for the 1 -> 2 worker rates


class Watch:
    """Peak RSS of this process and of its largest / all descendant processes while running."""

    def __init__(self) -> None:
        self.driver = self.worker = self.workers_total = self.cluster_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            kids, system = [], []
            for kid in me.children(recursive=True):
                try:  # Ray's task/actor processes are titled "ray::..."; raylet, GCS and agents are the cluster's own
                    rss, title = kid.memory_info().rss, " ".join(kid.cmdline()[:1])
                except psutil.Error:
                    continue
                (kids if title.startswith("ray::") else system).append(rss)
            self.driver = max(self.driver, me.memory_info().rss)
            self.worker = max([self.worker, *kids])
            self.workers_total = max(self.workers_total, sum(kids))
            self.cluster_processes = max(self.cluster_processes, sum(system))

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def write_data(rows: int, folder: Path, part_rows: int = 250_000) -> float:
    from scale import make_frame

    from synthkit.io.lake import write_partitioned

    start = time.perf_counter()

    def parts() -> Any:
        for i, lo in enumerate(range(0, rows, part_rows)):
            frame = make_frame(min(part_rows, rows - lo), seed=i)
            frame["row_id"] += lo
            yield frame

    write_partitioned(parts(), folder)
    return time.perf_counter() - start


def sampling_rate(engine: str, model_dir: Path, rows: int, workers: int, work: Path) -> float:
    from synthkit.engine import EngineSpec, create_engine

    spec = EngineSpec(kind=engine, num_workers=workers, block_rows=100_000)  # type: ignore[arg-type]
    with create_engine(spec) as eng:
        eng.sample(model_dir, min(rows, 200_000), seed=0, out_dir=work / f"warm{workers}")  # actors/threads up
        result = eng.sample(model_dir, rows, seed=1, out_dir=work / f"rate{workers}")
    return result.rows / result.seconds


def cost_model(res: dict[str, Any]) -> dict[str, Any]:
    """Seconds for 1 B rows on N workers, from per-row stage costs measured here (see assumptions)."""
    n = res["rows"]
    stage = res["stages"]
    per_row = {k: v / n for k, v in stage.items()}
    eff = res["sampling"]["scaling_efficiency"] or 1.0
    out = {}
    for workers in (2, 8, 32, 128):
        speedup = 2 * (1 + eff * (workers / 2 - 1)) / 2 if workers > 2 else 1.0  # relative to 2 workers
        out[str(workers)] = round(sum(per_row.values()) * 1e9 / speedup / 3600, 2)
    return {"hours_for_1e9_rows": out, "assumptions": [
        "per-row cost of each stage = measured seconds / rows on this machine with 2 workers",
        "every stage is a per-batch map + driver merge, so it scales like sampling: speed-up over 2 workers = "
        "1 + efficiency x (workers/2 - 1), efficiency = the measured 1 -> 2 worker sampling efficiency",
        "driver merge cost, evaluation on fixed-size samples and the audit's broadcast hash set (8 B per distinct "
        "real row: 8 GB at 1 B rows, held by every worker) are not modelled; nodes have the same per-core speed",
    ]}


def main(engine: str, rows: int, out: Path) -> None:
    from synthkit.pipeline import run

    work = Path(tempfile.mkdtemp(prefix="synthkit-scale-"))
    load_start = os.getloadavg()
    data_seconds = write_data(rows, work / "lake")
    cfg = {"name": f"scale-{engine}", "output_dir": str(work / "run"), "source": {"path": str(work / "lake")},
           "model": {"name": "copula"}, "sample": {"rows": rows}, "evaluate": {"target": "cat_1", "max_rows": 20_000},
           "report": {"enabled": False}, "engine": {"kind": engine, "num_workers": 2, "sample_rows": 20_000}}
    (work / "run.yaml").write_text(yaml.safe_dump(cfg))
    with Watch() as watch:
        t0 = time.perf_counter()
        result = run(work / "run.yaml")
        total = time.perf_counter() - t0
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    details = json.loads((work / "run" / "engine.json").read_text())
    rate_rows = min(rows, RATE_ROWS)  # rows/s settles long before 10 M rows; the run itself sampled all of them
    rate = {w: sampling_rate(engine, work / "run" / "model", rate_rows, w, work) for w in (1, 2)}
    res: dict[str, Any] = {
        "engine": engine, "rows": rows, "columns": COLUMNS, "status": result.status,
        "data_write_seconds": round(data_seconds, 1),
        "stages": {k: round(v, 2) for k, v in result.timings.items()},
        "end_to_end_seconds": round(total, 1),
        "peak_rss_gb": {"driver": round(watch.driver / 2**30, 3), "largest_worker": round(watch.worker / 2**30, 3),
                        "all_workers": round(watch.workers_total / 2**30, 3),
                        "ray_system_processes": round(watch.cluster_processes / 2**30, 3)},
        "sampling": {"rows": rate_rows, "rows_per_s_1_worker": round(rate[1]), "rows_per_s_2_workers": round(rate[2]),
                     "scaling_efficiency": round(rate[2] / (2 * rate[1]), 3)},
        "fidelity": metrics.get("fidelity", {}).get("score"), "column_shapes": metrics.get("fidelity", {}).get("column_shapes"),
        "samples": details.get("samples"), "audit": {k: details["audit"].get(k) for k in ("reproduced_rows", "synthetic_rows")},
        "load_average": {"start": [round(x, 1) for x in load_start], "end": [round(x, 1) for x in os.getloadavg()]},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    res["cost_model"] = cost_model(res)
    name = "scale" if engine == "local" else f"scale_{engine}"  # a Ray run does not overwrite the local one
    write_json(out / f"{name}.json", res)
    write_text(out / f"{name}.md", to_markdown(res))
    print(to_markdown(res))


def to_markdown(res: dict[str, Any]) -> str:
    rss = res["peak_rss_gb"]
    lines = [
        "# Scale benchmark (engine pipeline)", "",
        f"`benchmarks/scale.py --engine {res['engine']} --rows {res['rows']}`: {res['rows']:,} rows x {res['columns']} columns "
        f"from a Parquet lake, model copula, 2 workers; status {res['status']}. Load average at start "
        f"{res['load_average']['start']}, at end {res['load_average']['end']} on {res['machine']['cpus']} cores shared with "
        "other jobs: timings are inflated by that load.", "",
        "| stage | seconds |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in res["stages"].items()],
        f"| **end to end** | **{res['end_to_end_seconds']}** |", "",
        f"Peak RSS: driver {rss['driver']} GB, largest worker process {rss['largest_worker']} GB, all workers "
        f"{rss['all_workers']} GB, Ray's own processes (raylet, GCS, agents) {rss.get('ray_system_processes', 0)} GB "
        "(local engine: workers are threads of the driver).", "",
        f"Sampling: {res['sampling']['rows_per_s_1_worker']:,} rows/s with 1 worker, {res['sampling']['rows_per_s_2_workers']:,} "
        f"with 2: scaling efficiency {res['sampling']['scaling_efficiency']}.", "",
        f"Fidelity {res['fidelity']} (column shapes {res['column_shapes']} over all rows); evaluation samples {res['samples']}; "
        f"audit {res['audit']}.", "",
        "## Cost model: hours for 1 B rows", "",
        "| workers | hours |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in res["cost_model"]["hours_for_1e9_rows"].items()], "",
        "Assumptions:", *[f"- {a}" for a in res["cost_model"]["assumptions"]],
    ]
    return "\n".join(lines) + "\n"
