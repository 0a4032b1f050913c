"""Pair statistics merged over batches: sparse and dense batch tables add up to the whole table's counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthkit.evaluate.merged import SparseCounts, merge_pair_stats, merged_fidelity, pair_batch_stats, pair_spec
from synthkit.profile.sketch import sketch_batch

KINDS = {"wide": "categorical", "narrow": "categorical", "x": "numerical"}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 3_000
    wide = rng.integers(0, 900, n)  # 900 x 4 cells: far more than a 500-row batch fills
    return pd.DataFrame({"wide": [f"w{v}" for v in wide], "narrow": rng.choice(["a", "b", "c"], n),
                         "x": rng.normal(wide / 100.0, 1.0)})


def test_batches_merge_to_the_whole_tables_counts_in_both_forms(frame: pd.DataFrame) -> None:
    sketch = sketch_batch(frame).columns
    spec, skipped = pair_spec(sketch, sketch, KINDS)
    assert not skipped
    parts = [pair_batch_stats(frame.iloc[i:i + 500], spec, "real") for i in range(0, len(frame), 500)]
    assert isinstance(parts[0]["tables"]["wide|narrow"], SparseCounts)  # 901 x 4 cells > 3 x 500 rows
    assert parts[0]["tables"]["narrow|x"].dtype == np.uint32  # 4 x 12 cells: dense
    merged = merge_pair_stats(iter(parts))
    whole = merge_pair_stats(iter([pair_batch_stats(frame, spec, "real")]))  # one batch of 3,000 rows
    assert merged is not None and whole is not None
    for key, table in whole["tables"].items():
        assert merged["tables"][key].dtype == np.int64
        np.testing.assert_array_equal(merged["tables"][key], table)
    for key in ("n", "sx", "sxx", "sxy"):
        np.testing.assert_allclose(merged[key], whole[key])
    counts = merged["tables"]["wide|narrow"].reshape(spec.size("wide"), spec.size("narrow"))
    crosstab = pd.crosstab(frame["wide"], frame["narrow"])
    for row, col in [("w0", "a"), ("w899", "c"), ("w450", "b")]:
        i, j = spec.categories["wide"].index(row), spec.categories["narrow"].index(col)
        assert counts[i, j] == crosstab.loc[row, col]


def test_pair_trends_do_not_depend_on_the_batching(frame: pd.DataFrame) -> None:
    sketch = sketch_batch(frame).columns
    spec, _ = pair_spec(sketch, sketch, KINDS)
    one = merge_pair_stats(iter([pair_batch_stats(frame, spec, "real")]))
    many = merge_pair_stats((pair_batch_stats(frame.iloc[i:i + 250], spec, "real") for i in range(0, len(frame), 250)))
    syn = merge_pair_stats(iter([pair_batch_stats(frame.sample(frac=1.0, random_state=1), spec, "synthetic")]))
    assert one is not None and many is not None and syn is not None
    first, second = merged_fidelity(sketch, sketch, spec, one, syn), merged_fidelity(sketch, sketch, spec, many, syn)
    assert first["pairs"] == second["pairs"]
    assert first["pairs"]["wide|narrow"]["score"] == pytest.approx(1.0)  # the same rows, reordered
    assert first["pairs"]["wide|x"]["real"] > 0.5  # x follows wide: a strong association is seen
