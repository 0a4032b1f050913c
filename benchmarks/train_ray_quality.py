"""Benchmark: is ``arm`` trained on a Ray cluster as good as ``arm`` trained in one process?

Run (about 30 minutes on 2 idle cores)::

    .venv/bin/python benchmarks/train_ray_quality.py [--datasets default-credit-card bank-marketing] [--minutes 2]

Writes ``benchmarks/results/train_ray_quality.json`` and ``.md``.

Protocol: ``benchmarks/models.py``'s (50/50 seeded split, the same training budget, SDMetrics Quality
of the synthetic rows against the holdout with the training rows' own score as the ceiling, the
mean of ``--draws`` sampled tables, DCR share of the first). Per table, ``arm`` is fitted:

- in one process (the reference);
- on a local Ray cluster (``ray.init(num_cpus=2)``) with ``--workers`` training workers, from the
  merged per-partition statistics (``synthkit.engine.train``);
- on Ray again without the normal-score features, and without the moving average of the weights
  (ablations: cluster fits had neither before they were brought to Ray).

default-credit-card's strongly paired monthly bills are where the normal features matter; Adult has
no strong pair, and is where the weight average was measured in process (shape error 1.42 % without it,
0.82 % with it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from models import TARGETS, _average_draws, _columns, score, split_dataset  # noqa: E402

from synthkit.engine import train_recipes  # noqa: E402
from synthkit.models.arm import AutoregressiveSynthesizer  # noqa: E402
from synthkit.profile import profile  # noqa: E402
from synthkit.utils.atomic import write_json, write_text  # noqa: E402
from synthkit.utils.formatting import cell  # noqa: E402

log = logging.getLogger(__name__)


def _in_memory(train: pd.DataFrame, minutes: float, workers: int, storage: Path) -> AutoregressiveSynthesizer:
    return AutoregressiveSynthesizer(metadata=profile(train), seed=0, max_minutes=minutes).fit(train)


def _on_ray(train: pd.DataFrame, minutes: float, workers: int, storage: Path) -> AutoregressiveSynthesizer:
    from synthkit.engine import EngineSpec, create_engine
    from synthkit.engine.train import fit_on_ray

    eng = create_engine(EngineSpec(kind="ray", num_workers=workers, cpus_per_worker=2 / workers))
    model = AutoregressiveSynthesizer(metadata=profile(train), seed=0, max_minutes=minutes)
    return fit_on_ray(model, train, eng, storage_path=storage)


def _ablated(**patches: Callable[..., Any]) -> Callable[..., AutoregressiveSynthesizer]:
    """A Ray fit with names of ``synthkit.engine.train_recipes`` replaced (the driver builds the recipe)."""

    def fit(train: pd.DataFrame, minutes: float, workers: int, storage: Path) -> AutoregressiveSynthesizer:
        saved = {name: getattr(train_recipes, name) for name in patches}
        for name, value in patches.items():
            setattr(train_recipes, name, value)
        try:
            return _on_ray(train, minutes, workers, storage)
        finally:
            for name, value in saved.items():
                setattr(train_recipes, name, value)

    return fit


RUNS: dict[str, Callable[..., AutoregressiveSynthesizer]] = {
    "arm, one process": _in_memory,
    "arm on Ray": _on_ray,
    "arm on Ray, no normal features": _ablated(normal_columns=lambda rows, numerical, n_rows: []),
    "arm on Ray, no weight average": _ablated(average_decay=lambda batch, n_train: 0.0),  # the average is the last step
}


def bench_table(name: str, minutes: float, workers: int, draws: int, max_rows: int | None) -> dict[str, Any]:
    data, train, holdout = split_dataset(name, max_rows)
    sdtypes, target = _columns(train), TARGETS[name]
    block: dict[str, Any] = {"rows": len(data), "train_rows": len(train),
                             "ceiling": score(train, holdout, train, sdtypes, target), "runs": []}
    for label, fit in RUNS.items():
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as storage:
            model = fit(train, minutes, workers, Path(storage))
        row: dict[str, Any] = {"run": label, "fit_seconds": time.perf_counter() - start,
                               "epochs": model.fit_info_.get("epochs"), "stop_reason": model.fit_info_.get("stop_reason"),
                               "normal_features": list(model.normal_columns_), "load_average_1min": os.getloadavg()[0]}
        frames = [model.sample(len(train), seed=2 + k) for k in range(draws)]
        row.update(score(train, holdout, frames[0], sdtypes, target))
        _average_draws(row, holdout, frames[1:], sdtypes)
        log.info("%s / %s: quality %.4f (sd %.4f), %d normal features, %.0f s", name, label, row["quality_holdout"],
                 row["quality_holdout_sd"] or 0.0, len(row["normal_features"]), row["fit_seconds"])
        block["runs"].append(row)
    return block


def to_markdown(results: dict[str, Any]) -> str:
    s = results["settings"]
    lines = ["# arm on a Ray cluster against arm in one process", "",
             f"{s['minutes']} training minutes per fit, {s['workers']} Ray workers on a local 2-CPU cluster, quality against "
             f"the holdout as the mean of {s['draws']} draws (± their sd); DCR share of the first draw. Protocol: "
             "`benchmarks/train_ray_quality.py`'s docstring. Started "
             f"{s['started']}, finished {s.get('finished', '-')}.", "",
             "| table | run | fit s | epochs | normal features | quality vs holdout | shapes | pair trends | DCR share |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, block in results["tables"].items():
        c = block["ceiling"]
        lines.append(f"| {name} ({block['train_rows']} training rows) | ceiling (training rows) | - | - | - | "
                     f"{cell(c['quality_holdout'], 3)} | {cell(c['column_shapes_holdout'], 3)} | "
                     f"{cell(c['column_pair_trends_holdout'], 3)} | - |")
        for r in block["runs"]:
            sd = r.get("quality_holdout_sd")
            lines.append(f"| {name} | {r['run']} | {r['fit_seconds']:.0f} | {r['epochs']} | {len(r['normal_features'])} | "
                         f"{cell(r['quality_holdout'], 3)} ± {cell(sd or 0.0, 3)} | {cell(r['column_shapes_holdout'], 3)} | "
                         f"{cell(r['column_pair_trends_holdout'], 3)} | {cell(r['dcr_share'], 3)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["default-credit-card", "adult"])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--name", default="train_ray_quality")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    results: dict[str, Any] = {"settings": {"minutes": args.minutes, "workers": args.workers, "draws": args.draws,
                                            "max_rows": args.max_rows, "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
                               "tables": {}}
    for name in args.datasets:
        results["tables"][name] = bench_table(name, args.minutes, args.workers, args.draws, args.max_rows)
        write_json(args.out_dir / f"{args.name}.json", results)  # after each table: a killed run keeps what it has
    results["settings"]["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    write_json(args.out_dir / f"{args.name}.json", results)
    write_text(args.out_dir / f"{args.name}.md", to_markdown(results))
    ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
