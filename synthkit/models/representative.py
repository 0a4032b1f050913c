"""Representative draws: ``n`` rows picked from a larger pool of the model's own draws, so that
their columns and pairs follow the model's tables more closely than ``n`` independent draws do.

Why: a small sample carries its own Monte Carlo noise on top of what the model learned. Stratified
uniforms (:mod:`synthkit.utils.stratified`) remove it from each column, but a pair table of a few
hundred rows still scatters: on issue 18's gbsg2 and insurance (343 and 669 training rows) arm's
and bayesnet's holdout quality was 0.006-0.014 higher for 10n synthetic rows than for n, most of
it in the pair trends (``benchmarks/results/models_2min.md``). Here the model draws
:data:`POOL_FACTOR` times the rows wanted, and the rows are chosen greedily, one at a time, as the
pool row whose tokens most lack counts against a larger reference sample of the same model: every
column's token shares and every pair's joint shares (kernel herding with indicator features; Chen,
Welling and Smola, 2010). Each chosen row is still a whole row the model drew, decoded as before;
no real row is looked at, so it is post-processing of the model (any privacy guarantee of the
model holds). The rows are no longer independent of one another (neither are stratified ones):
a statistician who wants independent draws passes ``representative=False``.

- Columns and pairs weigh half each: column ``j``'s token share counts ``1/c``, a pair's joint
  share ``1/pairs``. Pairs whose table has more than :data:`MAX_CELLS` cells are left out (a few
  hundred rows cannot fill it); above :data:`MAX_PAIRS` pairs, the most dependent ones (mutual
  information in the reference) are kept.
- Greedy in blocks of :data:`BLOCK` rows, each choosing from its own :data:`POOL_FACTOR` x BLOCK
  pool rows while the deficits carry over from block to block, so the work per row does not grow
  with ``n``. Measured on the four small benchmark tables (3 model seeds, 5 draws each), blocks of
  64 from 4x pools scored as well as one greedy pass over a 10x pool (gbsg2 0.9075 against 0.9066,
  german-credit 0.9422 against 0.9425), in a sixteenth of the time on actg175's 1,070 rows.
- Deterministic for a seed: the pool is drawn chunk by chunk like any sample (the same rows at any
  thread count), the greedy's arithmetic is float64 numpy, ties go to the first pool row.
- Cost (one core): 0.03 s for 343 rows of 10 columns, 0.1 s for 500 of 21, 0.33 s for 1,070 of 26
  (325 pairs, so their mutual information is counted to keep 300), about 2 s for Adult's 32,561
  rows of 15 (``benchmarks/results/representative.md``); by default only samples of at most
  :data:`MAX_ROWS` rows are drawn this way (beyond, a sample's own noise is small next to what
  the model has learned, and the cost is linear). On Adult under TabSyn's protocol (arm, five
  draws of 32,561 rows) it took the shape error from 0.46-0.55 % to 0.41-0.45 % and the trend
  error from 0.85-1.07 % to 0.70-0.78 %.

Written here rather than taken from a library: kernel-thinning packages (``goodpoints``) work on
continuous points with a kernel, and none selects from categorical tokens by their pair tables.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from synthkit.errors import ConfigError
from synthkit.models.chow_liu import mutual_information

__all__ = ["MAX_ROWS", "POOL_FACTOR", "check_representative", "draw_representative", "draw_tokens", "select_rows",
           "wanted"]

POOL_FACTOR = 4  # pool rows per row wanted (8 was no better, in blocks of 32 and 128)
BLOCK = 64  # rows chosen per block (32-256 probed: 64 and 128 the best, 256 worse on gbsg2)
MAX_ROWS = 50_000  # default: samples up to this size are drawn representatively
MIN_REFERENCE_ROWS = 4_096  # the reference sample: 32 rows per row wanted, within these bounds
MAX_REFERENCE_ROWS = 200_000  # (Adult's 32,561 rows: 50,000 reference rows left trend error 0.89 %, 200,000 0.74 %)
MAX_CELLS = 4_096  # a pair's table above this many cells is not matched
MAX_PAIRS = 300  # most pairs matched (by mutual information in the reference)
INFORMATION_ROWS = 10_000  # reference rows the mutual information is counted on
POOL_ROWS = 65_536  # chosen rows per pool drawn (memory: 4x this many token rows at a time)


def check_representative(flag: object) -> None:
    """Refuse a ``representative`` parameter that is not true, false or None."""
    if flag is not None and not isinstance(flag, bool):
        raise ConfigError(f"representative must be true, false or None (left to the sample size), got {flag!r}")


def wanted(flag: bool | None, n: int) -> bool:
    """Whether a sample of ``n`` rows is drawn representatively: ``flag`` when given, else up to
    :data:`MAX_ROWS` (never for no rows: there is nothing to choose)."""
    return n > 0 and (bool(flag) if flag is not None else n <= MAX_ROWS)


def draw_tokens(flag: bool | None, draw: Callable[[int, int], np.ndarray], n: int, sizes: list[int],
                rng: np.random.Generator) -> np.ndarray:
    """Tokens of an ``n``-row sample: chosen (:func:`draw_representative`) when :func:`wanted` says so,
    else ``n`` independent rows of ``draw``."""
    if wanted(flag, n):
        return draw_representative(draw, n, sizes, rng)
    return draw(n, int(rng.integers(0, 2**62)))


def draw_representative(draw: Callable[[int, int], np.ndarray], n: int, sizes: list[int],
                        rng: np.random.Generator) -> np.ndarray:
    """Tokens (n, columns) of ``n`` rows chosen from ``POOL_FACTOR * n`` rows of ``draw(rows, seed)``.

    ``draw`` is the model's own token sampler; the reference sample it is matched against is a
    second call with another seed. The pool is drawn :data:`POOL_ROWS` chosen rows' worth at a time
    (seed + i for the i-th), so a large ``representative=True`` sample holds at most that much of it
    in memory; the deficits carry over. The chosen rows keep the pool's (random) order.
    """
    pool_seed, reference_seed = (int(s) for s in rng.integers(0, 2**62, size=2))
    reference = draw(int(np.clip(32 * n, MIN_REFERENCE_ROWS, MAX_REFERENCE_ROWS)), reference_seed)
    herd = _Herd(reference, sizes)
    parts = []
    for i, start in enumerate(range(0, n, POOL_ROWS)):
        rows = min(POOL_ROWS, n - start)
        pool = draw(POOL_FACTOR * rows, pool_seed + i)
        parts.append(pool[np.sort(herd.choose(pool, rows))])
    return np.concatenate(parts)


def select_rows(pool: np.ndarray, reference: np.ndarray, sizes: list[int], n: int) -> np.ndarray:
    """Indices of ``n`` rows of ``pool`` (tokens, ``len(pool) >= n``) whose token and pair shares
    follow ``reference``'s, in the order they were chosen (see the module docstring)."""
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    if len(pool) < n:
        raise ValueError(f"a pool of {len(pool)} rows cannot give {n}")
    return _Herd(reference, sizes).choose(pool, n)


class _Herd:
    """The greedy choice's state: the reference's weighted shares and what the rows chosen so far hold."""

    def __init__(self, reference: np.ndarray, sizes: list[int]) -> None:
        self.slots = _Slots(reference, sizes)
        self.target = self.slots.shares(reference)
        self.chosen_weight = np.zeros_like(self.target)  # chosen rows per feature, times the feature's weight
        self.chosen = 0

    def choose(self, pool: np.ndarray, n: int) -> np.ndarray:
        """Indices of ``n`` rows of ``pool``, block by block (see the module docstring)."""
        factor = len(pool) // n
        picks = np.empty(n, dtype=np.int64)
        for start in range(0, n, BLOCK):
            rows = min(BLOCK, n - start)
            first = start * factor
            features = self.slots.features(pool[first:first + rows * factor])
            base = self.target[features].sum(axis=1)  # what one more row of each candidate is owed per row chosen
            open_ = np.ones(len(features), dtype=bool)
            for k in range(rows):
                self.chosen += 1  # rows once this one is chosen
                score = self.chosen * base - self.chosen_weight[features].sum(axis=1)
                score[~open_] = -np.inf
                best = int(np.argmax(score))
                open_[best] = False
                picks[start + k] = first + best
                self.chosen_weight[features[best]] += self.slots.weight[features[best]]
        return picks


class _Slots:
    """The features rows are matched on: every column's token, and the token pair of each matched pair."""

    def __init__(self, reference: np.ndarray, sizes: list[int]) -> None:
        c = reference.shape[1]
        pairs = [(a, b) for a in range(c) for b in range(a + 1, c) if sizes[a] * sizes[b] <= MAX_CELLS]
        if len(pairs) > MAX_PAIRS:
            information = mutual_information(reference[:INFORMATION_ROWS], list(sizes))
            ranked = sorted(range(len(pairs)), key=lambda i: (-information[pairs[i]], i))
            pairs = [pairs[i] for i in sorted(ranked[:MAX_PAIRS])]
        self.first = np.array(list(range(c)) + [a for a, _ in pairs], dtype=np.int64)
        self.second = np.array(list(range(c)) + [b for _, b in pairs], dtype=np.int64)
        # a column's token is first * 0 + second; a pair's is first * size(second) + second
        self.stride = np.array([0] * c + [sizes[b] for _, b in pairs], dtype=np.int64)
        cells = np.array(list(sizes) + [sizes[a] * sizes[b] for a, b in pairs], dtype=np.int64)
        self.offset = np.concatenate([[0], np.cumsum(cells)[:-1]])
        slot_weight = np.r_[np.full(c, 1.0 / c), np.full(len(pairs), 1.0 / max(len(pairs), 1))]
        self.weight = np.repeat(slot_weight, cells)  # per feature

    def features(self, tokens: np.ndarray) -> np.ndarray:
        """(rows, slots) feature ids of token rows."""
        tokens = np.asarray(tokens, dtype=np.int64)
        return tokens[:, self.first] * self.stride + tokens[:, self.second] + self.offset

    def shares(self, reference: np.ndarray) -> np.ndarray:
        """Each feature's share of the reference rows, times its weight (counted in chunks of rows)."""
        counts = np.zeros(len(self.weight))
        for start in range(0, len(reference), 8_192):
            counts += np.bincount(self.features(reference[start:start + 8_192]).ravel(), minlength=len(self.weight))
        return counts / max(len(reference), 1) * self.weight
