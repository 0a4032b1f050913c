"""A lake of correlated numeric, count, boolean and categorical columns for the engine tests."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from synthkit.io.lake import write_partitioned


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    return pd.DataFrame({"a": z[:, 0], "b": z[:, 0] * 0.8 + z[:, 1] * 0.6, "c": np.exp(z[:, 2]),
                         "d": rng.normal(5, 2, n).round(2), "e": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
                         "k": rng.poisson(3, n), "flag": rng.random(n) < 0.3 + 0.4 * (z[:, 0] > 1),
                         "grp": rng.choice(np.array([f"g{i}" for i in range(20)], dtype=object), n)})


def write_lake(rows: int, parts: int, folder: str) -> None:
    write_partitioned((frame(rows // parts, i) for i in range(parts)), folder)


if __name__ == "__main__":
    write_lake(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
