"""Sampling in chunks spread over threads, with output that does not depend on the thread count.

A sampler's work per chunk (network products, noise, elementwise passes over a few thousand rows)
is too small for torch's intra-op threads to split well, so whole chunks run in parallel instead:
torch and numpy release the GIL inside their kernels. Every chunk gets its own seed, derived from
one seed and the chunk's index, and results are joined in chunk order, so the same seed gives the
same rows with one thread or many, however the threads are scheduled.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

__all__ = ["map_chunks"]

T = TypeVar("T")


def map_chunks(n: int, chunk: int, seed: int, draw: Callable[[int, int], T], parallel: bool = True) -> list[T]:
    """``[draw(rows, seed + i) for each chunk i]`` over ``n`` rows, on ``torch.get_num_threads()`` threads.

    While the chunks run, torch's own kernel threads are set to 1 (restored after), so the
    workers do not oversubscribe the cores. ``parallel=False`` (e.g. on CUDA) runs them in turn.
    """
    sizes = [min(chunk, n - start) for start in range(0, n, chunk)]

    def run(item: tuple[int, int]) -> T:
        with torch.no_grad():  # grad mode is per thread: a worker does not inherit the caller's no_grad
            return draw(item[1], seed + item[0])

    workers = min(torch.get_num_threads(), len(sizes)) if parallel else 1
    if workers <= 1:
        return [run(item) for item in enumerate(sizes)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(run, enumerate(sizes)))
    finally:
        torch.set_num_threads(threads)
