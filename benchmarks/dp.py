"""Benchmark: fidelity, utility and membership-inference AUC of the DP models on Adult at ε ∈ {1, 3, 10, ∞}.

Run: ``.venv/bin/python benchmarks/dp.py`` (``--rows`` training rows, default 300; ``--repeats``,
default 5; ``--models``). Writes ``benchmarks/results/dp.json`` and ``benchmarks/results/dp.md``.

Why a small training set: on 10,000 Adult rows no model over-fits, so every membership attack
sits at AUC ≈ 0.51 for every ε (including no DP) and the "lower ε → lower MIA" half of the curve
cannot show. Here each repeat draws, from a fresh shuffle of Adult train (32,561 rows), disjoint
sets: ``rows`` members (the training set), ``rows`` non-members, and a 5,000-row reference sample
of the population that only the attacker and the utility test use. The neural models train long
(800 epochs at batch 50) so that without noise they memorize.

Per (model, ε, repeat): fit on the members (ε = ∞ means the same DP pipeline without noise),
release ``synthetic_factor`` × ``rows`` synthetic rows, then
- membership attack (:func:`synthkit.evaluate.attacks.membership_inference`): members vs
  non-members, scored on the whole release with the attacker's own reference sample —
  DOMIAS-style kNN density ratio (headline) and distance to closest record;
- fidelity (``synthkit.evaluate``) of ``rows`` released rows against the members;
- utility: TSTR/TRTR on ``income`` with ``rows`` released rows vs the members, tested on the
  5,000 reference rows.
Column kinds are profiled from the reference sample (public); except for the "public domains"
variant no public bounds are given: every range, bin and category set of a DP model is a DP
release. δ = min(1e-5, 1/n^1.1). A full run (all five models, 5 repeats) takes ≈ 25 min of CPU
on one torch thread; ``--append --models LABEL`` re-runs one model and keeps the others' cases.
"""

from __future__ import annotations

import argparse
import logging
import math
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.utils.atomic import write_json, write_text
from synthkit.utils.formatting import cell

RESULTS = ROOT / "benchmarks" / "results"
EPSILONS: list[float | None] = [1.0, 3.0, 10.0, None]
REFERENCE_ROWS = 5000
#: one network for every ε (and for the no-DP reference): big enough and trained long enough to
#: memorize a few hundred rows when no noise is added
NEURAL = {"epochs": 800, "batch_size": 50, "encoder_dims": (128, 128), "decoder_dims": (128, 128), "latent_dim": 16,
          "learning_rate": 3e-3, "loss_factor": 1.0, "weight_decay": 0.0}
#: label -> (registered model, params (+ NEURAL for vae), ε values; None in the list = ε = ∞)
MODELS: dict[str, tuple[str, dict[str, Any], list[float | None]]] = {
    "dp-marginals": ("dp-marginals", {}, EPSILONS),
    "vae (DP-SGD)": ("vae", {"dp": True}, EPSILONS),
    "vae (no DP)": ("vae", {}, [None]),
    # category lists and numeric ranges taken from the reference sample (population data disjoint
    # from the members, i.e. public knowledge): nothing suppressed by the DP thresholds
    "vae (DP-SGD; public domains)": ("vae", {"dp": True, "public_domains": True}, EPSILONS),
    # DP-SGD on the critic only; same epochs and batch as the vae (pac=1, no conditional vector with DP)
    "gan (DP-SGD)": ("gan", {"dp": True, "epochs": 800, "batch_size": 50, "generator_dims": (128, 128),
                             "critic_dims": (128, 128), "embedding_dim": 16, "learning_rate": 1e-3}, EPSILONS),
}
log = logging.getLogger("benchmarks.dp")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(rows: int, repeats: int, labels: list[str], seed: int, synthetic_factor: int,
        previous: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every (model, ε, repeat) case; results are rewritten after each case so a cut-off run keeps its rows."""
    import torch

    from synthkit.datasets import load
    from synthkit.evaluate import evaluate
    from synthkit.evaluate.attacks import membership_inference
    from synthkit.models.registry import create
    from synthkit.profile import profile

    torch.set_num_threads(1)
    full, _ = load("adult")
    cases: list[dict[str, Any]] = [c for c in previous or [] if c["model"] not in labels]
    result = {
        "benchmark": "dp", "dataset": "adult", "train_rows": rows, "non_member_rows": rows, "reference_rows": REFERENCE_ROWS,
        "synthetic_rows": synthetic_factor * rows, "repeats": repeats, "seed": seed, "neural_params": NEURAL,
        "python": platform.python_version(), "machine": platform.machine(), "torch_threads": 1, "cases": cases,
    }
    for rep in range(repeats):
        shuffled = full.sample(frac=1.0, random_state=seed + rep).reset_index(drop=True)
        train = shuffled.iloc[:rows].reset_index(drop=True)
        non_members = shuffled.iloc[rows:2 * rows].reset_index(drop=True)
        reference = shuffled.iloc[2 * rows:2 * rows + REFERENCE_ROWS].reset_index(drop=True)
        meta = profile(reference)
        kinds = {c.name: c.kind for c in meta.table().columns}
        for label in labels:
            name, params, epsilons = MODELS[label]
            params = {**NEURAL, **params} if name == "vae" else dict(params)
            if params.pop("public_domains", False):
                params.update(_public_domains(reference, kinds))
            for eps in epsilons:
                t0, c0 = time.perf_counter(), _cpu()
                model = create(name, meta, seed=seed + rep, epsilon=eps, **params).fit(train)
                synthetic = model.sample(synthetic_factor * rows, seed=seed + rep)
                fit_s, fit_cpu = time.perf_counter() - t0, _cpu() - c0
                mia = membership_inference(train, non_members, reference, synthetic, kinds)
                released = synthetic.iloc[:rows].reset_index(drop=True)
                fid = evaluate(train, released, metadata=meta, seed=seed, families=("fidelity",)).scores["fidelity"]
                try:
                    uti = evaluate(train, released, reference, metadata=meta, target="income", seed=seed,
                                   families=("utility",)).scores["utility"]
                except ValueError as exc:  # e.g. a numeric column entirely missing in the release (nothing released)
                    log.warning("utility failed for %s at epsilon=%s: %s", label, eps, exc)
                    uti = {"ratio": None, "error": str(exc)}
                g = getattr(model, "privacy_guarantee_", None)
                case = {
                    "model": label, "repeat": rep, "epsilon": eps, "delta": g["delta"] if g else None,
                    "epsilon_spent": g["epsilon_spent"] if g else None,
                    "fit_and_sample_seconds": round(fit_s, 1), "fit_and_sample_cpu_seconds": round(fit_cpu, 1),
                    "fidelity_score": fid["score"], "column_shapes": fid["column_shapes"],
                    "column_pair_trends": fid["column_pair_trends"], "detection_auc": fid["detection_auc"],
                    "utility_ratio": uti.get("ratio"), "utility_error": uti.get("error"),
                    "mia_auc": mia["density_ratio"]["auc"], "mia_auc_se": mia["density_ratio"]["se"],
                    "mia_dcr_auc": mia["dcr"]["auc"], "mia_dcr_auc_se": mia["dcr"]["se"],
                }
                if hasattr(model, "steps_"):
                    case.update(dp_sgd_steps=model.steps_, noise_multiplier=model.noise_multiplier_)
                log.info("%s", case)
                cases.append(case)
                result["summary"] = summarize(cases)
                _write(result)
    result["summary"] = summarize(cases)
    _write(result)
    return result


def _public_domains(reference: Any, kinds: dict[str, str]) -> dict[str, Any]:
    """``bounds`` / ``categories`` of every column as seen in the public reference sample."""
    bounds = {c: [float(reference[c].min()), float(reference[c].max())] for c, k in kinds.items() if k == "numerical"}
    categories = {c: sorted(str(v) for v in reference[c].dropna().unique()) for c, k in kinds.items() if k == "categorical"}
    return {"bounds": bounds, "categories": categories}


def summarize(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean over repeats per (model, ε); MIA CI = mean ± 1.96·√(Σ se²)/R (independent repeats)."""
    import numpy as np

    groups: dict[tuple[str, Any], list[dict[str, Any]]] = {}
    for c in cases:
        groups.setdefault((c["model"], c["epsilon"]), []).append(c)
    out = []
    for (model, eps), group in groups.items():
        row: dict[str, Any] = {"model": model, "epsilon": eps, "repeats": len(group),
                               "delta": group[0]["delta"], "epsilon_spent_max": _max(group, "epsilon_spent")}
        for key in ("fidelity_score", "column_shapes", "column_pair_trends", "detection_auc", "utility_ratio",
                    "mia_auc", "mia_dcr_auc", "fit_and_sample_cpu_seconds", "noise_multiplier"):
            values = [c[key] for c in group if c.get(key) is not None]
            row[key] = float(np.mean(values)) if values else None
            row[f"{key}_n"] = len(values)
        for key in ("mia_auc", "mia_dcr_auc"):
            ses = [c[f"{key}_se"] for c in group if c.get(f"{key}_se") is not None]
            half = 1.96 * math.sqrt(sum(s * s for s in ses)) / len(ses) if ses else None
            row[f"{key}_ci"] = None if half is None else [row[key] - half, row[key] + half]
            row[f"{key}_range"] = [min(c[key] for c in group), max(c[key] for c in group)]
        out.append(row)
    order = list(MODELS)
    return sorted(out, key=lambda r: (order.index(r["model"]) if r["model"] in order else len(order),
                                      EPSILONS.index(r["epsilon"]) if r["epsilon"] in EPSILONS else 0))


def _max(group: list[dict[str, Any]], key: str) -> float | None:
    values = [c[key] for c in group if c.get(key) is not None]
    return max(values) if values else None


def _write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "dp.json", result)
    write_text(RESULTS / "dp.md", markdown(result))


def _partial(row: dict[str, Any], key: str) -> str:
    """" (k of R)" when only k repeats had a value (utility needs two target classes in the release)."""
    n = row.get(f"{key}_n", row["repeats"])
    return "" if n == row["repeats"] else f" ({n} of {row['repeats']})"


def markdown(result: dict[str, Any]) -> str:
    from synthkit.privacy import mia_auc_bound

    n = result["train_rows"]
    lines = [
        "# DP models on Adult: quality and membership inference vs ε",
        "",
        (f"{n:,} training rows (members), {result['non_member_rows']:,} non-members and a "
         f"{result['reference_rows']:,}-row population reference (attacker's knowledge and utility test set), disjoint, "
         f"drawn afresh from Adult train in each of {result['repeats']} repeats (seeds {result['seed']}…"
         f"{result['seed'] + result['repeats'] - 1}); {result['synthetic_rows']:,} synthetic rows released per fit. "
         "δ = min(1e-5, 1/n^1.1). ε = ∞ is the same DP pipeline without noise; `vae (no DP)` is the ordinary vae "
         "(raw-data TableEncoder, no clipping) with the same network and epochs. No public bounds or category lists "
         "were given to `dp-marginals`, `vae (DP-SGD)` and `gan (DP-SGD)` (DP-SGD on the critic only): every range, bin and category set is a DP release "
         "(10 % of the budget for `vae`). `vae (DP-SGD; public domains)` gets the category lists and numeric "
         "ranges of the reference sample (population data disjoint from the members) as public metadata: no "
         "category is suppressed and no range is lost; its 10 % preprocessing share still pays for the noisy "
         "histograms that place the numeric bins."),
        "",
        ("Fidelity = synthkit's fidelity score of "
         f"{n:,} released rows vs the members; utility = TSTR/TRTR on `income` ({n:,} rows each, tested on the reference); "
         "MIA AUC = DOMIAS-style density-ratio attack (log d₁(reference) − log d₁(synthetic)), "
         "DCR AUC = distance-to-closest-synthetic-record attack, both members vs non-members "
         "(`synthkit.evaluate.attacks.membership_inference`); 0.5 = no signal. Mean over repeats; "
         "MIA 95 % CI = mean ± 1.96·√(Σ se²)/R from the per-repeat Hanley–McNeil errors; range = min–max over repeats. "
         "Utility \"(k of R)\" = mean over the k repeats whose release had both income classes (otherwise there is "
         "nothing to learn and utility is undefined); – = no repeat had."),
        "",
        "| model | ε | ε spent (max) | σ | fidelity | column shapes | pair trends | detection AUC | utility | "
        "MIA AUC [95 % CI] | MIA range | DCR AUC [95 % CI] | MIA AUC bound | CPU s / fit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in result.get("summary", []):
        eps = "∞" if s["epsilon"] is None else cell(s["epsilon"], 0)
        bound = None if s["epsilon"] is None else mia_auc_bound(s["epsilon"], s["delta"])
        ci = s.get("mia_auc_ci") or [None, None]
        dci = s.get("mia_dcr_auc_ci") or [None, None]
        rng = s.get("mia_auc_range") or [None, None]
        lines.append(
            f"| {s['model']} | {eps} | {cell(s['epsilon_spent_max'], 3)} | {cell(s['noise_multiplier'], 2)} | "
            f"{cell(s['fidelity_score'], 3)} | {cell(s['column_shapes'], 3)} | {cell(s['column_pair_trends'], 3)} | "
            f"{cell(s['detection_auc'], 3)} | {cell(s['utility_ratio'], 3)}{_partial(s, 'utility_ratio')} | "
            f"{cell(s['mia_auc'], 3)} [{cell(ci[0], 3)}, {cell(ci[1], 3)}] | {cell(rng[0], 3)}–{cell(rng[1], 3)} | "
            f"{cell(s['mia_dcr_auc'], 3)} [{cell(dci[0], 3)}, {cell(dci[1], 3)}] | {cell(bound, 3)} | "
            f"{cell(s['fit_and_sample_cpu_seconds'], 1)} |")
    lines += ["", ("MIA AUC bound = the highest AUC any membership-inference attack can reach against an (ε, δ)-DP "
              "release (`synthkit.privacy.mia_auc_bound`); the measured MIA AUC must stay below it."),
              "CPU seconds are for fit + sampling on one torch thread of a shared 2-core machine; treat them as rough.",
              ""]
    note = result.get("note")
    if note:
        lines += ["## What the curve shows", "", note, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated labels of {list(MODELS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic-factor", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=NEURAL["epochs"], help="epochs of the neural models")
    parser.add_argument("--markdown-only", action="store_true", help="re-render dp.md from dp.json")
    parser.add_argument("--append", action="store_true",
                        help="keep the cases of other models already in dp.json (same rows/repeats/seed)")
    args = parser.parse_args()
    if args.markdown_only:
        import json

        write_text(RESULTS / "dp.md", markdown(json.loads((RESULTS / "dp.json").read_text())))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    labels = args.models.split(",")
    unknown = sorted(set(labels) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(MODELS)}")
    NEURAL["epochs"] = args.epochs
    previous = None
    if args.append:
        import json

        old = json.loads((RESULTS / "dp.json").read_text())
        if (old["train_rows"], old["repeats"], old["seed"]) != (args.rows, args.repeats, args.seed):
            parser.error("--append needs the same --rows, --repeats and --seed as the existing dp.json")
        previous = old["cases"]
    run(args.rows, args.repeats, labels, args.seed, args.synthetic_factor, previous)


if __name__ == "__main__":
    main()
