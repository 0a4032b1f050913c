"""Benchmark: bayesnet's exact conditions against rejection sampling, on the bundled Adult table.

Run: ``.venv/bin/python benchmarks/conditional.py [--threads 1]``.
Writes ``benchmarks/results/conditional.json`` and ``benchmarks/results/conditional.md``.

bayesnet is fitted on all 32,561 Adult rows (seed 0) and asked for 5,000 rows under conditions
from common to rare: ``sample(5000, conditions=...)`` through its tree
(:meth:`~synthkit.models.bayesnet.BayesianNetworkSynthesizer._conditioned_tables`) and through the
base class's rejection sampling (the same model with ``native_conditions`` off: draw, keep the rows
that match, give up when the match rate says 20 million draws would not do). Seconds: best of three after a warm-up (one run
for rejection). Accuracy: the total variation distance of ``occupation``'s shares in each sample
from the model's own conditional shares, counted on the matching rows of 8,000,000 independent
draws of the same model (the reference; its own noise is in the table as its matching rows, and
under 1,000 of them no TVD is given). A number inside a bin (fnlwgt 200,000) is never met by
rejection, whose decoded values are continuous there; the reference meets it only after rounding
to whole numbers, on a few dozen rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, this folder is sys.path[0]: keep its modules from shadowing the standard library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

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

from synthkit.errors import SynthkitError  # noqa: E402
from synthkit.models import create  # noqa: E402

log = logging.getLogger(__name__)

ROWS = 5_000
CONDITIONS: list[dict[str, Any]] = [
    {"income": ">50K"},
    {"hours-per-week": 40},
    {"education": "Doctorate"},
    {"education": "Doctorate", "sex": "Female"},
    {"education": "Preschool"},
    {"age": 37},
    {"fnlwgt": 200_000},
]
PROBE = "occupation"  # no condition names it; it depends on education and sex
REFERENCE_ROWS, CHUNK = 8_000_000, 500_000
MIN_REFERENCE = 1_000  # matching reference rows below which its shares are too noisy to compare with


def shares(frame: pd.DataFrame) -> pd.Series:
    return frame[PROBE].astype(str).value_counts(normalize=True)


def tvd(a: pd.Series, b: pd.Series) -> float:
    both = pd.concat([a, b], axis=1).fillna(0.0)
    return round(0.5 * float((both.iloc[:, 0] - both.iloc[:, 1]).abs().sum()), 4)


def reference_shares(model: Any, conditions: list[dict[str, Any]]) -> list[tuple[pd.Series, int]]:
    """``PROBE``'s shares among the rows of REFERENCE_ROWS independent draws that meet each condition."""
    counts: list[pd.Series] = [pd.Series(dtype=float) for _ in conditions]
    for k in range(REFERENCE_ROWS // CHUNK):
        rows = model.sample(CHUNK, seed=1_000 + k)
        for i, condition in enumerate(conditions):
            match = np.logical_and.reduce([(rows[c].astype(str) == str(v)).to_numpy() for c, v in condition.items()])
            counts[i] = counts[i].add(rows.loc[match, PROBE].astype(str).value_counts(), fill_value=0.0)
    return [(c / c.sum() if c.sum() else c, int(c.sum())) for c in counts]


def timed(draw: Any, runs: int) -> tuple[float, pd.DataFrame]:
    """Best of ``runs`` calls of ``draw(seed)`` (seeds 1..runs), and the first call's rows."""
    seconds, first = [], None
    for seed in range(1, runs + 1):
        start = time.perf_counter()
        rows = draw(seed)
        seconds.append(time.perf_counter() - start)
        first = rows if first is None else first
    return min(seconds), first


def measure(train: pd.DataFrame) -> list[dict[str, Any]]:
    exact = create("bayesnet", seed=0).fit(train)
    rejecting = create("bayesnet", seed=0).fit(train)
    rejecting.native_conditions = False  # the base class's rejection sampling, on the same tables
    independent = create("bayesnet", seed=0, representative=False).fit(train)
    references = reference_shares(independent, CONDITIONS)
    out = []
    for conditions, (reference, matched) in zip(CONDITIONS, references):
        share = float(np.logical_and.reduce([(train[c] == v).to_numpy() for c, v in conditions.items()]).mean())
        exact.sample(ROWS, seed=0, conditions=conditions)  # warm-up
        exact_seconds, exact_rows = timed(lambda s: exact.sample(ROWS, seed=s, conditions=conditions), 3)
        assert all((exact_rows[c].astype(str) == str(v)).all() for c, v in conditions.items())
        row: dict[str, Any] = {"conditions": conditions, "training_share": round(share, 5),
                               "exact_seconds": round(exact_seconds, 4), "reference_rows": matched,
                               "exact_tvd": tvd(shares(exact_rows), reference) if matched >= MIN_REFERENCE else None}
        try:
            reject_seconds, reject_rows = timed(lambda s: rejecting.sample(ROWS, seed=s, conditions=conditions), 1)
            row.update(rejection_seconds=round(reject_seconds, 4), rejection_tvd=tvd(shares(reject_rows), reference))
        except SynthkitError as exc:  # rejection gives up: the point of exact conditions
            row.update(rejection_seconds=None, rejection_error=str(exc).split(";")[0], rejection_tvd=None)
        out.append(row)
        log.info("%s", row)
    return out


def to_markdown(results: dict[str, Any]) -> str:
    lines = ["# bayesnet: exact conditions against rejection sampling", "",
             f"Machine: {results['machine']}, torch threads {results['threads']}. bayesnet fitted on the bundled Adult "
             f"table's {results['train_rows']:,} rows (seed 0); {ROWS:,} rows asked for under each condition. Seconds: "
             "best of three after a warm-up (exact), one run (rejection: the base class's, on the same model). TVD: "
             f"{PROBE}'s shares in the sample against the model's own, counted on the matching rows of "
             f"{REFERENCE_ROWS:,} independent draws (none given under {MIN_REFERENCE:,} of them).",
             "", "| conditions | training share | exact: seconds | rejection: seconds | exact: TVD | rejection: TVD | "
             "reference rows |", "|---|---|---|---|---|---|---|"]

    def number(value: float | None, digits: int) -> str:
        return "–" if value is None else f"{value:.{digits}f}"

    for r in results["rows"]:
        cond = ", ".join(f"{k} = {v}" for k, v in r["conditions"].items())
        rejection = number(r["rejection_seconds"], 3) if r["rejection_seconds"] is not None else f"fails: {r['rejection_error']}"
        lines.append(f"| {cond} | {r['training_share']:.4f} | {r['exact_seconds']:.3f} | {rejection} | "
                     f"{number(r['exact_tvd'], 4)} | {number(r['rejection_tvd'], 4)} | {r['reference_rows']:,} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from synthkit.datasets import load

    train = load("adult")[0]
    return run_script(argv, __doc__.splitlines()[0], "conditional",
                      lambda: {"train_rows": len(train), "rows": measure(train)}, to_markdown)


if __name__ == "__main__":
    raise SystemExit(main())
