"""The local engine: threads over streamed ``pyarrow.dataset`` batches, one process, bounded memory."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from synthkit.engine.base import Engine, EngineSpec, SampleResult
from synthkit.engine.sampling import BlockSampler, block_plan, part_name

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

    @property
    def num_workers(self) -> int:
        return self._workers

    def map_batches(self, source: Any, fn: Callable[[Any], Any], *, columns: list[str] | None = None,
                    batch_rows: int | None = None) -> Iterator[Any]:
        batches = iter_arrow_batches(source, columns, batch_rows or self.spec.batch_rows)
        if self._workers == 1:
            yield from map(fn, batches)
            return
        with ThreadPoolExecutor(self._workers, thread_name_prefix="synthkit-engine") as pool:
            pending: deque[Future[Any]] = deque()
            for batch in batches:
                pending.append(pool.submit(fn, batch))
                if len(pending) >= 2 * self._workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

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
        sampler = BlockSampler(str(model_dir), str(out), n, rows_per_block, seed)
        with ThreadPoolExecutor(self._workers, thread_name_prefix="synthkit-sample") as pool:
            written = sum(pool.map(sampler.write_block, [i for i, _ in plan]))
        return SampleResult(out, written, len(plan), rows_per_block, [part_name(i) for i, _ in plan],
                            time.perf_counter() - start)
