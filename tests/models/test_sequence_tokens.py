"""The sequence network's token draw: the softmax's categories, by inverting its cumulative sum."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from synthkit.models.sequence_net import draw_tokens


def _counts(logits: torch.Tensor, rows: int, seed: int) -> np.ndarray:
    tokens = draw_tokens(logits.expand(rows, -1).contiguous(), torch.Generator().manual_seed(seed))
    return np.bincount(tokens.numpy(), minlength=logits.shape[1])


def test_draws_follow_the_softmax_and_never_a_masked_category():
    logits = torch.tensor([[-1e9, 0.0, 1.0, -1e9, 2.0, -0.5, -1e9]])  # masked first, inside and last
    counts = _counts(logits, 200_000, seed=0)
    expected = torch.softmax(logits[0], dim=-1).numpy() * counts.sum()
    allowed = expected > 0
    assert (counts[~allowed] == 0).all()
    assert stats.chisquare(counts[allowed], expected[allowed]).pvalue > 0.01


def test_one_allowed_category_is_always_drawn():
    logits = torch.full((1, 5), -1e9)
    logits[0, 4] = 3.0  # the last one: the target never reaches past the total
    assert (_counts(logits, 10_000, seed=1) == [0, 0, 0, 0, 10_000]).all()
    logits = torch.full((1, 5), -1e9)
    logits[0, 0] = -3.0
    assert (_counts(logits, 10_000, seed=1) == [10_000, 0, 0, 0, 0]).all()


def test_the_same_generator_seed_gives_the_same_tokens():
    logits = torch.randn(1000, 40, generator=torch.Generator().manual_seed(2))
    first = draw_tokens(logits, torch.Generator().manual_seed(7))
    assert torch.equal(first, draw_tokens(logits, torch.Generator().manual_seed(7)))
    assert not torch.equal(first, draw_tokens(logits, torch.Generator().manual_seed(8)))
