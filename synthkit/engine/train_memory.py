"""What a training worker's resident memory is made of, sampled while it trains (issue #19's memory budget).

``ru_maxrss`` (the peak the benchmark holds against its budget) counts every page the worker has
resident, private or not: its own heap (``RssAnon``), the libraries it mapped (``RssFile``: torch
and Ray are ~170 MB) and the pages of Ray's shared object store it touched when a zero-copy batch
was read (``RssShmem``: shared with every process on the node, owned by the object store). A thread
reads ``/proc/self/status`` a few times a second and keeps the peak of each kind, so a result can
say which of them a peak came from. Linux only: elsewhere the kinds are empty and ``ru_maxrss`` remains.
"""

from __future__ import annotations

import resource
import threading
from pathlib import Path
from typing import Any

import torch

__all__ = ["MemoryWatch", "peak_memory_per_rank"]

KINDS = ("RssAnon", "RssFile", "RssShmem")


class MemoryWatch:
    """Peaks of this process's resident memory by kind (MB), sampled every ``interval`` seconds in a daemon thread."""

    def __init__(self, interval: float = 0.25) -> None:
        self.peaks = dict.fromkeys(KINDS, 0.0)
        self._stop = threading.Event()
        self._status = Path("/proc/self/status")
        if self._status.exists():
            threading.Thread(target=self._run, args=(interval,), daemon=True, name="synthkit-memory").start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.sample()

    def sample(self) -> None:
        try:
            lines = self._status.read_text().splitlines()
        except OSError:
            return
        for line in lines:
            key, _, rest = line.partition(":")
            if key in self.peaks:
                self.peaks[key] = max(self.peaks[key], int(rest.split()[0]) / 1024.0)

    def stop(self) -> None:
        self._stop.set()


def peak_memory_per_rank(watch: MemoryWatch | None, world: int, device: torch.device, dist: Any) -> dict[str, list[float]]:
    """Every worker's peak RSS (``ru_maxrss``) and its sampled peaks by kind (MB), gathered in rank order."""
    if watch is not None:
        watch.sample()
    peaks = watch.peaks if watch is not None else dict.fromkeys(KINDS, 0.0)
    mine = torch.tensor([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, *(peaks[k] for k in KINDS)],
                        dtype=torch.float64, device=device)
    gathered = [torch.zeros_like(mine) for _ in range(world)]
    dist.all_gather(gathered, mine)
    rows = [t.cpu().tolist() for t in gathered]
    names = ("rss", "anon", "file", "shmem")
    return {name: [round(r[i], 1) for r in rows] for i, name in enumerate(names)}
