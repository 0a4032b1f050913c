"""What gives synthetic sequences away: the temporal discriminator's own feature importances, per
feature-group ablations, and probes for dynamics its summaries do not see.

For each dataset a ``sequence`` model is fitted (settings of ``benchmarks/sequence.py``) and sampled;
then, on per-entity features:

* permutation importance of the discriminator (:func:`synthkit.evaluate.temporal.discriminate`);
* ablation: its accuracy without each feature group (by kind: means, within-entity spread, jumps,
  first/last values, measurement rate, gaps, length; and by measure) and with that group alone;
* probes, each alone: per-entity lag-1 autocorrelation (trend shape), cross-channel correlation
  within an entity (coupling), the 24-hour harmonic (diurnal cycle), the gap pattern (cadence) and
  the co-missingness of measures (missingness pattern);
* the spread over a horizon: per measure, the standard deviation of its change over 1, 3, 6, 12,
  24 and 47 steps, real beside synthetic. A series that only learned its next step drifts like a
  random walk (spread growing with the horizon) where real air temperature comes back after a day.

Writes ``benchmarks/results/sequence_diagnosis{tag}.json``; the notes in ``sequence.md`` read it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import logging
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from synthkit.utils.atomic import write_json

log = logging.getLogger("benchmarks.sequence_diagnose")
REPO = Path(__file__).resolve().parents[1]
KINDS = ["mean", "std", "first", "last", "present", "step"]


def _probes(df: pd.DataFrame, entity: str, time: str, numeric: list[str], top: list[str]) -> dict[str, pd.DataFrame]:
    """Per-entity features of dynamics, grouped by the aspect they measure."""
    g = df.groupby(entity, sort=False)
    ents = g.size().index
    lag1, coupling, diurnal, cadence, missing = {}, {}, {}, {}, {}
    for m in numeric:
        nxt = g[m].shift(-1)
        frame = pd.DataFrame({"e": df[entity], "x": df[m], "y": nxt}).dropna()
        lag1[f"{m}_lag1"] = frame.groupby("e", sort=False).apply(lambda f: f["x"].corr(f["y"]), include_groups=False)
    for i, a in enumerate(top):
        for b in top[i + 1:]:
            pair = df[[entity, a, b]].dropna()
            coupling[f"{a}~{b}"] = pair.groupby(entity, sort=False).apply(lambda f, a=a, b=b: f[a].corr(f[b]), include_groups=False)
    t = df[time]
    hours = (t.dt.hour + t.dt.minute / 60) if pd.api.types.is_datetime64_any_dtype(t) else (t / 60.0) % 24
    angle = 2 * np.pi * hours / 24
    for m in top:
        centred = df[m] - g[m].transform("mean")
        cos = (centred * np.cos(angle)).groupby(df[entity], sort=False).mean()
        sin = (centred * np.sin(angle)).groupby(df[entity], sort=False).mean()
        diurnal[f"{m}_24h_amplitude"] = np.hypot(cos, sin)
        diurnal[f"{m}_24h_phase"] = np.arctan2(sin, cos)
    tnum = (t - pd.Timestamp("1970-01-01")).dt.total_seconds() / 60 if pd.api.types.is_datetime64_any_dtype(t) else t.astype(float)
    gap = tnum.groupby(df[entity], sort=False).diff()
    gg = gap.groupby(df[entity], sort=False)
    cadence.update({"gap_median": gg.median(), "gap_max": gg.max(), "gap_share_hourly": (gap == 60).groupby(df[entity], sort=False).mean(),
                    "gap_share_round": (gap % 30 == 0).groupby(df[entity], sort=False).mean(), "start": g[time].first().pipe(
                        lambda s: (s - pd.Timestamp("1970-01-01")).dt.total_seconds() if pd.api.types.is_datetime64_any_dtype(s) else s)})
    present = df[numeric].notna()
    for i, a in enumerate(top):
        for b in top[i + 1:]:
            missing[f"{a}&{b}_observed_together"] = (present[a] & present[b]).groupby(df[entity], sort=False).mean()
    missing["measures_per_row"] = present.sum(axis=1).groupby(df[entity], sort=False).mean()
    return {name: pd.DataFrame(v).reindex(ents) for name, v in
            {"trend shape (per-entity lag-1 autocorrelation)": lag1, "cross-channel coupling": coupling,
             "diurnal cycle (24 h harmonic)": diurnal, "measurement cadence (gaps)": cadence,
             "missingness pattern (co-observation)": missing}.items()}


def diagnose(real: pd.DataFrame, synth: pd.DataFrame, entity: str, time: str, measures: list[str], seed: int) -> dict[str, Any]:
    """Importances, ablations and probes (see the module docstring) of real vs synthetic entities."""
    from synthkit.evaluate.temporal import _prepare, discriminate, entity_features

    numeric = [m for m in measures if pd.api.types.is_numeric_dtype(real[m])]
    r, s = _prepare(real, entity, time, measures, "real"), _prepare(synth, entity, time, measures, "synthetic")
    fr, fs = entity_features(r, entity, time, numeric), entity_features(s, entity, time, numeric)
    full = discriminate(fr, fs, seed, top=10)
    groups = {f"kind:{k}": [c for c in fr.columns if c.endswith(f"_{k}")] for k in KINDS}
    groups["kind:gaps+length"] = [c for c in ("length", "gap_mean", "gap_std") if c in fr.columns]
    groups.update({f"measure:{m}": [c for c in fr.columns if c.rsplit("_", 1)[0] == m] for m in numeric})
    ablation = {}
    for name, cols in groups.items():
        if not cols:
            continue
        rest = [c for c in fr.columns if c not in cols]
        ablation[name] = {"without": discriminate(fr[rest], fs[rest], seed, top=0)["accuracy"],
                          "alone": discriminate(fr[cols], fs[cols], seed, top=0)["accuracy"]}
    raw_r, raw_s = real.sort_values([entity, time], kind="stable"), synth.sort_values([entity, time], kind="stable")
    top = sorted(numeric, key=lambda m: -real[m].notna().mean())[:6]  # the most observed measures
    pr, ps = _probes(raw_r, entity, time, numeric, top), _probes(raw_s, entity, time, numeric, top)
    probes = {}
    for name in pr:
        res = discriminate(pr[name].fillna(-9), ps[name].reindex(columns=pr[name].columns).fillna(-9), seed, top=3)
        probes[name] = {"alone": res["accuracy"], "top": res["top_features"]}
    horizon = {m: {"real": horizon_spread(raw_r, entity, m), "synthetic": horizon_spread(raw_s, entity, m)} for m in top}
    return {"discriminator": full, "ablation": ablation, "probes": probes, "horizon_spread": horizon}


def horizon_spread(df: pd.DataFrame, entity: str, measure: str, horizons: tuple[int, ...] = (1, 3, 6, 12, 24, 47)) -> dict[int, float | None]:
    """Standard deviation of ``measure``'s change over each horizon (in steps) within entities
    (``df`` sorted by entity and time); None where no entity is that long."""
    g = df.groupby(entity, sort=False)[measure]
    out: dict[int, float | None] = {}
    for k in horizons:
        change = g.diff(k).to_numpy(dtype=float)
        out[k] = round(float(np.nanstd(change)), 3) if np.isfinite(change).any() else None
    return out


def arguments(description: str, epochs: int, datasets: str) -> argparse.Namespace:
    """Command line shared by the sequence diagnosis and privacy scripts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", default=datasets)
    parser.add_argument("--params", default="{}", help="extra sequence parameters as JSON")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    return args


def load_loaders() -> None:
    """``benchmarks/sequence.py`` importable as ``benchmarks_sequence`` (its dataset loaders)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmarks_sequence", REPO / "benchmarks" / "sequence.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks_sequence"] = module
    spec.loader.exec_module(module)


def main() -> None:
    from benchmarks_sequence import beijing, icu  # type: ignore[import-not-found]

    args = arguments(__doc__.splitlines()[0], 15, "beijing,icu")
    import json

    import torch

    from synthkit.models import create

    torch.set_num_threads(1)
    out: dict[str, Any] = {"settings": vars(args), "load_average": os.getloadavg()}
    for dataset in args.datasets.split(","):
        data = icu(args.entities, args.seed) if dataset == "icu" else beijing(args.entities, args.seed, 48)
        start = time.perf_counter()
        model = create("sequence", seed=args.seed, epochs=args.epochs, **json.loads(args.params))
        model.fit(data["df"], entity=data["entity"], time=data["time"], context=data["context"])
        synth = model.sample(int(data["df"][data["entity"]].nunique()), seed=args.seed)
        log.info("%s: fitted and sampled in %.0f s", dataset, time.perf_counter() - start)
        out[dataset] = diagnose(data["df"], synth, data["entity"], data["time"], data["measures"], args.seed)
        out[dataset]["fit_sample_seconds"] = time.perf_counter() - start
        write_json(REPO / "benchmarks" / "results" / f"sequence_diagnosis{args.tag}.json", out)
        log.info("%s: %s", dataset, json.dumps(out[dataset], indent=1, default=str))


if __name__ == "__main__":
    load_loaders()
    main()
