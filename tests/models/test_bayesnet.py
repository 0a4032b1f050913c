"""bayesnet: a Chow-Liu tree over discretized columns (issue 18's small tables).

The table is built here with known structure: ``spend`` follows ``income`` (rank correlation
0.6), ``plan`` follows ``spend``, ``region`` depends on nothing. A tree must link the three related
columns and leave ``region`` alone; its draws must keep every marginal and the pairs it links.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.errors import ConfigError, DataError, ModelFileError
from synthkit.models import Synthesizer, create
from synthkit.models.chow_liu import mutual_information, parents_in_order, spanning_forest, walk
from synthkit.models.nn_base import PII_CLIP_QUANTILE, PII_RARE_MIN_COUNT
from synthkit.profile import profile


def known_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0, 0], [[1, 0.62], [0.62, 1]], n)
    spend = np.round(np.exp(7 + 0.4 * z[:, 1]), 2)
    plan = np.where(spend > np.quantile(spend, 0.7), "premium", np.where(rng.random(n) < 0.5, "basic", "plus"))
    return pd.DataFrame({
        "income": np.round(40_000 + 12_000 * z[:, 0]),
        "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "spend": spend,
        "plan": plan,
    })


def _spearman(df: pd.DataFrame, a: str, b: str) -> float:
    return float(df[[a, b]].corr(method="spearman").iloc[0, 1])


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, Synthesizer]:
    real = known_table(500)
    return real, create("bayesnet", seed=0).fit(real)


def test_the_tree_links_related_columns_and_leaves_an_independent_one_alone(fitted):
    _, model = fitted
    edges = {frozenset((e["parent"], e["child"])) for e in model.fit_info_["edges"]}
    assert edges == {frozenset(("income", "spend")), frozenset(("spend", "plan"))}
    names = model.discretizer_.names
    assert model.parents_[names.index("region")] == -1  # no information left once the bias is taken off
    assert model.fit_info_["n_bins"] == 16  # at most one bin per 50 rows, never under 16


def test_draws_keep_marginals_and_the_linked_pairs(fitted):
    real, model = fitted
    synthetic = model.sample(5_000, seed=1)
    for column in ("region", "plan"):
        expected = real[column].value_counts(normalize=True)
        got = synthetic[column].value_counts(normalize=True).reindex(expected.index)
        assert (got - expected).abs().max() < 0.03, column
    for column in ("income", "spend"):
        assert abs(synthetic[column].median() - real[column].median()) < 0.05 * real[column].std(), column
    assert _spearman(real, "income", "spend") == pytest.approx(0.6, abs=0.05)
    assert abs(_spearman(synthetic, "income", "spend") - _spearman(real, "income", "spend")) < 0.05
    premium = synthetic["spend"][synthetic["plan"] == "premium"]
    below = (premium < real["spend"][real["plan"] == "premium"].min() * 0.97).mean()
    assert below < 0.02  # plan follows spend: only the smoothing's few pseudo-rows put premium lower
    assert abs(_spearman(synthetic.assign(r=synthetic["region"].astype("category").cat.codes), "r", "spend")) < 0.05


def test_a_roots_counts_follow_its_table_not_chance(fitted):
    """Stratified draws: a root column's 5,000 draws hold its shares to within a row or two."""
    _, model = fitted
    root = model.order_[0]
    tokens = model._sample_tokens(5_000, model._cumulative(model.tables_), np.random.default_rng(3))
    counts = np.bincount(tokens[:, root], minlength=model.tables_[root].shape[1])
    assert np.abs(counts - 5_000 * model.tables_[root][0]).max() <= 2


def test_mutual_information_is_exact_and_bias_corrected():
    rng = np.random.default_rng(0)
    n = 4_000
    same = rng.integers(0, 2, n)
    independent = rng.integers(0, 8, n)
    info = mutual_information(np.stack([same, same, independent], axis=1), [2, 2, 8])
    shares = np.bincount(same) / n
    entropy = float(-(shares * np.log(shares)).sum())
    assert info[0, 1] == pytest.approx(entropy - 1 / (2 * n))  # a copy: its entropy, less the bias of a 2 x 2 table
    assert info[0, 1] == info[1, 0] and info[0, 0] == 0.0
    assert info[0, 2] == info[1, 2] == 0.0  # independent: a G-test finds no dependence, so no information


def test_chow_liu_forest_keeps_the_strongest_edges_and_roots_each_tree():
    info = np.zeros((5, 5))
    for (a, b), value in {(0, 1): 0.5, (1, 2): 0.4, (0, 2): 0.3, (3, 4): 0.2}.items():
        info[a, b] = info[b, a] = value
    linked = spanning_forest(info)
    order = walk(linked, info)
    parents = parents_in_order(linked, info, order)
    assert sorted(order) == list(range(5)) and not linked[0, 2]  # the weakest edge of the triangle is left out
    assert parents[1] == -1 and parents[0] == 1 and parents[2] == 1  # 1 holds the most information: the root
    assert {parents[3], parents[4]} == {-1, 3} or {parents[3], parents[4]} == {-1, 4}  # a second tree
    assert all(order.index(p) < order.index(j) for j, p in enumerate(parents) if p >= 0)  # parents come first
    # another order (a user's columns first): each column keeps its strongest link to a column before it
    assert parents_in_order(linked, info, [2, 0, 1, 3, 4]) == [-1, 0, -1, -1, 3]


def test_conditions_are_exact_on_the_tree_not_rejection(fitted):
    """Conditioning on the leaf ``plan`` must give ``income`` (two edges up) the distribution the
    model's own unconditioned rows show among premium rows: the evidence passed up the tree."""
    _, model = fitted
    assert model.native_conditions
    premium = model.sample(20_000, seed=2, conditions={"plan": "premium"})
    assert (premium["plan"] == "premium").all()
    free = model.sample(200_000, seed=3)
    filtered = free[free["plan"] == "premium"]
    edges = np.quantile(free["income"], np.linspace(0, 1, 11)[1:-1])
    shares = [np.bincount(np.searchsorted(edges, f["income"]), minlength=10) / len(f) for f in (premium, filtered)]
    assert np.abs(shares[0] - shares[1]).max() < 0.015  # sampling noise; the marginal would be off by ~0.1
    marginal = np.bincount(np.searchsorted(edges, free["income"]), minlength=10) / len(free)
    assert np.abs(shares[1] - marginal).max() > 0.05  # so the check above has something to find
    # a numeric condition gets its exact value, and the columns below follow it
    low, high = (model.sample(5_000, seed=4, conditions={"income": v}) for v in (28_000.0, 55_000.0))
    assert (low["income"] == 28_000).all() and (high["income"] == 55_000).all()
    assert high["spend"].median() > 1.2 * low["spend"].median()
    # two conditions in different trees (region is alone), and a list of allowed values
    both = model.sample(2_000, seed=5, conditions={"region": "west", "plan": ["basic", "plus"]})
    assert (both["region"] == "west").all() and both["plan"].isin(["basic", "plus"]).all()
    assert both["spend"].median() < free["spend"].median()  # premium (the top 30 % of spend) excluded
    for refused in ({"region": "Atlantis"}, {"income": 10_000_000.0}):  # an unseen category; a number far outside
        with pytest.raises(DataError, match="no such value was seen"):
            model.sample(10, conditions=refused)


def test_same_seed_same_rows_at_any_thread_count(fitted, tmp_path: Path):
    _, model = fitted
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = model.sample(70_000, seed=5)  # more than one chunk
        torch.set_num_threads(2)
        two = model.sample(70_000, seed=5)
    finally:
        torch.set_num_threads(threads)
    pd.testing.assert_frame_equal(one, two)
    model.save(tmp_path / "m")
    pd.testing.assert_frame_equal(Synthesizer.load(tmp_path / "m").sample(500, seed=5), model.sample(500, seed=5))


def test_a_damaged_table_is_refused(tmp_path: Path):
    model = create("bayesnet", seed=0).fit(known_table(300))
    model.tables_[1] = model.tables_[1][:, :-1]  # saved with valid checksums: only the shape is wrong
    model.save(tmp_path / "bad")
    with pytest.raises(ModelFileError, match="table 1"):
        Synthesizer.load(tmp_path / "bad")


def test_pii_tables_drop_rare_categories_and_clip_tails(tmp_path: Path):
    df = known_table(600)
    df["town"] = np.where(np.arange(600) < 5, "Smallville", np.where(np.arange(600) % 2 == 0, "Metropolis", "Gotham"))
    df["email"] = [f"person{i}@example.org" for i in range(len(df))]
    metadata = profile(df)
    metadata.table().column("email").pii = "email"
    model = create("bayesnet", metadata=metadata, seed=0).fit(df)
    out = model.sample(3_000, seed=1)
    assert "Smallville" not in set(out["town"])  # seen 5 times, fewer than PII_RARE_MIN_COUNT
    assert PII_RARE_MIN_COUNT > 5
    assert out["spend"].max() <= df["spend"].quantile(1 - PII_CLIP_QUANTILE) + 0.005  # written at cents
    model.save(tmp_path / "m")
    state = json.dumps(json.loads((tmp_path / "m" / "model.json").read_text())["state"])
    assert "Smallville" not in state and "example.org" not in state


@pytest.mark.parametrize("params, match", [
    ({"smoothing": 0}, "smoothing"), ({"smoothing": True}, "smoothing"), ({"n_bins": 1}, "n_bins"),
    ({"rare_min_count": 0}, "rare_min_count"), ({"clip_quantile": 0.5}, "clip_quantile"),
])
def test_bad_parameters_are_clear_errors(params, match):
    with pytest.raises(ConfigError, match=match):
        create("bayesnet", **params).fit(known_table(100))
