"""Benchmark: synthkit's synthesizers and SDV's side by side, in one process, on real datasets.

Run: ``.venv/bin/python benchmarks/models.py [--datasets adult insurance] [--models arm sdv-ctgan]
[--minutes 5]`` (or ``synthkit bench``, which calls :func:`run_benchmark`). Writes
``benchmarks/results/models.json`` and ``benchmarks/results/models.md``.

Per dataset and model it measures: preprocessing seconds, seconds per epoch (and epochs run),
total fit seconds, sampling rows/s (``sample_rows`` rows through the public ``sample``), peak
memory above the baseline during fit + sample (RSS polled every 20 ms, so torch allocations
count too), and the SDMetrics Quality Score (Column Shapes, Column Pair Trends) of as many
synthetic rows as training rows against the training rows, over the learned columns.

Every model gets the same training time budget (``minutes``): synthkit's models stop at it (the
likelihood models usually stop earlier, by early stopping); SDV's CTGAN/TVAE get as many epochs
as fit in it, measured by a probe, with their encoder's time not charged to the budget.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, this folder is sys.path[0] and its profile.py would shadow the standard library's
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import gc
import logging
import os
import platform
import threading
import time
import warnings
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.models import available, create, get
from synthkit.utils.atomic import write_json, write_text
from synthkit.utils.formatting import cell

__all__ = ["DATASETS", "MODELS", "load_dataset", "main", "run_benchmark", "to_markdown"]

log = logging.getLogger(__name__)

SHARED = Path(os.environ.get("SYNTHKIT_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
DATASETS = ("adult", "insurance", "german-credit", "default-credit-card")
MODELS = ("arm", "flow", "copula", "gan", "vae", "sdv-copula", "sdv-ctgan", "sdv-tvae")


def load_dataset(name: str) -> pd.DataFrame:
    """The training table of a benchmark dataset (bundled Adult, others from ``../shared/datasets``)."""
    if name == "adult":
        from synthkit.datasets import load

        return load("adult")[0]
    if name == "insurance":
        return pd.read_csv(SHARED / "insurance" / "insurance.csv")
    if name == "german-credit":
        return pd.read_csv(SHARED / "german-credit" / "germancredit.csv")
    if name == "default-credit-card":
        return pd.read_csv(SHARED / "default-credit-card" / "default_of_credit_card_clients.csv.gz")
    raise ValueError(f"unknown benchmark dataset {name!r}; known: {', '.join(DATASETS)}")


class _PeakRSS:
    """Peak resident memory of this process above its level at start, polled in a thread."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self._page

    def __enter__(self) -> _PeakRSS:  # noqa: PYI034
        self.base = self.peak = self._rss()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def megabytes(self) -> float:
        return (self.peak - self.base) / 2**20


def _params(name: str, minutes: float) -> dict[str, Any]:
    names = get(name)._param_names()
    params: dict[str, Any] = {"seed": 0}
    if "max_minutes" in names:
        params["max_minutes"] = minutes
    if name in ("gan", "vae") and "epochs" in names:
        params["epochs"] = 300  # the budget stops them first on large tables
    return params


def _fit_timings(model: Any, fit_seconds: float) -> dict[str, Any]:
    info = dict(getattr(model, "fit_info_", {}) or {})
    if not info and hasattr(model, "training_seconds_"):  # gan/vae record their own history
        epochs = len(getattr(model, "loss_history_", []) or [])
        train = float(model.training_seconds_)
        info = {"epochs": epochs, "train_seconds": train, "seconds_per_epoch": train / epochs if epochs else None,
                "preprocess_seconds": max(fit_seconds - train, 0.0)}
    return {"preprocess_seconds": info.get("preprocess_seconds"), "seconds_per_epoch": info.get("seconds_per_epoch"),
            "epochs": info.get("epochs"), "train_seconds": info.get("train_seconds")}


def _quality(real: pd.DataFrame, synthetic: pd.DataFrame, model: Any) -> dict[str, float]:
    from sdmetrics.reports.single_table import QualityReport

    columns = [s.name for s in model.schema_.learned]
    sdtypes = {}
    for spec in model.schema_.learned:
        if spec.kind == "datetime":
            sdtypes[spec.name] = {"sdtype": "datetime"}
        elif spec.role == "numerical":
            sdtypes[spec.name] = {"sdtype": "numerical"}
        else:
            sdtypes[spec.name] = {"sdtype": "categorical"}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(real[columns], synthetic[columns], {"columns": sdtypes}, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"quality": float(report.get_score()), "column_shapes": float(props["Column Shapes"]),
            "column_pair_trends": float(props["Column Pair Trends"])}


def bench_one(name: str, data: pd.DataFrame, minutes: float, sample_rows: int) -> dict[str, Any]:
    """Fit, sample and score one model on one table; errors are recorded, not raised."""
    gc.collect()
    row: dict[str, Any] = {"model": name, "load_average_1min": os.getloadavg()[0]}  # timings mean little on a busy machine
    try:
        with _PeakRSS() as memory:
            model = create(name, **_params(name, minutes))
            start = time.perf_counter()
            model.fit(data)
            row["fit_seconds"] = time.perf_counter() - start
            row.update(_fit_timings(model, row["fit_seconds"]))
            start = time.perf_counter()
            model.sample(sample_rows, seed=1)
            row["sample_rows_per_second"] = sample_rows / (time.perf_counter() - start)
            synthetic = model.sample(len(data), seed=2)
        row["peak_memory_mb"] = memory.megabytes
        row.update(_quality(data, synthetic, model))
    except Exception as exc:  # one failing model must not lose the others' results
        log.exception("%s failed", name)
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    log.info("%s", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
    return row


def _warm_up(models: list[str]) -> None:
    """Fit each model once on a tiny table so one-time costs (imports, first calls) are not timed."""
    from synthkit.datasets import load

    tiny = load("adult")[0].iloc[:200]
    for name in models:
        try:
            create(name, **get(name).test_params).fit(tiny).sample(50, seed=0)
        except Exception:  # the real run records the error
            log.debug("warm-up of %s failed", name, exc_info=True)


def run_benchmark(datasets: list[str] | tuple[str, ...] = DATASETS, models: list[str] | tuple[str, ...] | None = None,
                  out_dir: str | Path = ROOT / "benchmarks" / "results", minutes: float = 5.0,
                  sample_rows: int = 200_000, max_rows: int | None = None) -> dict[str, Any]:
    """Run every model on every dataset; write ``models.json`` + ``models.md`` to ``out_dir``; return the results."""
    import torch

    wanted = list(models) if models is not None else [m for m in MODELS if m in available()]
    missing = [m for m in wanted if m not in available()]
    wanted = [m for m in wanted if m in available()]
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "platform": platform.platform()},
        "settings": {"minutes": minutes, "sample_rows": sample_rows, "max_rows": max_rows},
        "unavailable_models": missing,
        "datasets": {},
    }
    versions = {}
    for package in ("sdv", "ctgan", "sdmetrics"):
        try:
            versions[package] = __import__(package).__version__
        except ImportError:
            versions[package] = None
    results["machine"].update(versions)
    _warm_up(wanted)
    for dataset in datasets:
        data = load_dataset(dataset)
        if max_rows is not None and len(data) > max_rows:
            data = data.sample(max_rows, random_state=0).reset_index(drop=True)
        rows = [bench_one(name, data, minutes, sample_rows) for name in wanted]
        results["datasets"][dataset] = {"rows": len(data), "columns": data.shape[1], "models": rows}
        _write(results, Path(out_dir))  # after each dataset: a long run killed later keeps what it has
    return results


def to_markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Model benchmark: synthkit vs SDV",
        "",
        (f"Machine: {m['cpus']} CPUs, torch {m['torch']} ({m['torch_threads']} threads), sdv {m.get('sdv')}, "
        f"ctgan {m.get('ctgan')}, sdmetrics {m.get('sdmetrics')}. Training budget per model: "
        f"{results['settings']['minutes']} min. Sampling speed measured on {results['settings']['sample_rows']:,} rows. "
        "Quality = SDMetrics Quality Score of as many synthetic rows as training rows vs the training rows."),
        "",
    ]
    for dataset, block in results["datasets"].items():
        lines += [f"## {dataset} ({block['rows']:,} rows × {block['columns']} columns)", "",
                  "| model | quality | column shapes | pair trends | fit s | preprocess s | s/epoch | epochs | sample rows/s | peak MB |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        ranked = sorted(block["models"], key=lambda r: -(r.get("quality") or -1))
        for r in ranked:
            if "error" in r:
                lines.append(f"| {r['model']} | error: {r['error']} | | | | | | | | |")
                continue
            lines.append(
                f"| {r['model']} | {cell(r.get('quality'), 3)} | {cell(r.get('column_shapes'), 3)} | "
                f"{cell(r.get('column_pair_trends'), 3)} | {cell(r.get('fit_seconds'), 1)} | "
                f"{cell(r.get('preprocess_seconds'), 1)} | {cell(r.get('seconds_per_epoch'), 2)} | "
                f"{cell(r.get('epochs'))} | {cell(r.get('sample_rows_per_second'), 0)} | {cell(r.get('peak_memory_mb'), 0)} |")
        lines.append("")
    for note in results.get("notes", []):
        lines.append(f"- {note}")
    if results.get("notes"):
        lines.append("")
    if results.get("unavailable_models"):
        lines.append(f"Not available in this installation: {', '.join(results['unavailable_models'])}.")
    return "\n".join(lines) + "\n"


def _write(results: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "models.json", results)
    write_text(out_dir / "models.md", to_markdown(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--minutes", type=float, default=5.0, help="training time budget per model")
    parser.add_argument("--sample-rows", type=int, default=200_000)
    parser.add_argument("--max-rows", type=int, default=None, help="subsample larger tables (quick runs)")
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("sdv", "rdt", "copulas", "SingleTableSynthesizer", "MultiTableSynthesizer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    results = run_benchmark(args.datasets, args.models, args.out_dir, args.minutes, args.sample_rows, args.max_rows)
    sys.stdout.write(to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
