"""The tilt that brings a network's own draws to the training steps' token shares and mean moves (sequence_tilt)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from synthkit.models.sequence_net import MOVE, MOVED, ColumnCodec, SequenceNet
from synthkit.models.sequence_tilt import FinePositions, MoveColumn, MoveTilt, mean_moves, tilt_heads, token_counts

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
    def draw() -> tuple[np.ndarray, np.ndarray]:
        first = torch.multinomial(torch.softmax(heads[0](torch.ones(rows, 5)), 1), 1, generator=generator)[:, 0]
        second = torch.multinomial(torch.softmax(heads[1](nn.functional.one_hot(first, 5).float()), 1), 1, generator=generator)[:, 0]
        return torch.stack([first, second], 1).numpy(), np.ones(rows, dtype=np.int64)  # each row an entity

    return draw


def _shares(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


def test_the_tilt_brings_each_columns_drawn_shares_to_the_training_ones():
    heads = _heads()
    draw = _drawer(heads)
    before = token_counts(draw()[0], VOCAB)
    out = tilt_heads(heads, TARGET, draw, rounds=8)
    after = token_counts(draw()[0], VOCAB)
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
    assert _shares(token_counts(draw()[0], VOCAB)[0])[3] > 0.05
    tilt_heads(heads, TARGET, draw, rounds=6)
    assert all(torch.equal(h[-1].weight, w) for h, w in zip(heads, weights, strict=True))
    assert float(heads[0][-1].bias[4].detach()) == masked
    assert _shares(token_counts(draw()[0], VOCAB)[0])[3] < 0.005


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


# a numeric column as SequenceNet sees it: 5 value tokens (ranks 0, 0.25, ... 1), a repeat and a missing token
VALUES, REPEAT, MISSING = 5, 5, 6


def _numeric_net() -> SequenceNet:
    ranks = [[i / (VALUES - 1) for i in range(VALUES)] + [0.0, 0.0]]
    return SequenceNet([2], [VALUES + 2], hidden=8, embed=4, missing_tokens=[[MISSING, REPEAT]], ranks=ranks,
                       repeat_tokens=[REPEAT], entity_stats=[0])


def _random_entities(rng: np.random.Generator, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    lengths = rng.integers(1, 12, n)
    return rng.integers(0, VALUES + 2, (int(lengths.sum()), 1)), lengths


def test_mean_moves_counts_what_the_networks_entity_stats_count():
    """The tilt's statistic is the network's own move (stats_moves): repeats move 0, missing steps
    and first observations do not move, and entities do not move into each other."""
    net, rng = _numeric_net(), np.random.default_rng(0)
    tokens, lengths = _random_entities(rng)
    padded = torch.full((len(lengths), int(lengths.max()), 1), MISSING)
    valid = torch.arange(padded.shape[1]).unsqueeze(0) < torch.from_numpy(lengths).unsqueeze(1)
    padded[valid] = torch.from_numpy(tokens)
    after = net.carry(padded)
    before = torch.cat([torch.full_like(after[:, :1], VALUES + 2), after[:, :-1]], dim=1)
    moves = net.stats_moves(padded, before, after)[valid]  # [steps, 5, 1]
    expected = float(moves[:, MOVE, 0].sum() / moves[:, MOVED, 0].sum())
    got = mean_moves(tokens, lengths, [MoveColumn(0, *net.move_tables(0))])
    assert got.shape == (1,) and abs(got[0] - expected) < 1e-6  # the network counts in float32
    by_hand = mean_moves(np.array([[0], [REPEAT], [MISSING], [4], [2], [1]]), np.array([4, 2]), [MoveColumn(0, *net.move_tables(0))])
    assert by_hand[0] == (0.0 + 1.0 + 0.25) / 3  # 0 -> repeat -> (missing) -> 4; then 2 -> 1


def test_the_move_weight_penalizes_each_token_by_the_move_it_would_make():
    """What generation subtracts per token (times the weight) is the move stats_moves records if that
    token is drawn: nothing for a repeat, a missing value, or before a first observation."""
    net = _numeric_net()
    before = torch.tensor([2, 0, VALUES + 2])  # a middle value, the lowest, nothing yet (start token)
    got = net._moves_to(0, before)
    assert torch.allclose(got[0], torch.tensor([0.5, 0.25, 0.0, 0.25, 0.5, 0.0, 0.0]))
    assert torch.allclose(got[1], torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0, 0.0, 0.0]))
    assert not got[2].any()


def test_the_tilt_finds_the_move_weight_that_wrote_the_training_walks():
    """Walks over 5 ranked values whose next value is drawn with logits ``-w * move``: from w = 0
    the tilt's Newton steps find the training walks' mean move, and a weight near the one that wrote
    them (5), while the shares stay matched."""
    net = _numeric_net()
    head = nn.ModuleList([nn.Sequential(nn.Linear(1, VALUES + 2))])
    with torch.no_grad():
        head[0][-1].weight.zero_()
        head[0][-1].bias.copy_(torch.tensor([0.0] * VALUES + [-1e9, -1e9]))  # no repeats, nothing missing
    column = MoveColumn(0, *net.move_tables(0))
    generator = torch.Generator().manual_seed(3)

    @torch.no_grad()
    def walks(weight: float, n: int = 4000, length: int = 10) -> tuple[np.ndarray, np.ndarray]:
        steps, last = [], torch.full((n,), VALUES + 2)
        for _ in range(length):
            logits = head[0](torch.ones(n, 1)) - weight * net._moves_to(0, last)
            last = torch.multinomial(torch.softmax(logits, 1), 1, generator=generator)[:, 0]
            steps.append(last)
        return torch.stack(steps, 1).reshape(-1, 1).numpy(), np.full(n, length)

    tokens, lengths = walks(5.0)
    target = mean_moves(tokens, lengths, [column])
    weights = torch.zeros(1)
    out = tilt_heads(head, token_counts(tokens, [VALUES + 2]), lambda: walks(float(weights[0])), rounds=6,
                     moves=MoveTilt([column], target, weights))
    errors = out["move_error"]
    assert len(errors) == 7 and errors[0] > 0.3 and errors[-1] < 0.03, errors
    assert 4.0 < float(weights[0]) < 6.0 and out["move_weights"] == [round(float(weights[0]), 4)]
    assert out["total_variation"][-1] < 0.02


def _fine_net() -> SequenceNet:
    """A number with 1 exact value and 3 bins (ranks 0, 1/3, 2/3, 1), a repeat and a missing token,
    and its fine position column (2 positions + "not binned")."""
    codec = ColumnCodec("numerical", [0.0], [1.0, 2.0, 3.0, 4.0], has_missing=True, fine=2, repeat=True)
    net = SequenceNet([2], [codec.vocab_size, codec.fine + 1], hidden=8, embed=4,
                      missing_tokens=[[codec.missing_token, codec.repeat_token], [codec.fine]],
                      ranks=[codec.ranks(), [0.0, 0.5, 0.0]], repeat_tokens=[codec.repeat_token, -1], entity_stats=[0])
    net.add_fine_positions(0, 1, codec.bin_tokens(), codec.fine_offsets())
    return net


def test_a_fine_position_splits_the_rank_step_between_neighbouring_values():
    codec = ColumnCodec("numerical", [0.0], [1.0, 2.0, 3.0, 4.0], has_missing=True, fine=2, repeat=True)
    assert codec.bin_tokens() == [False, True, True, True, False, False]  # exact, 3 bins, repeat, missing
    assert np.allclose(codec.fine_offsets(), [-1 / 12, 1 / 12, 0.0])  # a quarter of the rank step 1/3 either side; "not binned"


def test_mean_moves_by_position_count_binned_steps_between_bin_and_fine_positions():
    """Position = the bin's rank + the fine position's offset; only binned steps count, an exact
    value is a position without offset, and a repeat keeps the previous position."""
    net = _fine_net()
    column = MoveColumn(0, *net.move_tables(0), FinePositions(1, *net.fine_tables(1)[1:]))
    assert column.weight_index == 1
    # entity 1: bin 1 low -> bin 1 high -> exact 0 -> repeat -> bin 3 high; entity 2: bin 2 high alone
    tokens = np.array([[1, 0], [1, 1], [0, 2], [4, 2], [3, 1], [2, 1]])
    position = {(1, 0): 1 / 3 - 1 / 12, (1, 1): 1 / 3 + 1 / 12, (0, 2): 0.0, (3, 1): 1.0 + 1 / 12}
    moves = [position[1, 1] - position[1, 0], position[3, 1] - position[0, 2]]  # the exact step and the repeat do not count
    got = mean_moves(tokens, np.array([5, 1]), [column])
    assert abs(got[0] - np.mean(moves)) < 1e-6


def test_the_fine_move_weight_penalizes_each_position_by_the_move_it_would_make():
    net = _fine_net()
    drawn_bin = torch.tensor([1, 1, 0, 2])  # this step's bin token
    before, before_fine = torch.tensor([1, 0, 1, 5 + 1]), torch.tensor([0, 2, 0, 2])  # bin 1 low, exact 0, bin 1 low, start
    got = net._fine_moves_to(1, drawn_bin, before, before_fine)
    low, high = 1 / 3 - 1 / 12, 1 / 3 + 1 / 12
    assert torch.allclose(got[0], torch.tensor([0.0, high - low, 1 / 3 - low]))
    assert torch.allclose(got[1], torch.tensor([low, high, 1 / 3]))
    assert not got[2].any() and not got[3].any()  # an exact value has no fine position; nothing before the first value
