"""The tilt that brings a network's own draws to the training steps' token shares (sequence_tilt)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from synthkit.models.sequence_tilt import tilt_heads, token_counts

# the first column's fourth token is drawn but never in the training steps, its fifth is masked (never drawn)
TARGET = [np.array([700.0, 200.0, 100.0, 0.0, 0.0]), np.array([100.0, 300.0, 600.0])]
VOCAB = [5, 3]


def _heads() -> nn.ModuleList:
    """Two token columns like a network's heads (a last ``nn.Linear`` over the vocabulary); the
    second reads the first's drawn token, so tilting the first moves the second's shares too."""
    torch.manual_seed(0)
    heads = nn.ModuleList([nn.Sequential(nn.ReLU(), nn.Linear(5, 5)), nn.Sequential(nn.ReLU(), nn.Linear(5, 3))])
    with torch.no_grad():
        heads[1][-1].weight.mul_(3.0)  # a strong dependence on the first column
        heads[0][-1].bias[4] = -1e9
    return heads


def _drawer(heads: nn.ModuleList, rows: int = 20_000):
    generator = torch.Generator().manual_seed(1)

    @torch.no_grad()
    def draw() -> np.ndarray:
        first = torch.multinomial(torch.softmax(heads[0](torch.ones(rows, 5)), 1), 1, generator=generator)[:, 0]
        second = torch.multinomial(torch.softmax(heads[1](nn.functional.one_hot(first, 5).float()), 1), 1, generator=generator)[:, 0]
        return torch.stack([first, second], 1).numpy()

    return draw


def _shares(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


def test_the_tilt_brings_each_columns_drawn_shares_to_the_training_ones():
    heads = _heads()
    draw = _drawer(heads)
    before = token_counts(draw(), VOCAB)
    out = tilt_heads(heads, TARGET, draw, rounds=8)
    after = token_counts(draw(), VOCAB)
    for real, old, new in zip(TARGET, before, after, strict=True):
        assert 0.5 * np.abs(_shares(new) - _shares(real)).sum() < 0.01 < 0.5 * np.abs(_shares(old) - _shares(real)).sum()
    history = out["total_variation"]
    assert out["rounds"] == 8 and len(history) == 9  # before each round, and after the last
    assert history[0] > 0.1 and history[-1] < 0.01


def test_the_tilt_moves_only_biases():
    """Weights (what each column learned from earlier ones) stay; a token drawn but never in the
    training steps is pushed out; a masked token, which neither side holds, keeps its bias."""
    heads = _heads()
    weights = [h[-1].weight.detach().clone() for h in heads]
    masked = float(heads[0][-1].bias[4].detach())
    draw = _drawer(heads)
    assert _shares(token_counts(draw(), VOCAB)[0])[3] > 0.05
    tilt_heads(heads, TARGET, draw, rounds=6)
    assert all(torch.equal(h[-1].weight, w) for h, w in zip(heads, weights, strict=True))
    assert float(heads[0][-1].bias[4].detach()) == masked
    assert _shares(token_counts(draw(), VOCAB)[0])[3] < 0.005


def test_no_rounds_only_measure():
    heads = _heads()
    biases = [h[-1].bias.detach().clone() for h in heads]
    out = tilt_heads(heads, TARGET, _drawer(heads), rounds=0)
    assert len(out["total_variation"]) == 1 and out["total_variation"][0] > 0.1
    assert all(torch.equal(h[-1].bias, b) for h, b in zip(heads, biases, strict=True))


def test_token_counts_per_column():
    tokens = np.array([[0, 2], [1, 2], [0, 0]])
    counts = token_counts(tokens, [3, 3])
    assert counts[0].tolist() == [2.0, 1.0, 0.0] and counts[1].tolist() == [1.0, 0.0, 2.0]
