"""Peak memory and time of ``sequence``'s ``sample(n)``: the critics' choice in chunks against all at once.

The critics choose ``n`` entities among ``critic_pool`` × ``n`` drawn ones (32 × n by default). Drawn
all at once, the candidates of a large ``n`` fill memory; drawn ``CHOICE_CANDIDATES`` at a time (and
chosen among), memory follows the chunk. One ``sequence`` model is fitted on the bundled PhysioNet 2012
ICU sample (``--stays`` stays, ``--epochs`` epochs: the network's size, not its quality, sets the
cost of a draw), saved, and every (``n``, mode) pair samples from the saved file in a fresh process,
whose peak resident memory (``ru_maxrss``) is recorded beside the model load's own peak.
"chunked" is the default; "at once" sets ``CHOICE_CANDIDATES`` to all of ``n``'s candidates.

    .venv/bin/python benchmarks/sequence_sample_memory.py [--sizes 1000 4000] [--tag _x]

Writes ``benchmarks/results/sequence_sample_memory{tag}.json`` / ``.md`` with the load average.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import logging
import multiprocessing as mp
import os
import resource
import tempfile
import time
from typing import Any

from synthkit.utils.atomic import write_json, write_text

log = logging.getLogger("benchmarks.sequence_sample_memory")
REPO = Path(__file__).resolve().parents[1]


def _fit(folder: Path, stays: int, epochs: int) -> None:
    from synthkit.datasets import ICU_CONTEXT, load
    from synthkit.models import create

    events, _ = load("icu")
    ids = events["RecordID"].unique()[:stays]
    train = events[events["RecordID"].isin(ids)].reset_index(drop=True)
    model = create("sequence", seed=0, epochs=epochs)
    model.fit(train, entity="RecordID", time="Time", context=[c for c in ICU_CONTEXT if c in train.columns])
    model.save(folder)


def _sample(folder: str, n: int, at_once: bool, out: Any) -> None:
    """In a fresh process: load, note the peak, sample ``n`` entities, note the peak again."""
    import synthkit.models.sequence as sequence_module
    from synthkit.models import Synthesizer

    model = Synthesizer.load(folder)
    loaded_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if at_once:
        sequence_module.CHOICE_CANDIDATES = n * model.critic_pool
    started = time.perf_counter()
    frame = model.sample(n, seed=1)
    seconds = time.perf_counter() - started
    out.put({"n": n, "mode": "at once" if at_once else "chunked", "rows": len(frame), "seconds": round(seconds, 1),
             "peak_mib_after_load": round(loaded_kib / 1024), "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
             "chunk": n if at_once else max(1, sequence_module.CHOICE_CANDIDATES // model.critic_pool),
             "pool": model.critic_pool})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--stays", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    load_start = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        _fit(folder, args.stays, args.epochs)
        ctx = mp.get_context("spawn")
        for n in args.sizes:
            for at_once in (False, True):
                queue = ctx.Queue()
                proc = ctx.Process(target=_sample, args=(str(folder), n, at_once, queue))
                proc.start()
                rows.append(queue.get())
                proc.join()
                log.info("%s", rows[-1])
    result = {"settings": vars(args), "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)], "rows": rows}
    write_json(REPO / "benchmarks" / "results" / f"sequence_sample_memory{args.tag}.json", result)
    lines = ["# `sequence` sampling: peak memory, chunked choice against all at once", "",
             f"Model fitted on {args.stays} bundled ICU stays ({args.epochs} epochs), default critics (pool "
             f"{rows[0]['pool']}); each row samples in a fresh process. Load average {result['load_average'][0]} at the start, "
             f"{result['load_average'][1]} at the end.", "",
             "| entities | choice | entities a chunk | rows written | seconds | peak MiB after load | peak MiB |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['n']} | {r['mode']} | {r['chunk']} | {r['rows']} | {r['seconds']} | "
              f"{r['peak_mib_after_load']} | {r['peak_mib']} |" for r in rows]
    write_text(REPO / "benchmarks" / "results" / f"sequence_sample_memory{args.tag}.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
