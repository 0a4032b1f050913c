"""Small frames shared by the evaluation tests (real Adult rows, split before any "fitting")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthkit.evaluate import split_holdout


@pytest.fixture(scope="session")
def adult_split(adult: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """1,000 train + 1,000 holdout rows of Adult train, and 1,000 unseen rows of Adult test."""
    train_all, test_all = adult
    real = train_all.sample(2000, random_state=1).reset_index(drop=True)
    train, holdout = split_holdout(real, share=0.5, seed=0)
    unseen = test_all.sample(1000, random_state=2).reset_index(drop=True)
    return {"train": train, "holdout": holdout, "unseen": unseen}


@pytest.fixture(scope="session")
def copula_synthetic(adult_split: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Synthetic rows from synthkit's Gaussian copula fitted on the train split only."""
    from synthkit.models.registry import create
    from synthkit.profile import profile

    train = adult_split["train"]
    return create("copula", profile(train)).fit(train).sample(len(train), seed=0)


def _shuffle_columns(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every column permuted independently: marginals kept exactly, every dependence destroyed."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df.columns})


@pytest.fixture(scope="session")
def shuffle_columns():
    return _shuffle_columns
