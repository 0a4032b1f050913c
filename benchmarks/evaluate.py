"""Benchmark: full evaluation of Adult (16k synthetic vs 16k train vs 16k holdout) and 1 M rows.

Run: ``.venv/bin/python benchmarks/evaluate.py`` (``--skip-million`` to time Adult only). Writes
``benchmarks/results/evaluate.json`` and ``benchmarks/results/evaluate.md``. Each case runs in a
fresh subprocess so its peak memory (ru_maxrss) is its own.

* ``adult``: Adult train (32,561 rows) split 50/50 into train and holdout *before* fitting;
  synthkit's Gaussian copula fitted on the train half samples 16k synthetic rows. Only
  ``evaluate(...)`` is timed (all three families, target ``income``).
* ``million``: 1 M real, 1 M synthetic and 1 M holdout rows (Adult rows drawn with replacement,
  numbers jittered); ``evaluate`` subsamples each to ``max_rows`` = 20,000 and reports the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.utils.atomic import write_json, write_text

RESULTS = ROOT / "benchmarks" / "results"


def _cpu() -> float:
    """CPU seconds of this process: on a busy shared machine wall time mostly measures the neighbours."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _adult_case(seed: int) -> dict:
    from synthkit.datasets import load
    from synthkit.evaluate import evaluate, split_holdout
    from synthkit.models.registry import create
    from synthkit.profile import profile

    full, _ = load("adult")
    train, holdout = split_holdout(full, share=0.5, seed=seed)
    meta = profile(train)
    t0 = time.perf_counter()
    synthetic = create("copula", meta).fit(train).sample(len(train), seed=seed)
    fit_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), _cpu()
    ev = evaluate(train, synthetic, holdout, metadata=meta, target="income", seed=seed)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    s = ev.scores
    return {
        "case": "adult", "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "seconds_by_family": s["meta"]["seconds"],
        "model_fit_and_sample_seconds": round(fit_s, 2), "rows": s["meta"]["rows"],
        "evaluated_rows": s["meta"]["evaluated_rows"], "subsampled": s["meta"]["subsampled"],
        "verdict": ev.verdict, "fidelity_score": s["fidelity"]["score"], "column_shapes": s["fidelity"]["column_shapes"],
        "column_pair_trends": s["fidelity"]["column_pair_trends"], "detection_auc": s["fidelity"]["detection_auc"],
        "dcr_share": s["privacy"]["dcr_share"], "membership_inference_auc": s["privacy"]["membership_inference_auc"],
        "utility_ratio": s["utility"]["ratio"],
    }


def _million_case(seed: int, n: int) -> dict:
    from synthkit.datasets import load
    from synthkit.evaluate import evaluate
    from synthkit.profile import profile

    full, _ = load("adult")
    meta = profile(full)
    rng = np.random.default_rng(seed)

    def big(offset: int) -> pd.DataFrame:
        df = full.iloc[rng.integers(0, len(full), n)].reset_index(drop=True)
        for col in ("age", "fnlwgt", "hours-per-week"):
            df[col] = df[col] + rng.normal(0, 0.5, n) + offset
        return df.astype({c: "category" for c in df.columns if df[c].dtype == object})

    real, synthetic, holdout = big(0), big(0), big(0)
    rss_inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), _cpu()
    ev = evaluate(real, synthetic, holdout, metadata=meta, target="income", seed=seed)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    m = ev.scores["meta"]
    return {"case": "million", "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "seconds_by_family": m["seconds"], "rows": m["rows"],
            "evaluated_rows": m["evaluated_rows"], "subsampled": m["subsampled"],
            "peak_rss_after_inputs_mb": round(rss_inputs, 1)}


def _run_child(case: str, seed: int, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", case, "--seed", str(seed), "--rows", str(n)],
        check=True, capture_output=True, text=True, env={**os.environ, "SYNTHKIT_QUIET": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# Runs inside a separate interpreter that has anonymeter (it pins numpy<1.27, so it cannot share
# synthkit's environment): the same frames, the same attacks, anonymeter's own implementation.
_ANONYMETER_SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
d, qis = sys.argv[1], json.loads(sys.argv[2])
train, holdout = pd.read_csv(d + "/train.csv"), pd.read_csv(d + "/holdout.csv")
rest = [c for c in train.columns if c not in qis]
out = {}
for name in ("copy", "unseen"):
    syn = pd.read_csv(d + "/" + name + ".csv")
    r = {}
    for key, ev in (
        ("singling_out", SinglingOutEvaluator(ori=train, syn=syn, control=holdout, n_attacks=500, n_cols=3).evaluate(mode="multivariate")),
        ("linkability", LinkabilityEvaluator(ori=train, syn=syn, control=holdout, n_attacks=2000, aux_cols=(qis, rest), n_neighbors=1).evaluate(n_jobs=1)),
        ("inference_income", InferenceEvaluator(ori=train, syn=syn, control=holdout, aux_cols=qis, secret="income", n_attacks=3000).evaluate(n_jobs=1)),
    ):
        res, risk = ev.results(), ev.risk()
        r[key] = {"risk": risk.value, "risk_ci": list(risk.ci), "attack_rate": res.attack_rate.value, "control_rate": res.control_rate.value}
    out[name] = r
print(json.dumps(out))
"""


def _anonymeter_crosscheck(python: str, seed: int) -> dict:
    """Our singling-out/linkability/inference risks vs anonymeter's on the Adult copy/unseen canaries."""
    import tempfile

    from synthkit.datasets import load
    from synthkit.evaluate import evaluate, split_holdout

    full, test = load("adult")
    train, holdout = split_holdout(full.sample(6000, random_state=1).reset_index(drop=True), share=0.5, seed=seed)
    frames = {"train": train, "holdout": holdout, "copy": train, "unseen": test.sample(3000, random_state=2)}
    qis = ["age", "sex", "race", "marital-status", "native-country"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, df in frames.items():
            df.to_csv(Path(tmp) / f"{name}.csv", index=False)
        out = subprocess.run([python, "-c", _ANONYMETER_SCRIPT, tmp, json.dumps(qis)], check=True, capture_output=True,
                             text=True, env={**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"})
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    ours: dict = {}
    for name in ("copy", "unseen"):
        p = evaluate(train, frames[name].reset_index(drop=True), holdout, target="income", seed=seed, quasi_identifiers=qis,
                     families=("privacy",)).scores["privacy"]
        ours[name] = {key: {k: src[k] for k in ("risk", "risk_ci", "attack_rate", "control_rate")} for key, src in (
            ("singling_out", p["singling_out"]), ("linkability", p["linkability"]), ("inference_income", p["inference_risk"]["income"]))}
    return {"quasi_identifiers": qis, "rows": {"train": 3000, "holdout": 3000, "synthetic": 3000}, "anonymeter": theirs, "synthkit": ours}


def _markdown(results: dict) -> str:
    env, cases = results["environment"], results["cases"]
    lines = [
        "# Evaluation benchmark", "",
        (f"Python {env['python']}, {env['cpus']} CPUs, load average {env['load_average_1min']} at the end "
         f"(shared machine), OpenMP/BLAS threads: {env['threads']}. Wall seconds per family in the last columns; "
         "CPU seconds are the process's own compute (single-threaded, so the wall time on an idle core)."), "",
        "| case | rows real / synthetic / holdout | evaluated rows | wall s | CPU s | prepare | fidelity | privacy | utility | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        r, e, s = c["rows"], c["evaluated_rows"], c["seconds_by_family"]
        lines.append(f"| {c['case']} | {r['real']:,} / {r['synthetic']:,} / {r['holdout']:,} | "
                     f"{e['real']:,} / {e['synthetic']:,} / {e['holdout']:,} | {c['seconds']} | {c['cpu_seconds']} | {s.get('prepare')} | "
                     f"{s.get('fidelity')} | {s.get('privacy')} | {s.get('utility')} | {c['peak_rss_mb']} |")
    adult = cases[0]
    lines += ["", (f"Adult scores (Gaussian copula): verdict **{adult['verdict']}**, fidelity {adult['fidelity_score']:.3f} "
              f"(shapes {adult['column_shapes']:.3f}, pair trends {adult['column_pair_trends']:.3f}, detection AUC "
              f"{adult['detection_auc']:.3f}), DCR share {adult['dcr_share']:.3f}, MIA AUC "
              f"{adult['membership_inference_auc']:.3f}, utility ratio {adult['utility_ratio']:.3f}."), ""]
    cross = results.get("anonymeter_crosscheck")
    if cross:
        lines += ["## Cross-check against anonymeter", "",
                  (f"Adult, {cross['rows']['train']:,} train / {cross['rows']['holdout']:,} control rows; synthetic = a copy of "
                   f"train or {cross['rows']['synthetic']:,} unseen rows; quasi-identifiers {', '.join(cross['quasi_identifiers'])}. "
                   "anonymeter ran in its own environment (numpy 1.26)."), "",
                  "| synthetic | attack | anonymeter risk [95% CI] (attack / control) | synthkit risk [95% CI] (attack / control) |",
                  "|---|---|---|---|"]
        for case, attacks in cross["anonymeter"].items():
            for key, a in attacks.items():
                o = cross["synthkit"][case][key]
                fmt = lambda r: (f"{r['risk']:.3f} [{r['risk_ci'][0]:.3f}, {r['risk_ci'][1]:.3f}] "
                                 f"({r['attack_rate']:.3f} / {r['control_rate']:.3f})")
                lines.append(f"| {case} | {key} | {fmt(a)} | {fmt(o)} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", choices=["adult", "million"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument("--anonymeter-python", help="python of an environment with anonymeter: adds the cross-check")
    parser.add_argument("--only-anonymeter", action="store_true", help="keep the timed cases of the last run")
    args = parser.parse_args()
    if args.child:
        res = _adult_case(args.seed) if args.child == "adult" else _million_case(args.seed, args.rows)
        res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        sys.stdout.write(json.dumps(res) + "\n")
        return
    path = RESULTS / "evaluate.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if not args.only_anonymeter:
        cases = [_run_child("adult", args.seed, args.rows)]
        if not args.skip_million:
            cases.append(_run_child("million", args.seed, args.rows))
        results["cases"] = cases
        results["environment"] = {
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2), "threads": os.environ.get("SYNTHKIT_EVAL_THREADS", "1")}
    if args.anonymeter_python:
        results["anonymeter_crosscheck"] = _anonymeter_crosscheck(args.anonymeter_python, args.seed)
    write_json(path, results)
    text = _markdown(results)
    write_text(RESULTS / "evaluate.md", text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
