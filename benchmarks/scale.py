"""Benchmark: memory and time at scale — N rows x 30 columns through profile, fit, sample, save,
evaluate and the leakage audit.

``--engine local|ray`` (default local) runs the pipeline on an engine (``synthkit.engine.dataplane``) over a
Parquet lake of N rows: per-stage seconds, peak RSS of the driver and of the workers, sampling rows/s
with 1 and 2 workers, and a cost model for 1 B rows (``benchmarks/scale_engine.py``); results in
``benchmarks/results/scale.json`` / ``scale.md`` (``--engine ray``: ``scale_ray.json`` / ``scale_ray.md``). ``--engine memory`` is the older in-memory run
(results in ``scale_inmemory.json`` / ``.md``).

Run: ``.venv/bin/python benchmarks/scale.py [--engine local|ray|memory] [--rows 1000000] [--model copula]``. Peak memory is the process's
resident set size, sampled every 50 ms by a background thread (per-stage peak) plus the kernel's
lifetime maximum (``ru_maxrss``). Budget from issue #10: fit + sample stay under 8 GB.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.utils.atomic import write_json, write_text

BUDGET_GB = 8.0
_PAGE = os.sysconf("SC_PAGE_SIZE")


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """30 columns of the kinds real tables mix, with missing values, ids and two PII columns."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {
        "row_id": np.arange(n),
        "email": pd.Series(rng.integers(0, 10**9, n)).astype(str).radd("user").add("@example.org"),
        "ssn": pd.Series(rng.integers(100, 899, n)).astype(str) + "-" + pd.Series(rng.integers(10, 99, n)).astype(str)
        + "-" + pd.Series(rng.integers(1000, 9999, n)).astype(str),
    }
    for i in range(9):
        values = rng.normal(i, 1 + i, n)
        cols[f"num_{i}"] = np.where(rng.random(n) < 0.05 * (i % 3), np.nan, values.round(3))
    for i in range(5):
        cols[f"int_{i}"] = rng.poisson(2 + 3 * i, n)
    for i, k in enumerate([2, 5, 12, 50, 400, 3000]):
        cols[f"cat_{i}"] = rng.choice(np.array([f"c{j}" for j in range(k)], dtype=object), n)
    for i in range(3):
        cols[f"flag_{i}"] = rng.random(n) < 0.2 + 0.2 * i
    for i in range(3):
        cols[f"date_{i}"] = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 10**9, n), unit="s")
    cols["amount"] = rng.lognormal(5, 1, n).round(2)
    frame = pd.DataFrame(cols)
    assert frame.shape[1] == 30, frame.shape
    return frame


class RssPeak:
    """Highest resident set size seen while the ``with`` block runs (sampled in a thread)."""

    def __enter__(self) -> Self:
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        self.start = time.perf_counter()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


def run(n: int, model_name: str, eval_rows: int, out: Path | None = None) -> dict[str, Any]:
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    from synthkit.audit import audit
    from synthkit.evaluate import evaluate, split_holdout
    from synthkit.models import create
    from synthkit.profile import profile

    stages: list[dict[str, Any]] = []

    def stage(name: str, fn: Any) -> Any:
        with RssPeak() as watch:
            value = fn()
        stages.append({"stage": name, "seconds": round(watch.seconds, 2), "peak_rss_gb": round(watch.peak / 2**30, 3)})
        print(f"{name:<10} {watch.seconds:8.1f} s  peak RSS {watch.peak / 2**30:6.2f} GB", flush=True)
        if out is not None:  # partial results survive a run stopped in a later (slow) stage
            write_json(out / "scale.partial.json", {"rows": n, "model": model_name, "stages": stages})
        return value

    real = stage("data", lambda: make_frame(n))
    train, holdout = stage("split", lambda: split_holdout(real, share=0.1, seed=0))
    meta = stage("profile", lambda: profile(train, name="scale"))
    model = stage("fit", lambda: create(model_name, metadata=meta).fit(train))
    synthetic = stage("sample", lambda: model.sample(n, seed=1))
    folder = Path(tempfile.mkdtemp(prefix="synthkit-scale-"))
    stage("save", lambda: model.save(folder / "model"))
    evaluation = stage("evaluate", lambda: evaluate(train, synthetic, holdout=holdout, metadata=meta, target="cat_1",
                                                    max_rows=eval_rows, seed=0))
    result = stage("audit", lambda: audit(real, meta, synthetic=synthetic, model_dir=folder / "model"))
    fit_sample_peak = max(s["peak_rss_gb"] for s in stages if s["stage"] in ("fit", "sample"))
    scores = evaluation.scores
    return {
        "rows": n,
        "columns": real.shape[1],
        "model": model_name,
        "stages": stages,
        "fit_sample_peak_rss_gb": fit_sample_peak,
        "max_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30, 3),
        "budget_gb": BUDGET_GB,
        "within_budget": fit_sample_peak < BUDGET_GB,
        "evaluation": {
            "max_rows": eval_rows,
            "rows": scores["meta"]["rows"],
            "evaluated_rows": scores["meta"]["evaluated_rows"],
            "subsampled": scores["meta"]["subsampled"],
            "fidelity": scores.get("fidelity", {}).get("score"),
            "privacy_verdict": scores.get("privacy", {}).get("verdict"),
        },
        "audit": {"passed": result.passed, "findings": len(result.findings), "checked": [c["where"] for c in result.checked]},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }


def to_markdown(res: dict[str, Any]) -> str:
    lines = [
        "# Scale benchmark",
        "",
        f"{res['rows']:,} rows x {res['columns']} columns, model `{res['model']}`. Peak RSS per stage (sampled every 50 ms).",
        "",
        "| stage | seconds | peak RSS (GB) |",
        "|---|---|---|",
    ]
    lines += [f"| {s['stage']} | {s['seconds']} | {s['peak_rss_gb']} |" for s in res["stages"]]
    ev = res["evaluation"]
    lines += [
        "",
        (f"Fit + sample peak: **{res['fit_sample_peak_rss_gb']} GB** (budget {res['budget_gb']} GB: "
        f"{'within' if res['within_budget'] else 'OVER'}). Process max RSS {res['max_rss_gb']} GB."),
        "",
        (f"Evaluation subsamples to `max_rows={ev['max_rows']:,}`: input rows {ev['rows']}, evaluated rows "
        f"{ev['evaluated_rows']} (subsampled: {ev['subsampled']}). Fidelity {ev['fidelity']}, privacy {ev['privacy_verdict']}."),
        "",
        f"Leakage audit on the full output: passed={res['audit']['passed']}, findings={res['audit']['findings']}.",
        "",
        "Timings on a shared 2-core machine are noisy.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--model", default="copula")
    parser.add_argument("--eval-rows", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--engine", choices=["memory", "local", "ray"], default="local")
    args = parser.parse_args()
    if args.engine != "memory":
        from scale_engine import main as engine_main

        engine_main(args.engine, args.rows, args.out)
        return
    res = run(args.rows, args.model, args.eval_rows, args.out)
    write_json(args.out / "scale_inmemory.json", res)
    write_text(args.out / "scale_inmemory.md", to_markdown(res))
    print(to_markdown(res))


if __name__ == "__main__":
    main()
