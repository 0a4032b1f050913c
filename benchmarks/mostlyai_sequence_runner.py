"""MOSTLY AI's sequential TabularARGN as a peer of ``sequence``: run by the interpreter of its own
environment (``MOSTLYAI_PYTHON``, default /work/venv-mostlyai/bin/python), never imported by synthkit.

Reads ``<dir>/target.parquet`` (long rows: entity, time, measures), ``<dir>/context.parquet`` (one row
per entity) and ``<dir>/job.json`` (key names, entities to sample, training-time cap, seed); fits
``TabularARGN(tgt_context_key=..., ctx_data=..., ctx_primary_key=...)``, samples as many entities as
asked (contexts drawn from the training contexts, as the engine does) and writes
``<dir>/synthetic.parquet`` and ``<dir>/result.json`` (fit and sample seconds).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path


def main(folder: str) -> None:
    import pandas as pd
    import torch
    from mostlyai.engine import TabularARGN

    work = Path(folder)
    job = json.loads((work / "job.json").read_text())
    torch.set_num_threads(int(job.get("threads", 2)))
    tgt = pd.read_parquet(work / "target.parquet")
    ctx = pd.read_parquet(work / "context.parquet")
    entity = job["entity"]
    start = time.perf_counter()
    model = TabularARGN(tgt_context_key=entity, ctx_data=ctx, ctx_primary_key=entity, max_training_time=job["max_minutes"],
                        max_epochs=job.get("max_epochs", 100), random_state=job["seed"], device="cpu",
                        workspace_dir=str(work / "workspace"), verbose=0)
    model.fit(tgt)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    out = model.sample(n_samples=job["n"])
    sample_s = time.perf_counter() - start
    out.to_parquet(work / "synthetic.parquet")
    (work / "result.json").write_text(json.dumps({"fit_seconds": fit_s, "sample_seconds": sample_s, "rows": len(out)}))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1])
