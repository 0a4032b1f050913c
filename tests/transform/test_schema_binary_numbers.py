"""0/1 number columns are profiled as booleans (two values) but must come back as numbers of their dtype.

A 0/1 int column once came back as True/False, which broke sums, joins and the sequence
discriminator (``flat_records`` had to treat True and 1 alike); only a real bool column is bool.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthkit.models import create
from synthkit.profile import profile
from synthkit.transform.schema import TableSchema


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    nullable = pd.array(rng.integers(0, 2, 200), dtype="Int64")
    nullable[3] = pd.NA
    return pd.DataFrame({"int64": rng.integers(0, 2, 200), "int32": rng.integers(0, 2, 200).astype("int32"),
                         "float": rng.integers(0, 2, 200).astype(float), "nullable": nullable,
                         "flag": rng.random(200) < 0.3})


def test_profile_calls_them_boolean(frame):
    assert {c.name: c.kind for c in profile(frame).table().columns} == dict.fromkeys(frame.columns, "boolean")


def test_schema_round_trip_keeps_numbers_numbers(frame):
    schema = TableSchema.fit(frame, profile(frame).table())
    back = schema.from_model_frame(schema.to_model_frame(frame), {})
    assert back.dtypes.to_dict() == frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, frame)


def test_sampled_rows_keep_numbers_numbers(frame):
    synthetic = create("copula", seed=0).fit(frame).sample(300, seed=1)
    assert synthetic.dtypes.to_dict() == frame.dtypes.to_dict()
    for name in ("int64", "int32", "float", "nullable"):
        assert set(synthetic[name].dropna().unique()) <= {0, 1}, name
    assert synthetic["flag"].dtype == bool
