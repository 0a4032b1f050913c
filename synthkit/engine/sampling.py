"""Sampling in blocks: a fixed block plan and per-block seeds, so a seed gives the same rows at
any worker count, and each block lands in its own Parquet part file written by its worker.

A block is ``block_rows`` rows (the last one shorter); block ``i`` is sampled with the seed
``SeedSequence([seed, i])``, whichever worker runs it. Its file ``part-<i>.parquet`` is written to a
temporary name and renamed, so a block retried after a killed worker replaces, never duplicates.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from threadpoolctl import threadpool_limits

from synthkit.engine.memory import bound_allocators
from synthkit.models import Synthesizer

__all__ = ["BlockSampler", "block_plan", "block_seed", "cpu_share", "hold_cpu_share", "part_name"]

log = logging.getLogger(__name__)


def block_plan(n: int, block_rows: int) -> list[tuple[int, int]]:
    """``(block index, rows)`` for ``n`` rows in blocks of ``block_rows`` (independent of workers)."""
    if n < 0 or block_rows < 1:
        raise ValueError(f"need n >= 0 and block_rows >= 1, got {n}, {block_rows}")
    full, rest = divmod(n, block_rows)
    return [(i, block_rows) for i in range(full)] + ([(full, rest)] if rest else [])


def block_seed(seed: int, index: int) -> int:
    """The seed of block ``index``: a function of the job seed and the block only."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index)]).generate_state(1, dtype=np.uint64)[0] >> 1)


def hold_cpu_share(threads: int) -> threadpool_limits:
    """Hold this process to one worker's share of the cores: torch, BLAS (threadpoolctl) and Arrow each
    use ``threads`` threads. A worker whose libraries each start a pool per core oversubscribes a node
    (and on 1 worker quietly borrows the cores its ``cpus_per_worker`` did not ask for). Returns the
    BLAS limit, whose ``restore_original_limits()`` undoes that part."""
    torch.set_num_threads(threads)
    pa.set_cpu_count(threads)
    return threadpool_limits(limits=threads)


@contextlib.contextmanager
def cpu_share(threads: int) -> Iterator[None]:
    """:func:`hold_cpu_share` for a block of this process's work (the driver's own sampling), then restored."""
    before_torch, before_arrow = torch.get_num_threads(), pa.cpu_count()
    blas = hold_cpu_share(threads)
    try:
        yield
    finally:
        blas.restore_original_limits()
        torch.set_num_threads(before_torch)
        pa.set_cpu_count(before_arrow)


def part_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


class BlockSampler:
    """Callable class for ``map_batches``: loads the model once per worker, samples the blocks of a
    batch of block ids and writes each to its part file; returns only ``{block, rows}``.

    ``kill_block`` (tests only): the first worker to reach that block SIGKILLs its own process,
    once (a marker file beside the output records that it happened).
    """

    def __init__(self, model_dir: str, out_dir: str, n: int, block_rows: int, seed: int,
                 kill_block: int | None = None, threads: int | None = None) -> None:
        bound_allocators()  # a worker process's own allocators (no-op where the engine already set them)
        if threads is not None:  # a worker process of its own: its share of the cores for its lifetime
            hold_cpu_share(threads)
        self.model = Synthesizer.load(model_dir)
        self.out = Path(out_dir)
        self.n, self.block_rows, self.seed = n, block_rows, seed
        self.kill_block = kill_block
        self.schema = _arrow_schema(self.model)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids = np.asarray(batch["id"], dtype=np.int64)
        rows = np.array([self.write_block(int(i)) for i in ids], dtype=np.int64)
        return {"block": ids, "rows": rows}

    def write_block(self, index: int) -> int:

        rows = min(self.block_rows, self.n - index * self.block_rows)
        self._maybe_die(index)
        frame = self.model.sample(rows, seed=block_seed(self.seed, index))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.cast(self.schema) if table.schema != self.schema else table
        target = self.out / part_name(index)
        tmp = self.out / f".{target.name}.{os.getpid()}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, target)
        return rows

    def _maybe_die(self, index: int) -> None:
        if self.kill_block is None or index != self.kill_block:
            return
        marker = self.out.parent / f".{self.out.name}.killed-{index}"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            log.warning("fault injection: killing sampling worker %d at block %d", os.getpid(), index)
            os.kill(os.getpid(), signal.SIGKILL)


def _arrow_schema(model: Any) -> Any:
    """One Arrow schema for every part (a block whose column is all missing keeps the column's type)."""

    probe = pa.Table.from_pandas(model.sample(512, seed=0), preserve_index=False)
    fields = [pa.field(f.name, pa.string() if pa.types.is_null(f.type) else f.type) for f in probe.schema]
    return pa.schema(fields)
