"""The pieces of DP training on Ray that need no cluster: per-shard Poisson sampling, per-row clipping,
and the DP domain release from counts merged over batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthkit.engine.train_dp_loop import clipped_gradient_sum, poisson_window
from synthkit.privacy.preprocess import DPDiscretizer
from synthkit.privacy.tally import domain_tally, grid_tally, merge_tallies
from synthkit.profile import profile
from synthkit.transform.schema import TableSchema


def test_poisson_window_includes_each_row_in_each_step_independently_with_probability_q() -> None:
    rows, q, steps = np.arange(100_000, dtype=np.uint64), 0.02, 50
    at, which = poisson_window(seed=3, rank=1, rows=rows, window=2, t0=100, t1=100 + steps, q=q)
    assert at.min() >= 100 and at.max() < 100 + steps
    per_step = np.bincount(at - 100, minlength=steps)
    expected, sd = len(rows) * q, np.sqrt(len(rows) * q * (1 - q))
    assert abs(per_step.mean() - expected) < 3 * sd / np.sqrt(steps) and per_step.std() < 1.3 * sd
    both = len(np.intersect1d(which[at == 110], which[at == 111]))  # two steps: independent draws
    assert abs(both - len(rows) * q * q) < 4 * np.sqrt(len(rows) * q * q)
    pairs = set(zip(at.tolist(), which.tolist()))
    assert len(pairs) == len(at)  # a row joins a step's batch at most once
    again = poisson_window(seed=3, rank=1, rows=rows, window=2, t0=100, t1=100 + steps, q=q)
    other = poisson_window(seed=3, rank=0, rows=rows, window=2, t0=100, t1=100 + steps, q=q)
    assert np.array_equal(again[0], at) and np.array_equal(again[1], which)  # a replayed window is the same
    assert not np.array_equal(other[1][other[0] == 100], which[at == 100])  # another shard draws its own


class _Row(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.lin(x) + noise


class _Recipe:
    @staticmethod
    def row_loss(call, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:  # type: ignore[no-untyped-def]
        return call(x, noise).pow(2).sum(dim=1) * 10.0


def test_clipped_gradient_sum_is_the_sum_of_each_rows_gradient_clipped_to_the_norm() -> None:
    torch.manual_seed(0)
    module, x, noise = _Row(), torch.randn(300, 3), torch.randn(300, 2)
    names = [n for n, _ in module.named_parameters()]
    got = clipped_gradient_sum(_Recipe(), module, names, x, noise, max_norm=1.0)
    want = [torch.zeros_like(p) for p in module.parameters()]
    for i in range(len(x)):  # the reference: one backward per row
        module.zero_grad()
        _Recipe.row_loss(module, x[i:i + 1], noise[i:i + 1]).sum().backward()
        grads = [p.grad.clone() for p in module.parameters()]
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        for w, g in zip(want, grads):
            w += g * min(1.0, 1.0 / (float(norm) + 1e-6))
    for g, w in zip(got, want):
        assert torch.allclose(g, w, atol=1e-4), (g, w)


def test_dp_domains_from_batch_counts_equal_the_release_from_the_whole_frame(adult_small: pd.DataFrame) -> None:
    """Counts add up over batches, so the release (same seed) is the whole frame's, bit for bit."""
    schema = TableSchema.fit(adult_small, profile(adult_small).table())
    frame = schema.to_model_frame(adult_small)
    num, cat = schema.numerical_names, schema.categorical_names
    names = [c for c in frame.columns if c in num or c in cat]
    cats = [c for c in names if c in cat]
    parts = [frame.iloc[i::3] for i in range(3)]
    tally = merge_tallies(domain_tally(p, [c for c in names if c not in cats], cats) for p in parts)
    public = ({"age": (17.0, 90.0)}, {"sex": ["Female", "Male"]}, {"age": True})
    whole = DPDiscretizer(8).fit(frame, num, cat, 0.05, 1e-6, np.random.default_rng(4), *public)
    merged = DPDiscretizer(8).fit_tallies(names, cats, tally, lambda g: merge_tallies(grid_tally(p, g) for p in parts),
                                          0.05, 1e-6, np.random.default_rng(4), *public)
    assert merged.to_state() == whole.to_state()
    assert tally["rows"] == len(frame) and sum(tally["categorical"]["workclass"]["counts"].values()) \
        + tally["categorical"]["workclass"]["missing"] == len(frame)
