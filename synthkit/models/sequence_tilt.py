"""Tilt a trained sequence network so that its own rollouts keep the training tokens' shares.

A network trained on real steps (teacher forcing) writes each step well given real history, but when
it writes whole entities it reads its own earlier steps, and small errors compound into a drift:
the Beijing network's windows came out too calm and too polluted (wind speed mean 1.53 m/s against
1.74 real, total variation of the pollutants' token shares 0.08-0.10), and ICU stays read urine too
rarely. Critics choosing among drawn entities can only pick from what the network writes, so they
spent their choice on that drift.

The tilt adds to each column head's output bias the log-ratio of the token's share among the
training steps to its share among the network's own drawn steps, a few rounds, each on a fresh
draw: the exponential tilt of every step's distribution that brings the rollouts' token shares to
the training ones (iterative proportional fitting of one margin per column, the minimum change in
KL divergence that matches it). Only shares are matched; every dependence the network learned
stays. Measured on seed-0 networks with the critics refitted afterwards (sequence.md, v18):
discriminator 0.712 -> 0.699 on Beijing (6 draws) and 0.753 -> 0.722 on ICU (4 draws).

Shares alone leave the size of a move: the Beijing network's pollutant series moved more from hour to
hour than real ones (PM10 17.6 against 15.8, O3 9.6-10.1 against 8.6), ICU heart rates 4.81 against
4.54. So each numeric column (not an integrated one, whose step tokens are its moves) also gets a
weight against moving far from its last value, ``-w * |rank(token) - rank(last value)|`` added to
its logits, tilted in the same rounds until the draws' mean move between an entity's consecutive
observations matches the training steps' (:func:`mean_moves`): the exponential tilt with the move
as one more statistic. A binned column's fine position gets a second weight, on the move of the
value's position (bin rank plus fine offset), which sees how far a value moves inside its bin.
Before it, the seed-0 ICU network's GCS and FiO2 moved a fifth too far by bin, two columns' positions
a fifth to a quarter too far; after 6 rounds nearly all are within a few %. With the critics refitted
(sequence.md, v19), the discriminator went 0.722 -> 0.704 on ICU (4 draws, all lower; by bin alone
0.709) and 0.698 -> 0.693 on Beijing (by bin alone 0.697).

Privacy: the targets are per-column token counts and mean moves over all training steps, aggregates
like the quantile bins the codecs already hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import logging

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = ["FinePositions", "MoveColumn", "MoveTilt", "TILT_DAMPING", "TILT_STEP", "mean_moves", "tilt_heads", "token_counts"]

TILT_DAMPING = 0.8  # share of a round's log-ratio applied: drawn shares carry Monte Carlo noise
TILT_STEP = 1.0  # at most this much log-ratio per token and round, so a token drawn a few times cannot jump
MOVE_STEP = 0.5  # at most this much of 1 / (drawn mean move) added to a move weight a round

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinePositions:
    """A binned column's fine-position column (:meth:`SequenceNet.fine_tables`)."""

    index: int  # the fine token column
    binned: np.ndarray  # per token of the binned column (start last): a bin
    offsets: np.ndarray  # per fine token (start last): offset from the bin's rank


@dataclass(frozen=True)
class MoveColumn:
    """A numeric token column's tables (:meth:`SequenceNet.move_tables`), per token, start token last.
    With ``fine``, the move is of the value's position (bin and fine position) and its weight is
    the fine column's."""

    index: int  # the token column
    rank: np.ndarray  # value rank
    value: np.ndarray  # a value the column carries (not missing or a repeat)
    seen: np.ndarray  # an observation (a repeat too)
    fine: FinePositions | None = None

    @property
    def weight_index(self) -> int:
        """The token column whose move weight this column's move sets."""
        return self.index if self.fine is None else self.fine.index

    def positions(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per step of ``tokens`` (steps, columns): the value's position (NaN where no value) and
        whether the step's move counts (an observation; with ``fine``, a binned one)."""
        coarse = tokens[:, self.index]
        if self.fine is None:
            return np.where(self.value[coarse], self.rank[coarse], np.nan), self.seen[coarse]
        binned = self.fine.binned[coarse]
        position = self.rank[coarse] + binned * self.fine.offsets[tokens[:, self.fine.index]]
        return np.where(self.value[coarse], position, np.nan), binned


@dataclass
class MoveTilt:
    """What the tilt matches beyond shares: per column, the training steps' mean move, and the
    network's move weights (its ``move_weights`` buffer), changed in place."""

    columns: list[MoveColumn]
    target: np.ndarray
    weights: torch.Tensor


def token_counts(tokens: np.ndarray, vocab: list[int]) -> list[np.ndarray]:
    """Per column of ``tokens`` (steps, columns), how often each of its ``vocab`` tokens occurs."""
    return [np.bincount(tokens[:, i], minlength=size)[:size].astype(np.float64) for i, size in enumerate(vocab)]


def mean_moves(tokens: np.ndarray, lengths: np.ndarray, columns: list[MoveColumn], variance: bool = False) -> np.ndarray:
    """Per column, the mean size (in value rank) of a move between an entity's consecutive
    observations, as :meth:`SequenceNet.stats_moves` counts them (a repeat moves 0); NaN where
    nothing moves. ``tokens`` (steps, columns) hold the entities' steps one after another, ``lengths``
    long. With ``variance``, (2, columns): the means and the moves' variances."""
    if not columns:
        return np.zeros((2, 0) if variance else 0)
    ent = np.repeat(np.arange(len(lengths)), lengths)
    positions = [c.positions(tokens) for c in columns]
    after = pd.DataFrame({k: position for k, (position, _) in enumerate(positions)}).groupby(ent, sort=False).ffill()
    before = after.groupby(ent, sort=False).shift(1).to_numpy()
    seen = np.column_stack([counted for _, counted in positions]) & ~np.isnan(before)
    moves = np.where(seen, np.abs(after.to_numpy() - before), 0.0)
    counts = seen.sum(0)
    mean = np.where(counts > 0, moves.sum(0) / np.maximum(counts, 1), np.nan)
    if not variance:
        return mean
    return np.stack([mean, np.where(counts > 0, (moves**2).sum(0) / np.maximum(counts, 1), np.nan) - mean**2])


def tilt_heads(heads: nn.ModuleList, target: list[np.ndarray], draw: Callable[[], tuple[np.ndarray, np.ndarray]], rounds: int,
               moves: MoveTilt | None = None) -> dict[str, Any]:
    """Shift each head's last bias by the damped log-ratio of training to drawn token shares, ``rounds`` times.

    ``heads``: one module per token column whose last layer is an ``nn.Linear`` over its vocabulary;
    ``target``: :func:`token_counts` of the training steps; ``draw``: the network's own steps
    (steps, columns) under the current biases, and its entities' lengths. A token the draw holds and
    the training steps never do is pushed down (at most ``TILT_STEP`` a round); one neither holds (a
    masked token) is left alone. With ``moves``, each of its columns' move weight changes in the same
    rounds by a damped Newton step. Returns the mean total variation between training and drawn shares per
    round, measured before that round's shift, and after the last one; with ``moves``, also the mean
    relative error of the drawn mean moves.
    """
    vocab = [len(t) for t in target]
    history: list[float] = []
    move_errors: list[float] = []
    for round_ in range(rounds + 1):
        tokens, lengths = draw()
        drawn = token_counts(tokens, vocab)
        if moves is not None:
            move_errors.append(_tilt_moves(moves, *mean_moves(tokens, lengths, moves.columns, variance=True), last=round_ == rounds))
        distances = []
        for i, (real, got) in enumerate(zip(target, drawn, strict=True)):
            if real.sum() == 0 or got.sum() == 0:
                continue
            distances.append(0.5 * float(np.abs(real / real.sum() - got / got.sum()).sum()))
            if round_ == rounds:
                continue
            known = (real > 0) | (got > 0)
            ratio = np.log((real + 0.5) / (real + 0.5).sum()) - np.log((got + 0.5) / (got + 0.5).sum())
            shift = TILT_DAMPING * np.where(known, np.clip(ratio, -TILT_STEP, TILT_STEP), 0.0)
            with torch.no_grad():
                heads[i][-1].bias += torch.as_tensor(shift, dtype=heads[i][-1].bias.dtype)
        history.append(round(float(np.mean(distances)), 5) if distances else 0.0)
    out: dict[str, Any] = {"rounds": rounds, "total_variation": history}
    if moves is not None:
        out["move_error"] = move_errors
        out["move_weights"] = [round(float(moves.weights[c.weight_index]), 4) for c in moves.columns]
    return out


def _tilt_moves(moves: MoveTilt, drawn: np.ndarray, spread: np.ndarray, last: bool) -> float:
    """Shift each column's move weight by a damped Newton step towards the training mean move
    (unless ``last``): the drawn mean move falls by the moves' variance per unit of weight. Returns
    the mean relative error of the drawn mean moves before the shift."""
    errors = []
    for column, real, got, variance in zip(moves.columns, moves.target, drawn, spread, strict=True):
        if not (real > 0 and got > 0 and variance > 0):  # NaN or no moves on either side
            continue
        errors.append(abs(got / real - 1.0))
        if not last:
            step = np.clip((got - real) / variance, -MOVE_STEP / got, MOVE_STEP / got)
            moves.weights[column.weight_index] += TILT_DAMPING * float(step)
    if log.isEnabledFor(logging.DEBUG):
        with np.errstate(divide="ignore", invalid="ignore"):
            log.debug("sequence tilt: drawn / training mean move %s", np.round(drawn / moves.target, 3).tolist())
    return round(float(np.mean(errors)), 5) if errors else 0.0
