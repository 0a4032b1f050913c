"""Mergeable statistics: the merged profile equals the in-memory profile (counts and categories
exactly, quantiles within the sketch's stated rank error), whatever the batching."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.engine import create_engine
from synthkit.profile import profile
from synthkit.profile.merged import profile_sketch
from synthkit.profile.sketch import QUANTILE_POINTS, TableSketch, sketch_batch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from scale import make_frame  # noqa: E402  (the benchmark's 30 mixed columns)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(12_000, seed=3)


@pytest.fixture(scope="module")
def merged(frame: pd.DataFrame) -> TableSketch:
    with create_engine("local", num_workers=2, batch_rows=2_500) as eng:  # 5 batches of > 1,024 values
        return eng.merge_stats(frame, sample_rows=4_000, seed=1)


def _ecdf(values: np.ndarray, x: float) -> tuple[float, float]:
    return float(np.mean(values < x)), float(np.mean(values <= x))


def test_merged_profile_equals_in_memory_profile(frame: pd.DataFrame, merged: TableSketch) -> None:
    full = profile(frame, name="t").table()
    part = profile_sketch(merged, "t").table()
    bound = merged.rank_error_share
    assert 0 < bound <= 1 / QUANTILE_POINTS
    for a, b in zip(full.columns, part.columns, strict=True):
        assert (a.name, a.kind, a.pii, a.missing_share) == (b.name, b.kind, b.pii, b.missing_share)
        assert a.stats["count"] == b.stats["count"]
        if a.cardinality <= (10_000 if part.column(a.name).kind in ("categorical", "boolean", "text", "id") and
                             not a.dtype.startswith(("int", "float", "datetime")) else 1_000):
            assert a.cardinality == b.cardinality, a.name
        else:  # K-minimum-values estimate: ~1.6 % relative error
            assert abs(b.cardinality - a.cardinality) <= 0.06 * a.cardinality, a.name
        for key in ("min", "max", "integer", "numeric_type", "zero_share", "true_share", "rare_share", "values",
                    "date_only", "timezone", "mean_length", "max_length"):
            assert a.stats.get(key) == b.stats.get(key), (a.name, key)
        for key in ("mean", "std"):
            if key in a.stats:
                assert b.stats[key] == pytest.approx(a.stats[key], rel=1e-9, abs=1e-9)
        if "top" in a.stats:  # same counts; equal counts may list in another order
            assert sorted(t["count"] for t in a.stats["top"]) == sorted(t["count"] for t in b.stats["top"])
            truth = frame[a.name].astype(str).value_counts()
            assert all(truth[t["value"]] == t["count"] for t in b.stats["top"])
        if a.kind == "numerical" and a.pii == "none":
            values = frame[a.name].dropna().to_numpy(dtype=float)
            for q, v in b.stats["quantiles"].items():
                below, upto = _ecdf(values, v)  # the true rank of the returned value brackets q within the bound
                assert below - bound - 1 / len(values) <= float(q) <= upto + bound + 1 / len(values), (a.name, q)


def test_merge_is_independent_of_batching(frame: pd.DataFrame, merged: TableSketch) -> None:
    other = TableSketch.merge_all((sketch_batch(frame.iloc[i:i + 5_000], sample_rows=4_000, seed=1)
                                   for i in range(0, len(frame), 5_000)), sample_rows=4_000)
    assert other.rows == merged.rows == len(frame)
    pd.testing.assert_frame_equal(other.sample, merged.sample)  # bottom-k by content hash: same rows
    for name, col in merged.columns.items():
        assert other.columns[name].categories == col.categories
        assert (other.columns[name].missing, other.columns[name].minimum) == (col.missing, col.minimum)
    # keep_share pre-filters sample candidates without changing the sample
    lean = TableSketch.merge_all((sketch_batch(frame.iloc[i:i + 3_000], sample_rows=4_000, seed=1, keep_share=0.9)
                                  for i in range(0, len(frame), 3_000)), sample_rows=4_000)
    pd.testing.assert_frame_equal(lean.sample, merged.sample)
