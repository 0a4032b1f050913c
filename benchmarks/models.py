"""Benchmark: synthesizers measured as a new user would, against rows they never saw.

Run: ``.venv/bin/python benchmarks/models.py [--datasets insurance german-credit] [--models auto arm]
[--minutes 2] [--max-rows 4000]``. Writes ``benchmarks/results/models.json`` and ``models.md``.

Protocol (issue 18): each table is split 50/50 (seeded) into training rows and holdout rows; every
generator gets the same training budget (``minutes``; ``auto`` spends it on its whole selection);
it samples as many rows as it trained on. Per model, side by side:

- quality vs holdout: SDMetrics Quality Score (Column Shapes, Column Pair Trends; SDMetrics is the
  oracle here, BSL-licensed, benchmark only) of the synthetic rows against the holdout; the
  *ceiling* row scores the training rows themselves against the holdout (what a perfect
  generator of new rows from the same population would reach);
- quality vs train (as papers report it; a copy scores 1.0 there, so it is no proof of quality);
- DCR share (share of synthetic rows closer to a training row than to a holdout row; 0.5 = no
  memorization) with its 95 % interval, and the identical-copy share (synthetic rows equal to a
  training row on every learned column);
- TSTR AUC: a gradient-boosted classifier trained on synthetic rows, tested on the holdout (the
  ceiling row: trained on the training rows);
- detection AUC of a real-vs-synthetic classifier against the holdout.

One synthetic table's quality carries its draw's luck (the same fitted arm scored 0.966-0.977 on
default-credit-card across draws): with ``--draws N`` the model samples N tables (seeds 2, 3, ...)
and the quality columns are their mean, with the draws' standard deviation beside it; DCR share,
identical share, TSTR and detection AUC are the first draw's. A *copying floor* row scores N
bootstrap resamples of the training rows: what a model that learned nothing but the rows
themselves reaches with independent draws (the ceiling itself has no draw noise).

Peers: SDV's models (in this environment) and MOSTLY AI's TabularARGN (``mostlyai-engine``, in its
own interpreter: ``MOSTLYAI_PYTHON``, default ``/work/venv-mostlyai/bin/python``; skipped with the
reason when absent), which receives the same training CSV and budget.

``auto-target`` is ``auto`` told the table's TSTR target (as a pipeline's ``evaluate.target`` tells
it): its candidates are then also scored on predicting it.

The markdown ends with issue 18's targets per table (auto within 0.01 of the ceiling, above every
peer that ran, DCR share's interval starting at or below 0.55). Adult under TabSyn's protocol
(errors against the training rows, 5 CPU minutes, membership AUC) is ``benchmarks/adult_tabsyn.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, this folder is sys.path[0] and its profile.py would shadow the standard library's
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import logging
import os
import platform
import subprocess
import tempfile
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import synthkit.evaluate.selection  # noqa: E402,F401  (registers auto)
from synthkit.evaluate.selection import score_synthetic  # noqa: E402
from synthkit.models import available, create, get  # noqa: E402
from synthkit.utils.atomic import write_json, write_text  # noqa: E402
from synthkit.utils.formatting import cell  # noqa: E402

__all__ = ["DATASETS", "MODELS", "load_dataset", "main", "run_benchmark", "to_markdown"]

log = logging.getLogger(__name__)

SHARED = Path(os.environ.get("SYNTHKIT_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
MOSTLYAI_PYTHON = os.environ.get("MOSTLYAI_PYTHON", "/work/venv-mostlyai/bin/python")
# name -> (loader, binary target for TSTR)
TARGETS = {"adult": "income", "insurance": "smoker", "german-credit": "creditability", "default-credit-card": "Y",
           "bank-marketing": "deposit", "actg175": "cens", "gbsg2": "cens"}
DATASETS = tuple(TARGETS)
MODELS = ("auto", "auto-target", "arm", "flow", "diffusion", "copula", "gan", "vae", "sdv-copula", "sdv-ctgan", "sdv-tvae", "tabularargn")


def load_dataset(name: str) -> pd.DataFrame:
    """A benchmark table (500-50,000 rows) from ``../shared/datasets`` (Adult: the bundled copy)."""
    if name == "adult":
        from synthkit.datasets import load

        return load("adult")[0]
    files = {"insurance": "insurance/insurance.csv", "german-credit": "german-credit/germancredit.csv",
             "default-credit-card": "default-credit-card/default_of_credit_card_clients.csv.gz",
             "bank-marketing": "bank-marketing/bank-full.csv.gz", "actg175": "survival/lifelines_ACTG175.csv",
             "gbsg2": "survival/lifelines_gbsg2.csv"}
    if name not in files:
        raise ValueError(f"unknown benchmark dataset {name!r}; known: {', '.join(DATASETS)}")
    df = pd.read_csv(SHARED / files[name])
    return df.drop(columns=[c for c in df.columns if c in ("ID", "pidnum") or c.startswith("Unnamed")])


def split_dataset(name: str, max_rows: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(table, training rows, holdout rows): the table (a seeded ``max_rows`` sample of it when larger)
    split 50/50 by a seeded permutation, each half in table order."""
    data = load_dataset(name)
    if max_rows is not None and len(data) > max_rows:
        data = data.sample(max_rows, random_state=0).reset_index(drop=True)
    order = np.random.default_rng(0).permutation(len(data))
    half = len(data) // 2
    return (data, data.iloc[np.sort(order[:half])].reset_index(drop=True),
            data.iloc[np.sort(order[half:])].reset_index(drop=True))


def _columns(train: pd.DataFrame) -> dict[str, str]:
    """column -> SDMetrics sdtype, from synthkit's profile (ids, free text and PII left out)."""
    from synthkit.profile import profile

    out = {}
    for meta in profile(train).table().columns:
        if meta.is_pii or meta.kind not in ("numerical", "categorical", "boolean", "datetime"):
            continue
        out[meta.name] = {"numerical": "numerical", "datetime": "datetime"}.get(meta.kind, "categorical")
    return out


def _quality(real: pd.DataFrame, synthetic: pd.DataFrame, sdtypes: dict[str, str]) -> dict[str, float]:
    from sdmetrics.reports.single_table import QualityReport

    cols = list(sdtypes)
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(real[cols], synthetic[cols], {"columns": {c: {"sdtype": t} for c, t in sdtypes.items()}},
                        verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"quality": float(report.get_score()), "column_shapes": float(props["Column Shapes"]),
            "column_pair_trends": float(props["Column Pair Trends"])}


def _tstr_auc(fit: pd.DataFrame, test: pd.DataFrame, target: str, sdtypes: dict[str, str]) -> float | None:
    """AUC on ``test`` of a gradient-boosted classifier trained on ``fit`` (binary target, majority = 0)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    def labels(values: pd.Series) -> pd.Series:  # 1 and 1.0 (a CSV round trip) are the same class
        numbers = pd.to_numeric(values, errors="coerce")
        return numbers.round().astype("Int64").astype(str) if numbers.notna().all() else values.astype(str)

    positive = labels(test[target]).value_counts().index[-1]  # the minority class of the real rows
    y_fit = (labels(fit[target]) == positive).to_numpy()
    y_test = (labels(test[target]) == positive).to_numpy()
    if y_fit.all() or not y_fit.any():
        return None
    features = [c for c in sdtypes if c != target]
    both = pd.concat([fit[features], test[features]], ignore_index=True)
    for c in features:
        if sdtypes[c] != "numerical":
            both[c] = both[c].astype(str).astype("category").cat.codes
        else:
            both[c] = pd.to_numeric(both[c], errors="coerce")
    cats = [sdtypes[c] != "numerical" for c in features]
    clf = HistGradientBoostingClassifier(max_iter=200, categorical_features=cats, random_state=0)
    clf.fit(both.iloc[: len(fit)], y_fit)
    return float(roc_auc_score(y_test, clf.predict_proba(both.iloc[len(fit):])[:, 1]))


def _identical_share(train: pd.DataFrame, synthetic: pd.DataFrame, cols: list[str]) -> float:
    def keys(df: pd.DataFrame) -> pd.Series:
        return pd.util.hash_pandas_object(df[cols].astype(str), index=False)

    return float(keys(synthetic).isin(set(keys(train))).mean())


def score(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, sdtypes: dict[str, str],
          target: str) -> dict[str, Any]:
    """Every column of the table for one synthetic frame (or the training rows, for the ceiling)."""
    row: dict[str, Any] = {}
    q_hold, q_train = _quality(holdout, synthetic, sdtypes), _quality(train, synthetic, sdtypes)
    row.update({f"{k}_holdout": v for k, v in q_hold.items()})
    row.update({f"{k}_train": v for k, v in q_train.items()})
    cols = list(sdtypes)
    own = score_synthetic(train[cols], holdout[cols], synthetic[cols], None, seed=0)
    row.update({"dcr_share": own["dcr_share"], "dcr_share_ci": own["dcr_share_ci"], "detection_auc": own["detection_auc"]})
    row["identical_share"] = _identical_share(train, synthetic, cols)
    row["tstr_auc"] = _tstr_auc(synthetic, holdout, target, sdtypes)
    return row


_ARGN_SCRIPT = """
import sys, pandas as pd
from mostlyai.engine import TabularARGN
train = pd.read_csv(sys.argv[1])
model = TabularARGN(max_training_time=float(sys.argv[3]), random_state=0, verbose=0, workspace_dir=sys.argv[4])
model.fit(train)
model.sample(n_samples=len(train) * int(sys.argv[5])).to_csv(sys.argv[2], index=False)
"""


def _tabularargn(train: pd.DataFrame, minutes: float, draws: int = 1) -> list[pd.DataFrame]:
    """TabularARGN (mostlyai-engine) in its own interpreter, on the same rows and budget; ``draws`` tables."""
    if not Path(MOSTLYAI_PYTHON).exists():
        raise FileNotFoundError(f"mostlyai-engine interpreter {MOSTLYAI_PYTHON} not found (set MOSTLYAI_PYTHON)")
    with tempfile.TemporaryDirectory() as tmp:
        train.to_csv(f"{tmp}/train.csv", index=False)
        proc = subprocess.run([MOSTLYAI_PYTHON, "-c", _ARGN_SCRIPT, f"{tmp}/train.csv", f"{tmp}/syn.csv", str(minutes),
                               f"{tmp}/ws", str(draws)], capture_output=True, text=True, timeout=minutes * 60 * 4 + 600)
        if proc.returncode:
            raise RuntimeError(f"TabularARGN failed: {proc.stderr.strip().splitlines()[-1][:300] if proc.stderr else ''}")
        out = pd.read_csv(f"{tmp}/syn.csv")
    for c in train.columns:  # CSV round trip: give columns back their training dtypes where they fit
        if c in out and train[c].dtype != out[c].dtype and pd.api.types.is_numeric_dtype(train[c]):
            out[c] = pd.to_numeric(out[c], errors="coerce")
    return [out.iloc[k * len(train):(k + 1) * len(train)].reset_index(drop=True) for k in range(draws)]


def _params(name: str, minutes: float) -> dict[str, Any]:
    params: dict[str, Any] = {"seed": 0}
    if "max_minutes" in get(name)._param_names():
        params["max_minutes"] = minutes
    return params


QUALITY_KEYS = ("quality", "column_shapes", "column_pair_trends")


def _average_draws(row: dict[str, Any], holdout: pd.DataFrame, more: list[pd.DataFrame], sdtypes: dict[str, str]) -> None:
    """Quality against the holdout as the mean over the first draw (already in ``row``) and ``more``."""
    scores = [{k: row[f"{k}_holdout"] for k in QUALITY_KEYS}] + [_quality(holdout, frame, sdtypes) for frame in more]
    row["draws"] = len(scores)
    for key in QUALITY_KEYS:
        values = [q[key] for q in scores]
        row[f"{key}_holdout"] = float(np.mean(values))
        row[f"{key}_holdout_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else None


def copying_floor(train: pd.DataFrame, holdout: pd.DataFrame, sdtypes: dict[str, str], draws: int) -> dict[str, Any]:
    """Bootstrap resamples of the training rows scored as a model's draws: the copying model's quality."""
    frames = [train.sample(len(train), replace=True, random_state=k).reset_index(drop=True) for k in range(draws)]
    row: dict[str, Any] = {"model": "copying floor (training rows resampled)", "load_average_1min": os.getloadavg()[0]}
    row.update({f"{k}_holdout": v for k, v in _quality(holdout, frames[0], sdtypes).items()})
    _average_draws(row, holdout, frames[1:], sdtypes)
    return row


def bench_one(name: str, train: pd.DataFrame, holdout: pd.DataFrame, minutes: float, sdtypes: dict[str, str],
              target: str, draws: int = 1) -> dict[str, Any]:
    """Fit, sample and score one model (quality over ``draws`` tables); errors are recorded, not raised."""
    row: dict[str, Any] = {"model": name, "load_average_1min": os.getloadavg()[0]}
    try:
        start = time.perf_counter()
        if name == "tabularargn":
            synthetic, *more = _tabularargn(train, minutes, draws)
        else:
            if name == "auto-target":  # auto told which column the rows are for (a pipeline's evaluate.target)
                model = create("auto", target=target, **_params("auto", minutes))
            else:
                model = create(name, **_params(name, minutes))
            model.fit(train)
            row["fit_seconds"] = time.perf_counter() - start
            synthetic = model.sample(len(train), seed=2)
            more = [model.sample(len(train), seed=2 + k) for k in range(1, draws)]
            if name in ("auto", "auto-target"):
                sel = model.selection_
                row["chosen"] = sel["chosen"]
                keys = ("model", "status", "score", "column_shapes", "column_pair_trends", "detection_auc", "utility",
                        "score_sd", "draws", "dcr_share", "dcr_share_ci", "seconds", "fit_minutes_allowed", "stop_reason", "note")
                row["selection"] = [{k: c.get(k) for k in keys} for c in sel["candidates"]]  # why it chose as it did
                row["refit_stop_reason"] = sel.get("refit_stop_reason")
                row["confirmation"] = sel.get("confirmation")  # a switch on a small split, measured again
        row["seconds"] = time.perf_counter() - start
        row.update(score(train, holdout, synthetic, sdtypes, target))
        _average_draws(row, holdout, more, sdtypes)
    except Exception as exc:  # one failing model must not lose the others' results
        log.exception("%s failed", name)
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    log.info("%s", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k != "selection"})
    return row


def run_benchmark(datasets: list[str] | tuple[str, ...] = DATASETS, models: list[str] | tuple[str, ...] | None = None,
                  out_dir: str | Path = ROOT / "benchmarks" / "results", minutes: float = 2.0,
                  max_rows: int | None = None, draws: int = 5) -> dict[str, Any]:
    """Run every model on every dataset; write ``models.json`` + ``models.md`` to ``out_dir``; return the results."""
    import torch

    wanted = list(models) if models is not None else list(MODELS)
    known = set(available()) | {"tabularargn", "auto-target"}
    missing = [m for m in wanted if m not in known]
    wanted = [m for m in wanted if m in known]
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "platform": platform.platform()},
        "settings": {"minutes": minutes, "max_rows": max_rows, "split": "50/50 train/holdout, seed 0", "draws": draws,
                     "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
        "unavailable_models": missing, "datasets": {},
    }
    for package in ("sdv", "sdmetrics"):
        try:
            results["machine"][package] = __import__(package).__version__
        except ImportError:
            results["machine"][package] = None
    for dataset in datasets:
        data, train, holdout = split_dataset(dataset, max_rows)
        sdtypes, target = _columns(train), TARGETS[dataset]
        ceiling = {"model": "holdout ceiling (training rows)", "load_average_1min": os.getloadavg()[0],
                   **score(train, holdout, train, sdtypes, target)}
        rows: list[dict[str, Any]] = []
        results["datasets"][dataset] = {"rows": len(data), "train_rows": len(train), "columns": data.shape[1],
                                        "target": target, "ceiling": ceiling, "models": rows,
                                        "copying_floor": copying_floor(train, holdout, sdtypes, max(draws, 5))}
        for name in wanted:
            rows.append(bench_one(name, train, holdout, minutes, sdtypes, target, draws))
            results["datasets"][dataset]["targets"] = targets(results["datasets"][dataset])
            _write(results, Path(out_dir))  # after each model: a long run killed later keeps what it has
    results["settings"]["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    _write(results, Path(out_dir))
    return results


def _line(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {r['model']} | error: {r['error']} |" + " |" * 9
    ci = r.get("dcr_share_ci") or [None, None]
    name = r["model"] + (f" → {r['chosen']}" if r.get("chosen") else "")
    spread = f" ± {cell(r['quality_holdout_sd'], 3)}" if r.get("quality_holdout_sd") is not None else ""
    return (f"| {name} | {cell(r.get('quality_holdout'), 3)}{spread} | {cell(r.get('column_shapes_holdout'), 3)} | "
            f"{cell(r.get('column_pair_trends_holdout'), 3)} | {cell(r.get('quality_train'), 3)} | "
            f"{cell(r.get('dcr_share'), 3)} [{cell(ci[0], 2)}, {cell(ci[1], 2)}] | {cell(r.get('identical_share'), 3)} | "
            f"{cell(r.get('tstr_auc'), 3)} | {cell(r.get('detection_auc'), 3)} | {cell(r.get('seconds'), 0)} | "
            f"{cell(r.get('load_average_1min'), 1)} |")


PEERS = ("sdv-copula", "sdv-ctgan", "sdv-tvae", "tabularargn")
CEILING_GAP, DCR_CI_LOW = 0.01, 0.55  # issue 18's targets for auto


def targets(block: dict[str, Any]) -> dict[str, Any] | None:
    """Issue 18's targets on one table: auto within :data:`CEILING_GAP` of the ceiling, above every peer
    that ran, DCR share's interval starting at or below :data:`DCR_CI_LOW`."""
    auto = next((r for r in block["models"] if r["model"] == "auto" and "error" not in r), None)
    if auto is None or auto.get("quality_holdout") is None:
        return None
    gap = block["ceiling"]["quality_holdout"] - auto["quality_holdout"]
    peers = {r["model"]: r.get("quality_holdout") for r in block["models"] if r["model"] in PEERS and "error" not in r}
    low = (auto.get("dcr_share_ci") or [None])[0]
    return {"gap_to_ceiling": gap, "within_gap": gap <= CEILING_GAP, "peers_ran": sorted(peers),
            "above_peers": all(auto["quality_holdout"] > (q or 0.0) for q in peers.values()),
            "dcr_ci_low": low, "dcr_ok": low is not None and low <= DCR_CI_LOW}


def _targets_line(dataset: str, t: dict[str, Any] | None) -> str:
    if t is None:
        return f"| {dataset} | auto not run | | | |"
    return (f"| {dataset} | {cell(t['gap_to_ceiling'], 3)} {'✓' if t['within_gap'] else '✗'} | "
            f"{'✓' if t['above_peers'] else '✗'} ({', '.join(t['peers_ran']) or 'no peer ran'}) | "
            f"{cell(t['dcr_ci_low'], 2)} {'✓' if t['dcr_ok'] else '✗'} |")


def to_markdown(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["settings"]
    lines = [
        "# Model benchmark: quality against a holdout", "",
        (f"Machine: {m['cpus']} CPUs shared with other jobs (1-min load average per row), torch {m['torch']} "
         f"({m['torch_threads']} threads), sdv {m.get('sdv')}, sdmetrics {m.get('sdmetrics')}. Budget per model: "
         f"{s['minutes']} min (auto: for its whole selection). Rows: {s['split']}"
         + (f", tables above {s['max_rows']:,} rows subsampled to {s['max_rows']:,} first" if s.get("max_rows") else "")
         + f". Run {s.get('started')} – {s.get('finished', 'unfinished')}."), "",
        ("Quality = SDMetrics Quality Score of as many synthetic rows as training rows against the **holdout** "
         "(ceiling row: the training rows themselves); vs train = the same against the training rows. DCR share: "
         "synthetic rows closer to a training row than to a holdout row (0.5 = no memorization). TSTR AUC: classifier "
         "trained on synthetic rows, tested on the holdout."
         + (f" Quality columns: mean of {s['draws']} synthetic tables per model (± their standard deviation)."
            if s.get("draws", 1) > 1 else "")
         + " Copying floor: bootstrap resamples of the training rows, scored the same way."), "",
    ]
    for dataset, block in results["datasets"].items():
        lines += [f"## {dataset} ({block['rows']:,} rows × {block['columns']} columns, target {block['target']})", "",
                  "| model | quality vs holdout | shapes | trends | quality vs train | DCR share [95% CI] | identical share | "
                  "TSTR AUC | detection AUC | seconds | load |",
                  "|---|---|---|---|---|---|---|---|---|---|---|", _line(block["ceiling"])]
        if block.get("copying_floor"):
            lines.append(_line(block["copying_floor"]))
        ranked = sorted(block["models"], key=lambda r: -(r.get("quality_holdout") or -1))
        lines += [_line(r) for r in ranked]
        lines.append("")
    lines += ["## Targets (issue 18)", "",
              f"auto within {CEILING_GAP} of the ceiling, above every SDV model and TabularARGN that ran, DCR share's "
              f"95 % interval starting at or below {DCR_CI_LOW}.", "",
              "| table | ceiling − auto | above peers | DCR CI low |", "|---|---|---|---|"]
    lines += [_targets_line(d, targets(b)) for d, b in results["datasets"].items()]
    lines.append("")
    for note in results.get("notes", []):
        lines.append(f"- {note}")
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
    parser.add_argument("--minutes", type=float, default=2.0, help="training time budget per model")
    parser.add_argument("--max-rows", type=int, default=None, help="subsample larger tables (quick runs)")
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--draws", type=int, default=5, help="synthetic tables per model whose quality is averaged")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        # TabularARGN runs in its own interpreter: the same thread count reaches its torch through OpenMP's variable
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("sdv", "rdt", "copulas", "SingleTableSynthesizer", "MultiTableSynthesizer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    results = run_benchmark(args.datasets, args.models, args.out_dir, args.minutes, args.max_rows, args.draws)
    sys.stdout.write(to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
