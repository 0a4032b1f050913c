"""Sequence benchmark: ``sequence`` vs ``sdv-par`` on PhysioNet 2012 ICU stays and Beijing air quality.

For each dataset, ``--entities`` entities (ICU stays; station x ``--window``-hour windows) are
drawn with a fixed seed, and as many others as a holdout; each model is fitted on the first and
samples as many entities, in its own process with a time cap (``--cap-minutes``; a model that does
not finish is reported as "timeout"). Every score compares synthetic entities with the holdout,
which no model saw, and a "real (ceiling)" row scores the training entities the same way: what a
perfect generator would reach (``--no-holdout`` scores against the training entities, as runs
before v7 did, which rewards a model that memorizes them). Reported:
fit and sample seconds and :func:`synthkit.evaluate.temporal.temporal_metrics` (length and
inter-event time distances, per-measure marginal KS, lag-1 autocorrelation difference,
discriminative accuracy, train-on-synthetic next-step MAE). Writes
``benchmarks/results/sequence.json`` and ``sequence.md``.

sdv-par gets a smaller budget, documented in the results: ``--par-epochs`` (default 16; PAR's own
default is 128) and ``--par-sample`` entities sampled back (default 250; PAR draws one sequence
at a time, step by step, which dominates its run time on 1,000 entities). Both models are fitted on
the same ``--entities`` entities and scored against the same holdout; the distributional metrics do not
need equal synthetic sizes. PAR's memory grows with the square of the number of sequences (its loss
slices a [time, sequences] tensor once per sequence and column, and every slice's backward
allocates a full-size gradient: 4.0 GB peak on 100 ICU stays, 12.9 GB on 200), so on ICU it is
fitted on a random subset (``--par-fit-entities icu=60``) and every model is stopped above
``--mem-cap-gb`` of resident memory (the machine is shared).

    .venv/bin/python benchmarks/sequence.py [--entities 1000] [--cap-minutes 20] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

# this folder holds benchmark scripts whose names (profile.py, ...) shadow standard modules
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import logging
import multiprocessing as mp
import os
import platform
import time
from typing import Any

import numpy as np
import pandas as pd

from synthkit.utils.atomic import write_json, write_text

log = logging.getLogger("benchmarks.sequence")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SYNTHKIT_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))
ICU_PARAMS = ["Age", "Gender", "Height", "Weight", "HR", "MAP", "SysABP", "DiasABP", "NISysABP", "NIDiasABP",
              "NIMAP", "Temp", "GCS", "RespRate", "Urine", "FiO2", "MechVent", "pH", "Lactate"]
BEIJING_MEASURES = ["PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "wd", "WSPM"]


def icu(entities: int, seed: int) -> dict[str, Any]:
    from synthkit.datasets import ICU_CONTEXT, icu_wide

    long = pd.read_csv(SHARED / "physionet-2012-icu" / "set-a_long.csv.gz")
    long = long[long["Parameter"].isin(ICU_PARAMS)]
    ids = np.random.default_rng(seed).permutation(long["RecordID"].unique())[:entities]
    df = icu_wide(long[long["RecordID"].isin(ids)])
    measures = [c for c in df.columns if c not in ("RecordID", "Time", *ICU_CONTEXT)]
    return {"df": df, "entity": "RecordID", "time": "Time", "context": ICU_CONTEXT, "measures": measures}


def beijing(entities: int, seed: int, window: int) -> dict[str, Any]:
    frames = [pd.read_csv(p) for p in sorted((SHARED / "beijing-multisite-air-quality").glob("PRSA_Data_*.csv.gz"))]
    df = pd.concat(frames, ignore_index=True)
    df["time"] = pd.to_datetime(df[["year", "month", "day", "hour"]])
    df["window"] = df["station"] + "/" + (df.groupby("station").cumcount() // window).astype(str)
    ids = np.random.default_rng(seed).permutation(df["window"].unique())[:entities]
    df = df[df["window"].isin(ids)][["window", "time", "station", *BEIJING_MEASURES]].reset_index(drop=True)
    return {"df": df, "entity": "window", "time": "time", "context": ["station"],
            "measures": [m for m in BEIJING_MEASURES if m != "wd"] + ["wd"]}


def _job(model: str, params: dict[str, Any], data: dict[str, Any], n: int, seed: int, queue: Any,
         reference: pd.DataFrame | None = None) -> None:
    import torch

    from synthkit.evaluate.temporal import temporal_metrics
    from synthkit.models import create

    torch.set_num_threads(1)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        synth = create(model, seed=seed, **params).fit(data["df"], entity=data["entity"], time=data["time"], context=data["context"])
        fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        out = synth.sample(n, seed=seed)
        sample_s, sample_cpu = time.perf_counter() - start, time.process_time() - cpu
        real = data["df"] if reference is None else reference  # scored against every real entity
        scores = temporal_metrics(real, out, data["entity"], data["time"], data["measures"], seed=seed)
        epochs = (getattr(synth, "history_", None) or {}).get("epochs")
        epochs = len(epochs) if isinstance(epochs, list) else epochs  # the trainer's per-epoch log
        budget = (getattr(synth, "history_", None) or {}).get("budget")  # how the network's stop was set under max_minutes
        queue.put({"status": "ok", "fit_seconds": fit_s, "sample_seconds": sample_s, "fit_cpu_seconds": fit_cpu,
                   "sample_cpu_seconds": sample_cpu, "epochs_run": epochs, "rows": len(out), "metrics": scores,
                   **({"budget": budget} if budget else {})})
    except Exception as exc:  # noqa: BLE001 - reported, not raised: one failing model must not hide the other's numbers
        queue.put({"status": "error", "error": f"{type(exc).__name__}: {exc}"})


def _rss_gb(pid: int) -> float:
    """Resident memory of a process in GB (Linux /proc; 0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def run_one(model: str, params: dict[str, Any], data: dict[str, Any], n: int, seed: int, cap_minutes: float,
            mem_cap_gb: float = 8.0, reference: pd.DataFrame | None = None) -> dict[str, Any]:
    """One model in its own process, stopped at ``cap_minutes`` or ``mem_cap_gb`` resident memory (the
    machine is shared: PAR reached 12.9 GB on 200 ICU stays, so it is stopped instead of swapping)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_job, args=(model, params, data, n, seed, queue, reference))
    start = time.perf_counter()
    proc.start()
    peak = 0.0
    while proc.is_alive() and time.perf_counter() - start < cap_minutes * 60:
        proc.join(1.0)
        peak = max(peak, _rss_gb(proc.pid) if proc.pid else 0.0)
        if peak > mem_cap_gb:
            proc.terminate()
            proc.join()
            return {"status": "out_of_memory", "mem_cap_gb": mem_cap_gb, "seconds": time.perf_counter() - start}
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return {"status": "timeout", "cap_minutes": cap_minutes}
    result = queue.get() if not queue.empty() else {"status": "error", "error": f"exit code {proc.exitcode}"}
    result["wall_seconds"] = time.perf_counter() - start
    result["peak_rss_gb"] = round(peak, 2)
    return result


MOSTLYAI_PYTHON = os.environ.get("MOSTLYAI_PYTHON", "/work/venv-mostlyai/bin/python")


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_mostlyai(data: dict[str, Any], n: int, seed: int, cap_minutes: float,
                 reference: pd.DataFrame | None = None) -> dict[str, Any]:
    """MOSTLY AI's sequential TabularARGN in its own environment (``mostlyai_sequence_runner.py`` run
    by ``MOSTLYAI_PYTHON``), stopped at ``cap_minutes``; its training is capped at 60 % of that, like
    ``sequence``'s. Skipped with the reason when that interpreter is absent."""
    import subprocess
    import tempfile

    from synthkit.evaluate.temporal import temporal_metrics

    if not Path(MOSTLYAI_PYTHON).exists():
        return {"status": "skipped", "error": f"no MOSTLY AI interpreter at {MOSTLYAI_PYTHON} (set MOSTLYAI_PYTHON)"}
    df, entity = data["df"], data["entity"]
    with tempfile.TemporaryDirectory(prefix="mostlyai-") as tmp:
        work = Path(tmp)
        df.drop(columns=data["context"]).sort_values([entity, data["time"]]).to_parquet(work / "target.parquet")
        df.groupby(entity, sort=False)[data["context"]].first().reset_index().to_parquet(work / "context.parquet")
        job = {"entity": entity, "n": n, "seed": seed, "max_minutes": cap_minutes * 0.6, "threads": 2}
        (work / "job.json").write_text(json.dumps(job))
        start, cpu = time.perf_counter(), _children_cpu()
        try:
            proc = subprocess.run([MOSTLYAI_PYTHON, str(REPO / "benchmarks" / "mostlyai_sequence_runner.py"), tmp],
                                  capture_output=True, text=True, timeout=cap_minutes * 60)
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "cap_minutes": cap_minutes}
        if proc.returncode != 0:
            return {"status": "error", "error": proc.stderr.strip().splitlines()[-1][:200] if proc.stderr.strip() else f"exit {proc.returncode}"}
        r = json.loads((work / "result.json").read_text())
        out = pd.read_parquet(work / "synthetic.parquet")
    r.update(status="ok", wall_seconds=time.perf_counter() - start, cpu_seconds=_children_cpu() - cpu,
             metrics=temporal_metrics(df if reference is None else reference, out, entity, data["time"], data["measures"], seed=seed))
    return r


def split_holdout(data: dict[str, Any], entities: int, seed: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """``entities`` entities to fit on and the rest (drawn alongside them) as the holdout."""
    df, entity = data["df"], data["entity"]
    ids = np.random.default_rng(seed + 1).permutation(df[entity].unique())
    train = df[entity].isin(ids[:entities])
    return {**data, "df": df[train].reset_index(drop=True)}, df[~train].reset_index(drop=True)


def ceiling(train: dict[str, Any], holdout: pd.DataFrame, seed: int) -> dict[str, Any]:
    """The training entities scored as if synthetic: the best any generator can do against this holdout."""
    from synthkit.evaluate.temporal import temporal_metrics

    metrics = temporal_metrics(holdout, train["df"], train["entity"], train["time"], train["measures"], seed=seed)
    return {"status": "ok", "fit_seconds": 0.0, "sample_seconds": 0.0, "metrics": metrics}


def ehr_check(seed: int, epochs: int | None) -> dict[str, Any]:
    """Relational model on the bundled Synthea sample: key integrity, dates, code pairs, sizes."""
    from synthkit.datasets import load
    from synthkit.io import Dataset
    from synthkit.models import create

    real = load("ehr")
    start = time.perf_counter()
    model = create("relational", seed=seed, child_params={"epochs": epochs} if epochs else {}).fit(real)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    out = model.sample(scale=1.0, seed=seed)
    sample_s = time.perf_counter() - start
    report = Dataset(tables=out, primary_keys=real.primary_keys, relationships=real.relationships).validate()
    born = out["patients"].set_index("Id")["BIRTHDATE"]
    before = {}
    for table in ("encounters", "conditions", "observations"):
        df = out[table]
        floor = df["PATIENT"].map(born)
        before[table] = int(sum(((df[c] < floor) & df[c].notna()).sum() for c in df.columns if str(df[c].dtype).startswith("datetime")))
    invented = {}
    for table, cols in {"encounters": ["CODE", "DESCRIPTION"], "conditions": ["CODE", "DESCRIPTION"],
                        "observations": ["CODE", "DESCRIPTION", "UNITS"]}.items():
        pairs = set(map(tuple, real[table][cols].astype(str).to_numpy()))
        invented[table] = int((~pd.Series(list(map(tuple, out[table][cols].astype(str).to_numpy()))).isin(pairs)).sum())
    children = out["encounters"].groupby("PATIENT").size()
    real_children = real["encounters"].groupby("PATIENT").size()
    audit_rows, copied_dates = _leak_checks(real, out)
    return {"fit_seconds": fit_s, "sample_seconds": sample_s, "orphans": sum(o["count"] for o in report.orphans),
            "duplicate_keys": sum(report.duplicate_keys.values()), "children_dated_before_birth": before,
            "invented_code_pairs": invented, "rows": {t: {"real": len(real[t]), "synthetic": len(out[t])} for t in out},
            "audit_real_rows_reproduced": audit_rows, "dates_equal_to_a_real_timestamp": copied_dates,
            "encounters_per_patient": {"real_mean": float(real_children.mean()), "synthetic_mean": float(children.mean())}}


def _leak_checks(real: Any, out: dict[str, pd.DataFrame]) -> tuple[dict[str, int], dict[str, int]]:
    """Per table: unique real rows the leakage audit finds reproduced, and synthetic dates that
    equal a real timestamp of the same column (the clip-to-the-last-date failure of #8)."""
    from synthkit.audit import audit
    from synthkit.profile import profile

    rows, dates = {}, {}
    meta = profile(real)
    for table, frame in out.items():
        from synthkit.meta import Metadata

        found = audit(real[table], Metadata.single(meta.table(table)), synthetic=frame).findings
        rows[table] = int(sum(f["count"] for f in found if f["kind"] == "real_row"))
        dates[table] = int(sum(frame[c].isin(set(real[table][c].dropna())).sum() for c in frame.columns
                               if str(frame[c].dtype).startswith("datetime") and c != "BIRTHDATE"))
    return rows, dates


def _row(dataset: str, model: str, r: dict[str, Any]) -> str:
    if r.get("status") != "ok":
        detail = f"(> {r['mem_cap_gb']:.0f} GB after {r['seconds']:.0f} s)" if r.get("status") == "out_of_memory" else r.get("error", "")[:80]
        return f"| {dataset} | {model} | | {r.get('status')} {detail} | | | | | | | | |"
    m = r["metrics"]
    gap = m.get("inter_event_time", {}).get("ks")

    def f(v: Any) -> str:
        return "—" if v is None else f"{v:.3f}"

    disc = f(m["discriminative"]["accuracy"])
    if "seed_range" in r:  # a mean over seeds (seed_mean): the range beside it
        low, high = r["seed_range"]["metrics.discriminative.accuracy"]
        disc = f"**{disc}** ({low:.3f}–{high:.3f})"
    cpu = f" (CPU {r['fit_cpu_seconds'] + r['sample_cpu_seconds']:.0f}, {r.get('epochs_run')} ep)" if "fit_cpu_seconds" in r else (
        f" (CPU {r['cpu_seconds']:.0f} total)" if "cpu_seconds" in r else "")
    return (f"| {dataset} | {model} | {r.get('fitted_entities', '')} / {r.get('sampled_entities', '')} | {r['fit_seconds']:.0f}{cpu} | {r['sample_seconds']:.1f} | {f(m['length']['ks'])} | "
            f"{m['length']['real_mean']:.1f} / {m['length']['synthetic_mean']:.1f} | {f(gap)} | {f(m['marginal_ks_mean'])} | "
            f"{f(m['autocorrelation_lag1_mean_abs_diff'])} | {disc} | "
            f"{f(m['predictive']['tstr_mae'])} / {f(m['predictive']['trtr_mae'])} |")


# the numbers of a run's result that seed_mean averages (paths into it); the CPU seconds and epoch
# counts are left out, so the mean row shows wall seconds only
_MEAN_PATHS = [("fit_seconds",), ("sample_seconds",), ("metrics", "length", "ks"), ("metrics", "length", "real_mean"),
               ("metrics", "length", "synthetic_mean"), ("metrics", "inter_event_time", "ks"), ("metrics", "marginal_ks_mean"),
               ("metrics", "autocorrelation_lag1_mean_abs_diff"), ("metrics", "autocorrelation_lag1_rank_mean_abs_diff"),
               ("metrics", "discriminative", "accuracy"), ("metrics", "predictive", "tstr_mae"), ("metrics", "predictive", "trtr_mae")]


def seed_mean(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of several model seeds as one result of the same shape (each number their mean, so
    :func:`_row` writes it), with each number's lowest and highest in ``seed_range``."""
    out: dict[str, Any] = {"status": "ok", "seed_range": {}}
    for path in _MEAN_PATHS:
        values = []
        for run in runs:
            value: Any = run
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None:
                values.append(float(value))
        if values:
            node = out
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = float(np.mean(values))
            out["seed_range"][".".join(path)] = [float(np.min(values)), float(np.max(values))]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--window", type=int, default=48, help="Beijing: hours per entity window")
    parser.add_argument("--cap-minutes", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-seeds", type=int, nargs="+", default=None,
                        help="fit `sequence` once per seed on the same split, with a row per run and their mean: one ICU run's "
                             "discriminator moves 0.02-0.04 with the seed alone (results/sequence.md, v10)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="sequence epochs (default: the model's own, 30-150, stopped once the loss on its held-out entities is 5 %% above its best)")
    parser.add_argument("--sequence-params", default="{}", help="more sequence settings as JSON, e.g. '{\"validation_fraction\": 0}'")
    parser.add_argument("--par-epochs", type=int, default=16, help="sdv-par epochs (its time budget; PAR default 128)")
    parser.add_argument("--par-sample", type=int, default=250, help="sdv-par: entities sampled back (fewer than fitted)")
    parser.add_argument("--par-fit-entities", default="icu=60",
                        help="sdv-par fitted on this many of the entities, per dataset (memory), e.g. icu=120,beijing=1000")
    parser.add_argument("--mem-cap-gb", type=float, default=8.0, help="stop a model above this resident memory")
    parser.add_argument("--quick", action="store_true", help="100 entities, 2 epochs: a smoke run")
    parser.add_argument("--holdout", action=argparse.BooleanOptionalAction, default=True,
                        help="score against as many held-out entities (default) or against the training ones")
    parser.add_argument("--datasets", default="icu,beijing")
    parser.add_argument("--models", default="sequence,mostlyai,sdv-par")
    parser.add_argument("--tag", default="", help="suffix of the result files (sequence<tag>.json/md)")
    parser.add_argument("--ehr-only", action="store_true", help="only the relational Synthea check (relational.json/md)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.quick:
        args.entities, args.epochs, args.par_epochs = 100, 2, 2
    if args.ehr_only:
        r = ehr_check(args.seed, args.epochs)
        write_json(REPO / "benchmarks" / "results" / "relational.json", {"settings": vars(args), "ehr": r})
        lines = ["# Relational check: Synthea sample (59 patients) -> synthetic at scale 1.0", "",
                 (f"fit {r['fit_seconds']:.0f} s, sample {r['sample_seconds']:.1f} s; orphan keys: {r['orphans']}; "
                 f"duplicate keys: {r['duplicate_keys']}"), "",
                 "| table | real rows | synthetic rows | children dated before birth | invented code pairs | "
                 "unique real rows reproduced (audit) | dates equal to a real timestamp |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {t} | {v['real']} | {v['synthetic']} | {r['children_dated_before_birth'].get(t, '—')} | "
                  f"{r['invented_code_pairs'].get(t, '—')} | {r['audit_real_rows_reproduced'][t]} | "
                  f"{r['dates_equal_to_a_real_timestamp'][t]} |" for t, v in r["rows"].items()]
        write_text(REPO / "benchmarks" / "results" / "relational.md", "\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    sequence_params = ({"max_minutes": args.cap_minutes * 0.6} | ({"epochs": args.epochs} if args.epochs else {})
                       | json.loads(args.sequence_params))
    params = {"sequence": sequence_params,
              "sdv-par": {"epochs": args.par_epochs}, "mostlyai": {}}
    results: dict[str, Any] = {"settings": vars(args), "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                               "load_average_start": os.getloadavg(), "results": {}}
    rows = []
    par_fit = {k: int(v) for k, v in (item.split("=") for item in args.par_fit_entities.split(",") if item)}
    for dataset in args.datasets.split(","):
        drawn = args.entities * (2 if args.holdout else 1)
        data = icu(drawn, args.seed) if dataset == "icu" else beijing(drawn, args.seed, args.window)
        holdout = None
        if args.holdout:
            data, holdout = split_holdout(data, args.entities, args.seed)
        info = {"entities": int(data["df"][data["entity"]].nunique()), "rows": len(data["df"]), "measures": data["measures"],
                "holdout_entities": int(holdout[data["entity"]].nunique()) if holdout is not None else 0}
        results["results"][dataset] = {"data": info}
        if holdout is not None:
            r = ceiling(data, holdout, args.seed)
            r["fitted_entities"] = r["sampled_entities"] = info["entities"]
            results["results"][dataset]["real (ceiling)"] = r
            rows.append(_row(dataset, "real (ceiling)", r))
        reference = holdout if holdout is not None else data["df"]
        for model in args.models.split(","):
            log.info("%s: fitting %s on %d entities (%d rows)", dataset, model, info["entities"], info["rows"])
            n = min(info["entities"], args.par_sample) if model == "sdv-par" else info["entities"]
            fit_data = data
            if model == "sdv-par" and par_fit.get(dataset, info["entities"]) < info["entities"]:
                ids = np.random.default_rng(args.seed).permutation(data["df"][data["entity"]].unique())[:par_fit[dataset]]
                fit_data = {**data, "df": data["df"][data["df"][data["entity"]].isin(ids)].reset_index(drop=True)}
            if model == "mostlyai":
                r = run_mostlyai(fit_data, n, args.seed, args.cap_minutes, reference=reference)
            elif model == "sequence" and args.model_seeds:
                runs = []
                for seed in args.model_seeds:
                    run = run_one(model, params[model], fit_data, n, seed, args.cap_minutes, args.mem_cap_gb, reference=reference)
                    run["sampled_entities"], run["fitted_entities"] = n, int(fit_data["df"][data["entity"]].nunique())
                    runs.append(run)
                    rows.append(_row(dataset, f"{model} (seed {seed})", run))
                r = {"status": "ok" if all(x.get("status") == "ok" for x in runs) else "failed", "runs": runs,
                     "seeds": args.model_seeds, "sampled_entities": n, "fitted_entities": runs[0]["fitted_entities"]}
                if r["status"] == "ok":
                    r["mean"] = {**seed_mean(runs), "sampled_entities": n, "fitted_entities": r["fitted_entities"]}
                    rows.append(_row(dataset, f"**{model}, mean of {len(runs)} seeds**", r["mean"]))
            else:
                r = run_one(model, params[model], fit_data, n, args.seed, args.cap_minutes, args.mem_cap_gb,
                            reference=reference)
            r["sampled_entities"], r["fitted_entities"] = n, int(fit_data["df"][data["entity"]].nunique())
            r["load_average_after"] = os.getloadavg()
            results["results"][dataset][model] = r
            if "runs" not in r:
                rows.append(_row(dataset, model, r))
            write_json(REPO / "benchmarks" / "results" / f"sequence{args.tag}.json", results)
    header = ("| data | model | entities fitted / sampled | fit s | sample s | length KS | mean length real / synth | gap KS | marginal KS (mean) | "
              "lag-1 autocorr diff (mean) | discriminator acc (0.5 ideal) | next-step MAE TSTR / TRTR |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|")
    text = (f"# Sequence benchmark\n\n{args.entities} entities per dataset fitted by both models; `sequence` samples back as "
            f"many, `sdv-par` {args.par_sample} after {args.par_epochs} epochs (its time budget: PAR samples one sequence at a "
            f"time; with its default 128 epochs it does not finish on 1,000 entities in 10 minutes) and is fitted on "
            f"{args.par_fit_entities or 'all entities'} where named (its memory grows with the square of the entity count: "
            f"4.0 GB on 100 ICU stays, 12.9 GB on 200). `mostlyai` is MOSTLY AI's sequential TabularARGN (mostlyai-engine, "
            f"own environment, `tgt_context_key` + context table, training capped at 60 % of the cap like `sequence`, 2 threads). "
            + ("Metrics compare with as many held-out real entities, which no model saw; `real (ceiling)` is the training "
               "entities scored the same way. " if args.holdout else "Metrics compare with the training entities. ")
            + f"2-core machine shared with other jobs, timings noisy: load average "
            f"{results['load_average_start'][0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end. Settings: {vars(args)}.\n\n{header}\n"
            + "\n".join(rows) + "\n")
    write_text(REPO / "benchmarks" / "results" / f"sequence{args.tag}.md", text)
    print(text)


if __name__ == "__main__":
    main()
