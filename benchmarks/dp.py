"""Benchmark: fidelity, utility and membership-inference AUC of the DP models on Adult at ε ∈ {1, 3, 10, ∞}.

Run: ``.venv/bin/python benchmarks/dp.py`` (``--rows`` training rows, default 10,000; ``--models``).
Writes ``benchmarks/results/dp.json`` and ``benchmarks/results/dp.md``.

Adult train (32,561 rows) is split into a training part and an equally large holdout *before*
fitting; each model is fitted on the training part at each ε (ε = ∞ means ``epsilon=None``: the
same model without noise) and samples as many rows as it saw; ``synthkit.evaluate.evaluate``
scores the sample against both parts (target ``income``). δ is the default min(1e-5, 1/n^1.1).
Metadata is profiled from the training part (column kinds only; the DP models drop every profiled
statistic), and no public bounds are given, so every range and category set is a DP release.
"""

from __future__ import annotations

import argparse
import logging
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.utils.atomic import write_json, write_text

RESULTS = ROOT / "benchmarks" / "results"
EPSILONS: list[float | None] = [1.0, 3.0, 10.0, None]
log = logging.getLogger("benchmarks.dp")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(rows: int, models: list[str], seed: int, max_eval_rows: int) -> dict[str, Any]:
    """Every (model, ε) case; results are rewritten after each case so a cut-off run keeps its rows."""
    import torch

    from synthkit.datasets import load
    from synthkit.evaluate import evaluate
    from synthkit.models.registry import create
    from synthkit.profile import profile

    torch.set_num_threads(1)
    full, _ = load("adult")
    shuffled = full.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    train, holdout = shuffled.iloc[:rows].reset_index(drop=True), shuffled.iloc[rows:2 * rows].reset_index(drop=True)
    meta = profile(train)
    cases: list[dict[str, Any]] = []
    result = {
        "benchmark": "dp", "dataset": "adult", "train_rows": len(train), "holdout_rows": len(holdout),
        "evaluated_rows_max": max_eval_rows, "seed": seed, "python": platform.python_version(),
        "machine": platform.machine(), "cases": cases,
    }
    for name in models:
        for eps in EPSILONS if name != "copula" else [None]:
            params = {} if name == "copula" else {"epsilon": eps}
            t0, c0 = time.perf_counter(), _cpu()
            model = create(name, meta, seed=seed, **params).fit(train)
            synthetic = model.sample(len(train), seed=seed)
            fit_s, fit_cpu = time.perf_counter() - t0, _cpu() - c0
            ev = evaluate(train, synthetic, holdout, metadata=meta, target="income", seed=seed, max_rows=max_eval_rows)
            s = ev.scores
            g = getattr(model, "privacy_guarantee_", None)
            case = {
                "model": name, "epsilon": eps, "delta": g["delta"] if g else None,
                "epsilon_spent": g["epsilon_spent"] if g else None,
                "fit_and_sample_seconds": round(fit_s, 1), "fit_and_sample_cpu_seconds": round(fit_cpu, 1),
                "fidelity_score": s["fidelity"]["score"], "column_shapes": s["fidelity"]["column_shapes"],
                "column_pair_trends": s["fidelity"]["column_pair_trends"], "detection_auc": s["fidelity"]["detection_auc"],
                "utility_ratio": s["utility"]["ratio"], "membership_inference_auc": s["privacy"]["membership_inference_auc"],
                "membership_inference_auc_ci": s["privacy"].get("membership_inference_auc_ci"),
                "dcr_share": s["privacy"]["dcr_share"], "verdict": ev.verdict,
            }
            if hasattr(model, "steps_"):
                case.update(dp_sgd_steps=model.steps_, noise_multiplier=model.noise_multiplier_)
            log.info("%s", case)
            cases.append(case)
            _write(result)
    return result


def _write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "dp.json", result)
    write_text(RESULTS / "dp.md", markdown(result))


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# DP models on Adult: quality and membership inference vs ε",
        "",
        (f"{result['train_rows']:,} training rows, {result['holdout_rows']:,} holdout rows (Adult train split before "
        f"fitting), synthetic sample as large as the training part; seed {result['seed']}; δ = min(1e-5, 1/n^1.1). "
        "ε = ∞ is the same model without noise. Fidelity = synthkit's fidelity score (higher is better), "
        "utility = TSTR/TRTR ratio on `income`, MIA AUC = membership-inference AUC (0.5 = no signal). "
        "No public bounds or category lists were given: every range, bin and category set is a DP release."),
        "",
        "| model | ε | ε spent | fidelity | column shapes | pair trends | detection AUC | utility | MIA AUC | MIA AUC bound | DCR share | fit+sample s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    from synthkit.privacy import mia_auc_bound

    for c in result["cases"]:
        eps = "∞" if c["epsilon"] is None else _fmt(c["epsilon"], 0)
        bound = None if c["epsilon"] is None else mia_auc_bound(c["epsilon"], c["delta"])
        if c["model"] == "copula":
            eps = "∞ (no DP)"
        lines.append(
            f"| {c['model']} | {eps} | {_fmt(c['epsilon_spent'])} | {_fmt(c['fidelity_score'])} | {_fmt(c['column_shapes'])} | "
            f"{_fmt(c['column_pair_trends'])} | {_fmt(c['detection_auc'])} | {_fmt(c['utility_ratio'])} | "
            f"{_fmt(c['membership_inference_auc'])} | {_fmt(bound)} | {_fmt(c['dcr_share'])} | {_fmt(c['fit_and_sample_seconds'], 1)} |")
    lines += ["", ("MIA AUC bound = the highest AUC any membership-inference attack can reach against an (ε, δ)-DP "
              "release (`synthkit.privacy.mia_auc_bound`); the measured MIA AUC must stay below it."),
              "Timings are wall-clock on a shared 2-core machine with other jobs running; treat them as rough.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--models", default="dp-marginals,dp-vae,copula")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-eval-rows", type=int, default=10_000)
    parser.add_argument("--markdown-only", action="store_true", help="re-render dp.md from dp.json")
    args = parser.parse_args()
    if args.markdown_only:
        import json

        write_text(RESULTS / "dp.md", markdown(json.loads((RESULTS / "dp.json").read_text())))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(args.rows, args.models.split(","), args.seed, args.max_eval_rows)


if __name__ == "__main__":
    main()
