"""membership_inference: a release that copies its training rows is caught; an independent one is not."""

from __future__ import annotations

import pandas as pd
import pytest

from synthkit.evaluate.attacks import membership_inference


@pytest.fixture(scope="module")
def parts(adult_small: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    df = adult_small.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return df.iloc[:200], df.iloc[200:400], df.iloc[400:1400], df.iloc[1400:2000]


def _kinds(df: pd.DataFrame) -> dict[str, str]:
    return {c: "numerical" if pd.api.types.is_numeric_dtype(df[c]) else "categorical" for c in df.columns}


def test_copies_of_the_members_are_detected(parts):
    members, non_members, reference, _ = parts
    out = membership_inference(members, non_members, reference, members, _kinds(members))
    assert out["dcr"]["auc"] > 0.95 and out["density_ratio"]["auc"] > 0.95
    assert out["members"] == out["non_members"] == 200 and out["synthetic_rows"] == 200


def test_an_independent_sample_gives_no_signal(parts):
    members, non_members, reference, independent = parts
    out = membership_inference(members, non_members, reference, independent, _kinds(members))
    for attack in ("dcr", "density_ratio"):
        lo, hi = out[attack]["auc_ci"]
        assert lo < 0.5 < hi or abs(out[attack]["auc"] - 0.5) < 0.08, (attack, out[attack])
        assert 0 < out[attack]["se"] < 0.1
