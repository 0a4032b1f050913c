"""The decimal resolution a column's readings are written at, as a mix of units.

Real exports mix resolutions: 97 % of Beijing's NO2 readings are whole µg/m³ and the rest came
through a unit conversion with four decimals; temperatures are in tenths of a degree and some
stations round to whole degrees. Rounding every generated value to one unit, or to none, writes a
column no real export looks like (NO2 all at four decimals, or all whole). So a column keeps the
share of its readings written at each unit, and each generated value is written at a unit drawn
from those shares. Values are rounded with ``np.round(x, decimals)``, not ``round(x / u) * u``,
which writes 0.30000000000000004 for three tenths into a CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

__all__ = ["DECIMAL_PLACES", "Resolution"]

DECIMAL_PLACES = tuple(range(7))  # whole numbers, tenths, ... millionths
_TOLERANCE = 1e-6  # in units of the place: 37.2 read from a float is 372.00000000000006 tenths
_LEAST_SHARE = 1e-4  # a unit written at less often than this is left out (and the rest rescaled)


@dataclass(frozen=True)
class Resolution:
    """``places[i]`` decimal places (``None``: any float) for a ``shares[i]`` share of readings."""

    places: tuple[int | None, ...]
    shares: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray) -> Resolution:
        """The shares readings are *written* at. A reading's coarsest place is not its written one:
        a tenth-of-a-degree reading is a whole degree one time in ten by chance, so the observed
        coarsest places are unmixed (an upper-triangular system: written at place j, a reading's
        digits past place i are all zero with chance 10^(i - j)), assuming the digits past a
        reading's own place are equally likely."""
        x = np.asarray(values, dtype=float)
        x = x[np.isfinite(x)]
        if not len(x):
            return cls((None,), (1.0,))
        places = DECIMAL_PLACES
        coarsest = _coarsest_place(x, places[-1])
        observed = np.bincount(np.where(coarsest < 0, len(places), coarsest), minlength=len(places) + 1) / len(x)
        k = len(places)
        chance = np.zeros((k + 1, k + 1))  # chance[i, j]: written at place j, coarsest place i
        for j in range(k):
            on_or_coarser = 10.0 ** (np.arange(j + 1) - j)  # all digits past place i zero
            chance[: j + 1, j] = np.diff(on_or_coarser, prepend=0.0)
        chance[k, k] = 1.0
        written = np.clip(solve_triangular(chance, observed), 0.0, None)
        written[written < _LEAST_SHARE] = 0.0
        keep = np.flatnonzero(written)
        shares = written[keep] / written[keep].sum()
        return cls(tuple(None if i == k else int(places[i]) for i in keep), tuple(float(s) for s in shares))

    def apply(self, values: np.ndarray, rng: np.random.Generator, groups: np.ndarray | None = None,
              keep_written: bool = False) -> np.ndarray:
        """``values`` each written at a place drawn from the shares (one place: no draw); missing
        stay missing. With ``groups`` (codes 0..G-1, an entity's per value) a group's values share
        one draw: a device or a station writes all its readings alike, and a weight carried
        unchanged through a stay must not read 80.3, 80.0, 80.3. ``keep_written``: a value that
        already sits at one of the places (a model that returns training values, an exact spike) is
        a written reading and keeps its own place; only finer ones are drawn a place."""
        x = np.asarray(values, dtype=float)
        out = x.copy()
        todo = np.ones(len(x), dtype=bool)
        numeric = [p for p in self.places if p is not None]
        if keep_written and numeric:
            own = _coarsest_place(x, max(numeric))
            for place in np.unique(own[own >= 0]):
                at = own == place
                out[at] = np.round(x[at], int(place))  # the same value, without a float tail
            todo = own < 0
        if len(self.places) == 1:
            if self.places[0] is not None:
                out[todo] = np.round(x[todo], self.places[0])
            return out
        u = rng.random(len(x)) if groups is None else rng.random(int(groups.max()) + 1 if len(groups) else 0)[groups]
        drawn = np.minimum(np.searchsorted(np.cumsum(self.shares), u, side="right"), len(self.places) - 1)
        for i, place in enumerate(self.places):
            if place is not None:
                at = (drawn == i) & todo
                out[at] = np.round(x[at], place)
        return out

    def to_state(self) -> list[list[float | int | None]]:
        return [list(self.places), list(self.shares)]

    @classmethod
    def from_state(cls, state: list[list[float | int | None]]) -> Resolution:
        places, shares = state
        return cls(tuple(None if p is None else int(p) for p in places), tuple(float(s) for s in shares))

    @classmethod
    def from_grid(cls, grid: float) -> Resolution:
        """A model file saved with one grid for every value (0: none)."""
        return cls((int(round(-np.log10(grid))) if grid else None,), (1.0,))


def _coarsest_place(x: np.ndarray, finest: int) -> np.ndarray:
    """Per value, the fewest decimal places (0..``finest``) it is written with; -1 for finer ones and NaN."""
    out = np.full(len(x), -1, dtype=np.int64)
    for place in range(finest, -1, -1):  # coarser places overwrite finer ones
        scaled = x * 10.0**place
        out[np.abs(scaled - np.round(scaled)) <= _TOLERANCE] = place
    return out
