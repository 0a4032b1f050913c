"""The train/holdout split of a table no process holds whole, applied inside every batch function.

A row is held out when a seeded hash of its content falls below ``share`` of the hash range: the
same split at any batching or worker count, and duplicate rows land on the same side. Nothing is
materialized: every pass over the source selects its side of each batch again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthkit.profile.sketch import TableSketch, row_keys, sketch_batch

__all__ = ["HashSplit", "split_sketches"]


class HashSplit:
    """``split(batch, holdout)``: the training (or held-out) rows of a batch as a DataFrame."""

    def __init__(self, share: float, seed: int) -> None:
        self.limit, self.seed = np.uint64(share * float(2**64 - 1)), seed + 7919

    def __call__(self, batch: Any, holdout: bool = False) -> pd.DataFrame:
        return self.sides(batch)[holdout]

    def sides(self, batch: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(training rows, held-out rows) of a batch: one hash pass."""
        frame = batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()
        mask = row_keys(frame, self.seed) < self.limit
        return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)

    def training(self, fn: Callable[[pd.DataFrame], Any]) -> Callable[[Any], Any]:
        """``fn`` applied to the training rows of each batch (for :meth:`Engine.map_batches`)."""
        return lambda batch: fn(self(batch))


def split_sketches(eng: Any, source: Any, rows: int, split: HashSplit, sample_rows: int, seed: int
                   ) -> tuple[TableSketch, TableSketch]:
    """Sketches of the training and the held-out rows of ``source`` (``rows`` rows), in one pass."""
    keep = min(1.0, 3.0 * sample_rows / rows)  # batches ship only likely bottom-k sample candidates

    def both(batch: Any) -> tuple[TableSketch, TableSketch]:
        train, hold = split.sides(batch)
        return (sketch_batch(train, sample_rows=sample_rows, seed=seed, keep_share=keep),
                sketch_batch(hold, sample_rows=sample_rows, seed=seed, keep_share=keep))

    train: Any = None
    hold: Any = None
    for t, h in eng.map_batches(source, both):  # merged as they arrive: driver memory stays one sketch each
        train = t if train is None else train.merge(t, sample_rows)
        hold = h if hold is None else hold.merge(h, sample_rows)
    return TableSketch.merge_all([train], sample_rows, seed), TableSketch.merge_all([hold], sample_rows, seed)
