"""Rebalancing helpers: exact allocations, conditioned draws and augmentation to a target share."""

from __future__ import annotations

import pytest

from synthkit.errors import DataError
from synthkit.models import create
from synthkit.models.conditional import (
    allocate,
    augment,
    rows_needed,
    sample_with_shares,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model(adult_small):
    return create("copula").fit(adult_small)


def test_allocate_sums_to_n_and_follows_shares():
    assert allocate(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert allocate(7, {"x": 0.0, "y": 2.0}) == {"x": 0, "y": 7}
    assert sum(allocate(1001, {"a": 0.37, "b": 0.63}).values()) == 1001
    with pytest.raises(DataError):
        allocate(5, {"a": -1.0})
    with pytest.raises(DataError):
        allocate(5, {})


def test_sample_with_shares_gives_exact_class_counts(model):
    out = sample_with_shares(model, 1000, "income", {">50K": 0.5, "<=50K": 0.5}, seed=0)
    assert len(out) == 1000
    assert out["income"].value_counts().to_dict() == {">50K": 500, "<=50K": 500}
    assert out["income"].iloc[:100].nunique() == 2  # shuffled, not two blocks
    again = sample_with_shares(model, 1000, "income", {">50K": 0.5, "<=50K": 0.5}, seed=0)
    assert out.equals(again)


def test_augment_reaches_the_target_share(model, adult_small):
    extra = augment(adult_small, model, "income", ">50K", target_share=0.4, seed=1)
    assert (extra["income"] == ">50K").all()
    combined_share = ((adult_small["income"] == ">50K").sum() + len(extra)) / (len(adult_small) + len(extra))
    assert 0.4 <= combined_share < 0.4 + 1 / len(adult_small)
    assert list(extra.columns) == list(adult_small.columns)
    assert len(augment(adult_small, model, "income", ">50K", target_share=0.01)) == 0  # already above


def test_arm_augments_natively(adult_small):
    arm = create("arm", epochs=3, hidden=16, embedding_dim=4, n_bins=8, seed=0).fit(adult_small)
    extra = augment(adult_small, arm, "sex", "Female", target_share=0.5, seed=0)
    assert len(extra) == rows_needed(adult_small, "sex", "Female", 0.5) > 0
    assert (extra["sex"] == "Female").all()


def test_rows_needed_validates_input(adult_small):
    assert rows_needed(adult_small.iloc[:10].assign(y=["a"] * 2 + ["b"] * 8), "y", "a", 0.5) == 6
    with pytest.raises(DataError, match="target_share"):
        rows_needed(adult_small, "income", ">50K", 1.0)
    with pytest.raises(DataError, match="not in the data"):
        rows_needed(adult_small, "nope", ">50K", 0.3)
