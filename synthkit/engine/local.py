"""The local engine: threads over streamed ``pyarrow.dataset`` batches, bounded memory; sampling
in worker processes.

Batch functions (sketches, hashes, sums) spend their time in numpy/Arrow kernels that release the
GIL, so threads of the driver run them in parallel. Sampling does not: a block's fake PII, text and
category columns are Python strings built under the GIL (about half of a copula block's time), and
two sampling threads on two cores were slower than one. Blocks are therefore sampled by
``num_workers`` processes, each held to ``cpus_per_worker`` threads of torch, BLAS and Arrow
(:func:`~synthkit.engine.sampling.cpu_share`), like Ray's actors; one worker samples in this
process. On Linux they are forked (no import cost, and no re-run of an unguarded ``__main__``
script, which a fresh interpreter would do); the driver's threads are idle between passes then.
Elsewhere they are spawned (a script then needs ``if __name__ == "__main__"``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from synthkit.engine.base import Engine, EngineSpec, SampleResult
from synthkit.engine.memory import bound_allocators, release_memory
from synthkit.engine.sampling import BlockSampler, block_plan, cpu_share, part_name

__all__ = ["LocalEngine", "iter_arrow_batches"]


def iter_arrow_batches(source: Any, columns: list[str] | None, batch_rows: int) -> Iterator[Any]:
    """Arrow tables of at most ``batch_rows`` rows from a LakeSource or a DataFrame, streamed."""

    if isinstance(source, pd.DataFrame):
        frame = source if columns is None else source[columns]
        for start in range(0, len(frame), batch_rows):
            yield pa.Table.from_pandas(frame.iloc[start:start + batch_rows], preserve_index=False)
        return
    # no read-ahead beyond the batch at hand: memory stays one batch per worker, not a window of the
    # table. A threaded scan ignores the read-ahead limits when its consumer is slower than the disk:
    # it kept decoding files ahead of the workers (peak memory grew with the table), so it is serial
    for batch in source.dataset().to_batches(columns=columns, batch_size=batch_rows, batch_readahead=0,
                                              fragment_readahead=0, use_threads=False):
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


class LocalEngine(Engine):
    """Runs every batch function on a thread pool in this process (numpy/arrow release the GIL).

    At most ``2 * num_workers`` batches are in flight, so memory does not grow with the table.
    """

    kind = "local"

    def __init__(self, spec: EngineSpec | None = None) -> None:
        super().__init__(spec or EngineSpec())
        self._workers = max(1, int(self.spec.num_workers or os.cpu_count() or 1))
        bound_allocators()

    @property
    def num_workers(self) -> int:
        return self._workers

    def map_batches(self, source: Any, fn: Callable[[Any], Any], *, columns: list[str] | None = None,
                    batch_rows: int | None = None) -> Iterator[Any]:
        batches = iter_arrow_batches(source, columns, batch_rows or self.spec.batch_rows)
        if self._workers == 1:
            yield from map(fn, batches)
            release_memory()
            return
        with ThreadPoolExecutor(self._workers, thread_name_prefix="synthkit-engine") as pool:
            pending: deque[Future[Any]] = deque()
            for batch in batches:
                pending.append(pool.submit(fn, batch))
                if len(pending) >= 2 * self._workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        release_memory()  # a pass's freed batches go back to the system, not into the next stage's peak

    def map_items(self, items: list[Any], fn: Callable[[Any], Any]) -> Iterator[Any]:
        with ThreadPoolExecutor(self._workers, thread_name_prefix="synthkit-task") as pool:
            yield from pool.map(fn, items)

    def sample(self, model_dir: str | Path, n: int, *, seed: int, out_dir: str | Path,
               block_rows: int | None = None) -> SampleResult:

        start = time.perf_counter()
        rows_per_block = block_rows or self.spec.block_rows
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        plan = block_plan(n, rows_per_block)
        job = (str(model_dir), str(out), n, rows_per_block, seed, max(1, int(self.spec.cpus_per_worker)))
        workers = min(self._workers, len(plan))
        if workers <= 1:
            with cpu_share(job[-1]):
                sampler = BlockSampler(*job[:-1])
                written = sum(sampler.write_block(i) for i, _ in plan)
        else:
            with ProcessPoolExecutor(workers, mp_context=_worker_context()) as pool:
                written = sum(pool.map(_write_block, [(job, i) for i, _ in plan]))
        return SampleResult(out, written, len(plan), rows_per_block, [part_name(i) for i, _ in plan],
                            time.perf_counter() - start)


_SAMPLER: dict[tuple[Any, ...], BlockSampler] = {}  # in a worker process: the job's sampler, model loaded once


def _write_block(task: tuple[tuple[Any, ...], int]) -> int:
    """Sample and write one block in a worker process (errors travel back to the driver as raised)."""
    job, index = task
    if job not in _SAMPLER:
        _SAMPLER.clear()
        _SAMPLER[job] = BlockSampler(*job[:-1], threads=job[-1])
    return _SAMPLER[job].write_block(index)


def _worker_context() -> Any:
    """Forked processes on Linux (see the module docstring), spawned ones elsewhere (fork is unsafe on macOS)."""
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
