"""Membership by entity for ``sequence``: does a synthetic release tell which windows / stays it was fitted on?

``3 x --entities`` entities are drawn (``benchmarks/sequence.py``'s loaders, fixed seed) and split
into members (fitted on), non-members and an attacker's reference sample. Each entity's record is
flattened (``<measure>@<step>``, :func:`synthkit.evaluate.temporal.flat_records`) and scored with
:func:`synthkit.evaluate.attacks.membership_inference` (distance to the closest synthetic record and
the DOMIAS density ratio; target ≤ 0.55). Also counted: synthetic records equal to a member's (a
real sequence reproduced), the same by the audit's record rule (:class:`synthkit.audit.ReproducedEntities`:
every step equal in order, times as offsets, the member's record unique with 4+ values; a pipeline run
draws such entities again before writing), and the temporal discriminator on held-out real entities
vs synthetic.
Writes ``benchmarks/results/sequence_privacy{tag}.json``.

    .venv/bin/python benchmarks/sequence_privacy.py --datasets beijing --entities 1000 --epochs 40
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import json
import logging
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from synthkit.utils.atomic import write_json

log = logging.getLogger("benchmarks.sequence_privacy")
REPO = Path(__file__).resolve().parents[1]


def score(data: dict[str, Any], parts: dict[str, pd.DataFrame], synth: pd.DataFrame, seed: int) -> dict[str, Any]:
    """Membership AUC by entity, reproduced records and the held-out discriminator."""
    from synthkit.audit import DEFAULT_MIN_ROW_COLUMNS, ReproducedEntities
    from synthkit.evaluate.attacks import membership_inference
    from synthkit.evaluate.temporal import flat_records, temporal_metrics
    from synthkit.profile import profile

    entity, time_col = data["entity"], data["time"]
    numeric = [m for m in data["measures"] if pd.api.types.is_numeric_dtype(data["df"][m])]
    steps = int(data["df"].groupby(entity).size().quantile(0.9))  # ICU stays vary in length: the first 90 % quantile steps
    frames = {**parts, "synth": synth}
    flat = {name: flat_records(df, entity, time_col, numeric, steps).fillna(-1.0) for name, df in frames.items()}
    mia = membership_inference(flat["train"], flat["held"], flat["reference"], flat["synth"], {c: "numerical" for c in flat["train"].columns})
    copies = int(pd.merge(flat["synth"].round(6), flat["train"].round(6).drop_duplicates(), how="inner").shape[0])
    records = ReproducedEntities(parts["train"], profile(parts["train"]).table(), entity, time_col, DEFAULT_MIN_ROW_COLUMNS)
    held = temporal_metrics(parts["held"], synth, entity, time_col, data["measures"], seed=seed)
    return {"membership": mia, "synthetic_records_equal_to_a_member": copies,
            "audit_record_rule_hits": int(records(synth).sum()), "audit_unique_member_records": len(records.identifying),
            "held_out_discriminator": held["discriminative"], "flattened_steps": steps}


def main() -> None:
    """``--entities`` members, as many non-members and reference entities."""
    from benchmarks_sequence import beijing, icu  # type: ignore[import-not-found]
    from sequence_diagnose import arguments  # type: ignore[import-not-found]

    args = arguments(__doc__.splitlines()[0], 40, "beijing")
    import torch

    from synthkit.models import create

    torch.set_num_threads(1)
    out: dict[str, Any] = {"settings": vars(args), "load_average_start": os.getloadavg()}
    for dataset in args.datasets.split(","):
        data = icu(3 * args.entities, args.seed) if dataset == "icu" else beijing(3 * args.entities, args.seed, 48)
        df, entity = data["df"], data["entity"]
        ids = np.random.default_rng(args.seed + 1).permutation(df[entity].unique())
        n = len(ids) // 3
        parts = {name: df[df[entity].isin(ids[i * n:(i + 1) * n])].reset_index(drop=True)
                 for i, name in enumerate(["train", "held", "reference"])}
        start = time.perf_counter()
        model = create("sequence", seed=args.seed, **{"epochs": args.epochs, **json.loads(args.params)})  # params may reset epochs to null
        model.fit(parts["train"], entity=entity, time=data["time"], context=data["context"])
        synth = model.sample(n, seed=args.seed)
        out[dataset] = {"entities_per_part": n, "fit_sample_seconds": time.perf_counter() - start,
                        **score(data, parts, synth, args.seed)}
        out["load_average_end"] = os.getloadavg()
        write_json(REPO / "benchmarks" / "results" / f"sequence_privacy{args.tag}.json", out)
        r = out[dataset]
        log.info("%s: membership AUC DCR %.3f, density ratio %.3f; reproduced %d (audit rule %d); held-out discriminator %.3f",
                 dataset, r["membership"]["dcr"]["auc"], r["membership"]["density_ratio"]["auc"],
                 r["synthetic_records_equal_to_a_member"], r["audit_record_rule_hits"],
                 r["held_out_discriminator"]["accuracy"])


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "benchmarks"))
    from sequence_diagnose import load_loaders  # type: ignore[import-not-found]

    load_loaders()
    main()
