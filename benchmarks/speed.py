"""Benchmark: training throughput of ``gan`` against SDV's CTGAN, and sampling speed of every model.

Run: ``.venv/bin/python benchmarks/speed.py [--threads 1 2] [--epochs 3] [--sample-rows 500000]``.
Writes ``benchmarks/results/speed.json`` and ``benchmarks/results/speed.md``.

Training: Adult (32,561 rows), batch 500, the same network sizes (noise 128, generator and critic
256-256, pac 10), one critic step per generator step. CTGAN's seconds per epoch are measured as
``(time of 1 + k epochs − time of 1 epoch) / k`` with its fitted ``DataTransformer`` reused, so
neither side's preprocessing is counted (CTGAN's Bayesian-GMM fit is reported on its own line);
ours come from the model's own training clock. Every training measurement runs in a fresh process
(one model's leftovers — thread pools, allocator, AMX power state — measurably slowed the other
when they shared one), repeated with the two models alternating, and the fastest run is kept,
because a shared machine's load varies by the minute: the load average is recorded next to every
number.

Sampling: rows per second of the public ``sample()`` (model frame, decoding and dtype restoration
included) for ``sample_rows`` rows, best of three, after a warm-up call.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, this folder is sys.path[0]: keep its modules from shadowing the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import logging
import os
import platform
import time
import warnings
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.models import available, create
from synthkit.utils.atomic import write_json, write_text
from synthkit.utils.formatting import cell

__all__ = ["ctgan_seconds_per_epoch", "gan_seconds_per_epoch", "main", "sampling_rows_per_second"]

log = logging.getLogger(__name__)

BATCH = 500
SAMPLING_MODELS = ("arm", "copula", "gan", "vae", "flow", "bayesnet")


def _adult() -> pd.DataFrame:
    from synthkit.datasets import load

    return load("adult")[0]


def gan_seconds_per_epoch(data: pd.DataFrame, epochs: int) -> float:
    """Training seconds per epoch of our ``gan`` (its own clock: the loop only, no encoder fit)."""
    model = create("gan", epochs=epochs, batch_size=BATCH, seed=0).fit(data)
    return float(model.training_seconds_) / epochs


def _ctgan_fitter(data: pd.DataFrame) -> tuple[Any, float]:
    """A function fitting CTGAN for some epochs with a pre-fitted transformer, and that fit's seconds."""
    from ctgan import CTGAN
    from ctgan.data_transformer import DataTransformer
    from ctgan.synthesizers import ctgan as ctgan_module

    discrete = [c for c in data.columns if data[c].dtype == object]
    start = time.perf_counter()
    fitted = DataTransformer()
    fitted.fit(data, discrete)
    preprocess = time.perf_counter() - start

    class _Fitted(DataTransformer):  # hands CTGAN the transformer fitted above
        def fit(self, *_args: Any, **_kwargs: Any) -> None:
            self.__dict__.update(fitted.__dict__)

    def fit(epochs: int) -> float:
        original = ctgan_module.DataTransformer
        ctgan_module.DataTransformer = _Fitted
        try:
            model = CTGAN(epochs=epochs, batch_size=BATCH, pac=10, verbose=False)
            begin = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(data, discrete)
            return time.perf_counter() - begin
        finally:
            ctgan_module.DataTransformer = original

    return fit, preprocess


def ctgan_seconds_per_epoch(fit: Any, epochs: int) -> float:
    """CTGAN's seconds per epoch by difference of a (1 + epochs)- and a 1-epoch fit, after a warm-up fit.

    Without the warm-up, first-call costs (~2.7 s here) land in whichever fit runs first and bias
    the difference by a third or a half of that per epoch, in either direction.
    """
    fit(1)
    one = fit(1)
    return (fit(1 + epochs) - one) / epochs


def sampling_rows_per_second(name: str, data: pd.DataFrame, rows: int) -> float:
    """Best of three ``sample(rows)`` calls of a briefly trained model (speed does not depend on training length)."""
    params = {"seed": 0}
    if name in ("gan", "vae"):
        params["epochs"] = 1
    elif name in ("arm", "flow"):
        params["epochs"] = 2
    model = create(name, **params).fit(data)
    model.sample(1000, seed=0)
    best = float("inf")
    for repeat in range(3):
        start = time.perf_counter()
        model.sample(rows, seed=repeat)
        best = min(best, time.perf_counter() - start)
    return rows / best


def _measure(kind: str, threads: int, epochs: int) -> dict[str, float]:
    """One training measurement in this process (called in a fresh one by :func:`_isolated`)."""
    import torch

    torch.set_num_threads(threads)
    data = _adult()
    if kind == "gan":
        create("gan", epochs=1, batch_size=BATCH, seed=0).fit(data)  # warm-up: a 1-epoch fit, as CTGAN's
        return {"seconds_per_epoch": gan_seconds_per_epoch(data, epochs), "load": os.getloadavg()[0]}
    fit, preprocess = _ctgan_fitter(data)
    return {"seconds_per_epoch": ctgan_seconds_per_epoch(fit, epochs), "preprocess": preprocess, "load": os.getloadavg()[0]}


def _isolated(kind: str, threads: int, epochs: int) -> dict[str, float]:
    """:func:`_measure` in a fresh Python process; its JSON result."""
    import json
    import subprocess

    proc = subprocess.run([sys.executable, __file__, "--measure", kind, "--threads", str(threads), "--epochs", str(epochs)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(threads: list[int], epochs: int, sample_rows: int, repeats: int) -> dict[str, Any]:
    import torch

    from synthkit.models.nn_base import fast_bf16

    data = _adult()
    rows_per_epoch = (len(data) // BATCH) * BATCH
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "bfloat16_fast": fast_bf16(torch.device("cpu"))},
        "settings": {"dataset": "adult", "rows": len(data), "batch_size": BATCH, "epochs": epochs,
                     "repeats": repeats, "sample_rows": sample_rows},
        "training": [], "sampling": [],
    }
    have_ctgan = "sdv-ctgan" in available()
    if have_ctgan:
        import ctgan

        results["machine"]["ctgan"] = ctgan.__version__
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        ours, theirs, preprocess = [], [], None
        for _ in range(repeats):  # alternate, keep the best of each
            got = _isolated("gan", n_threads, epochs)
            ours.append((got["seconds_per_epoch"], got["load"]))
            if have_ctgan:
                got = _isolated("ctgan", n_threads, epochs)
                theirs.append((got["seconds_per_epoch"], got["load"]))
                preprocess = got["preprocess"] if preprocess is None else min(preprocess, got["preprocess"])
        gan_s, gan_load = min(ours)
        row: dict[str, Any] = {"threads": n_threads, "gan_seconds_per_epoch": gan_s, "gan_rows_per_second": rows_per_epoch / gan_s,
                               "gan_load_average": gan_load, "gan_runs": [s for s, _ in ours]}
        if theirs:
            ct_s, ct_load = min(theirs)
            row.update({"ctgan_seconds_per_epoch": ct_s, "ctgan_rows_per_second": rows_per_epoch / ct_s,
                        "ctgan_load_average": ct_load, "ctgan_runs": [s for s, _ in theirs],
                        "ctgan_preprocess_seconds": preprocess, "speedup": ct_s / gan_s})
        log.info("training %s", row)
        results["training"].append(row)
        for name in SAMPLING_MODELS:
            rate = sampling_rows_per_second(name, data, sample_rows)
            results["sampling"].append({"threads": n_threads, "model": name, "rows_per_second": rate,
                                        "load_average": os.getloadavg()[0]})
            log.info("sampling %s %d threads: %.0f rows/s", name, n_threads, rate)
    return results


def to_markdown(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["settings"]
    lines = [
        "# Speed benchmark: training throughput and sampling rate",
        "",
        (f"Machine: {m['cpus']} CPUs ({m['platform']}), torch {m['torch']}, ctgan {m.get('ctgan', '–')}, "
         f"fast bfloat16 (AMX): {m['bfloat16_fast']}. Adult, {s['rows']:,} rows, batch {s['batch_size']}, "
         f"{s['epochs']} timed epochs per run, best of {s['repeats']} alternating runs."),
        "",
        "## Training (same batch size and network sizes)",
        "",
        "| torch threads | gan s/epoch | gan rows/s | CTGAN s/epoch | CTGAN rows/s | speed-up | load (gan / CTGAN) | CTGAN preprocessing s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["training"]:
        lines.append(
            f"| {r['threads']} | {cell(r['gan_seconds_per_epoch'])} | {cell(r['gan_rows_per_second'])} | "
            f"{cell(r.get('ctgan_seconds_per_epoch'))} | {cell(r.get('ctgan_rows_per_second'))} | "
            f"{cell(r.get('speedup'))}× | {cell(r['gan_load_average'], 1)} / {cell(r.get('ctgan_load_average'), 1)} | "
            f"{cell(r.get('ctgan_preprocess_seconds'), 1)} |")
    lines += ["", f"## Sampling ({s['sample_rows']:,} rows through `sample()`, best of 3)", "",
              "| model | torch threads | rows/s | load |", "|---|---|---|---|"]
    for r in results["sampling"]:
        lines.append(f"| {r['model']} | {r['threads']} | {cell(r['rows_per_second'])} | {cell(r['load_average'], 1)} |")
    lines.append("")
    for note in results.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per training run")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs per model; the fastest is kept")
    parser.add_argument("--sample-rows", type=int, default=500_000)
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--measure", choices=["gan", "ctgan"], help=argparse.SUPPRESS)  # one isolated measurement
    args = parser.parse_args(argv)
    if args.measure:
        import json

        sys.stdout.write(json.dumps(_measure(args.measure, args.threads[0], args.epochs)) + "\n")  # read by the parent
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    results = run(args.threads, args.epochs, args.sample_rows, args.repeats)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "speed.json", results)
    write_text(out / "speed.md", to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
