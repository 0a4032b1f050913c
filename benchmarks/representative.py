"""Benchmark: what representative draws (:mod:`synthkit.models.representative`) cost and give.

Run: ``.venv/bin/python benchmarks/representative.py [--threads 1]``.
Writes ``benchmarks/results/representative.json`` and ``benchmarks/results/representative.md``.

For arm and bayesnet fitted on 5,000 rows of the bundled Adult table, the public ``sample(n)``
is timed with ``representative`` on and off, for ``n`` from 500 to 50,000 rows (the default's
limit), best of three after a warm-up. Next to each time: the mean total variation distance of
every pair of Adult's categorical columns between the sample and 1,000,000 independent draws of the
same model (the model's own tables), averaged over the three samples: what the choice removes.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, this folder is sys.path[0]: keep its modules from shadowing the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import itertools
import logging
import runpy
import time
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# the shared command line, by path: a `benchmarks` package elsewhere on sys.path shadows this folder
run_script = runpy.run_path(str(ROOT / "benchmarks" / "script_main.py"))["run_script"]

from synthkit.models import create  # noqa: E402

log = logging.getLogger(__name__)

SIZES = (500, 2_000, 10_000, 50_000)
CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex", "income"]


def pair_error(sample: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Mean total variation distance of the categorical pairs' joint shares (sample vs reference)."""
    errors = []
    for a, b in itertools.combinations(CATEGORICAL, 2):
        mine = sample.groupby([a, b], observed=True).size() / len(sample)
        theirs = reference.groupby([a, b], observed=True).size() / len(reference)
        both = pd.concat([mine, theirs], axis=1).fillna(0.0)
        errors.append(0.5 * float(np.abs(both.iloc[:, 0] - both.iloc[:, 1]).sum()))
    return float(np.mean(errors))


def measure(model_name: str, train: pd.DataFrame) -> list[dict[str, Any]]:
    """Seconds and pair error of ``sample(n)`` with representative draws on and off."""
    rows = []
    fitted = {flag: create(model_name, seed=0, representative=flag).fit(train) for flag in (True, False)}
    reference = fitted[False].sample(1_000_000, seed=99)
    for n in SIZES:
        for flag, model in fitted.items():
            model.sample(n, seed=0)  # warm-up
            seconds, samples = [], []
            for seed in range(3):
                start = time.perf_counter()
                samples.append(model.sample(n, seed=seed + 1))
                seconds.append(time.perf_counter() - start)
            rows.append({"model": model_name, "rows": n, "representative": flag, "seconds": round(min(seconds), 4),
                         "rows_per_second": round(n / min(seconds)),
                         "pair_tvd": round(float(np.mean([pair_error(s, reference) for s in samples])), 5)})
            log.info("%s", rows[-1])
    return rows


def to_markdown(results: dict[str, Any]) -> str:
    lines = ["# Representative draws: cost and effect", "",
             f"Machine: {results['machine']}, torch threads {results['threads']}. Models fitted on 5,000 rows of the "
             "bundled Adult table (seed 0). Seconds: best of three `sample(n)` calls after a warm-up. Pair TVD: mean "
             "total variation distance over the 28 pairs of Adult's 8 categorical columns between the sample and "
             "1,000,000 independent draws of the same model, mean of the three samples.", "",
             "| model | rows | independent: seconds | representative: seconds | independent: pair TVD | "
             "representative: pair TVD |", "|---|---|---|---|---|---|"]
    by_key = {(r["model"], r["rows"], r["representative"]): r for r in results["rows"]}
    for model in dict.fromkeys(r["model"] for r in results["rows"]):
        for n in SIZES:
            off, on = by_key[(model, n, False)], by_key[(model, n, True)]
            lines.append(f"| {model} | {n:,} | {off['seconds']:.3f} | {on['seconds']:.3f} | {off['pair_tvd']:.4f} | "
                         f"{on['pair_tvd']:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from synthkit.datasets import load

    train = load("adult")[0].sample(5_000, random_state=0).reset_index(drop=True)
    return run_script(argv, __doc__.splitlines()[0], "representative",
                      lambda: {"rows": [r for name in ("arm", "bayesnet") for r in measure(name, train)]},
                      to_markdown)


if __name__ == "__main__":
    raise SystemExit(main())
