"""The autoregressive token model (``arm``) and its discretizer: round trips, dependence, conditions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.errors import ConfigError, DataError
from synthkit.models import Synthesizer, create
from synthkit.models.arm import NETWORK, SMALL_NETWORK, TINY_NETWORK, ARNet, ARSampler, normal_features, strongly_paired
from synthkit.transform.discretize import CategoricalCodec, Discretizer, NumericCodec


pytestmark = pytest.mark.usefixtures("one_torch_thread")


FAST = {"epochs": 12, "hidden": 32, "embedding_dim": 8, "n_bins": 16, "batch_size": 128, "seed": 0}


@pytest.fixture(scope="module")
def arm(adult_small):
    return create("arm", **FAST).fit(adult_small)


# -- discretizer ---------------------------------------------------------------------------
def test_numeric_codec_keeps_spikes_exact_and_bins_in_range():
    rng = np.random.default_rng(0)
    values = np.where(rng.random(5000) < 0.6, 0.0, rng.lognormal(8, 1, 5000))
    values[rng.random(5000) < 0.05] = np.nan
    codec = NumericCodec.fit("gain", values, n_bins=16)
    assert 0.0 in codec.exact.tolist()
    tokens = codec.encode(values)
    assert (tokens >= 0).all() and tokens.max() < codec.size
    decoded = codec.decode(tokens, rng)
    np.testing.assert_array_equal(np.isnan(decoded), np.isnan(values))
    assert (decoded[values == 0] == 0).all()
    binned = tokens >= len(codec.exact)
    binned &= tokens != codec.missing_token
    b = tokens[binned] - len(codec.exact)
    assert (decoded[binned] >= codec.edges[b]).all() and (decoded[binned] <= codec.edges[b + 1]).all()
    # equal-mass bins: no bin holds more than ~3x its fair share of the continuous part
    counts = np.bincount(b, minlength=codec.n_bins)
    assert counts.max() < 3 * binned.sum() / codec.n_bins


def test_a_heavy_tailed_bin_decodes_as_its_values_spread_not_uniformly():
    """The last bin of a lognormal spans a long tail; its decoded values must keep the real mean and
    spread (a uniform draw put them far out: 0.95 correlations came out 0.70 on bill amounts)."""
    rng = np.random.default_rng(1)
    values = rng.lognormal(10, 1.2, 4000)
    codec = NumericCodec.fit("bill", values, n_bins=16)
    tokens = codec.encode(values)
    decoded = codec.decode(tokens, np.random.default_rng(2))
    top = tokens == tokens.max()
    width = codec.edges[-1] - codec.edges[-2]
    assert abs(decoded[top].mean() - values[top].mean()) < 0.03 * width  # uniform: off by ~0.3 of the width
    assert decoded.std() < 1.25 * values.std()  # uniform: about twice (the tail's last quantiles are linear)
    assert (decoded[top] >= codec.edges[-2]).all() and (decoded[top] <= codec.edges[-1]).all()
    state = json.loads(json.dumps(codec.to_state()))
    old = NumericCodec("bill", state["exact"], state["edges"], state["has_missing"])  # saved before: uniform
    uniform = old.decode(tokens, np.random.default_rng(2))
    assert old.inner is None and abs(uniform[top].mean() - values[top].mean()) > 0.1 * width
    assert uniform.std() > 1.5 * values.std()
    again = NumericCodec.fit("bill", values, n_bins=16)
    loaded = NumericCodec(*(state[k] for k in ("name", "exact", "edges", "has_missing", "inner", "inner_levels")),
                          hazen_ends=state["hazen_ends"])
    np.testing.assert_array_equal(loaded.decode(tokens, np.random.default_rng(3)), again.decode(tokens, np.random.default_rng(3)))


def test_a_sample_reaches_the_training_range_as_often_as_a_real_sample_passes_it():
    """n rows decoded from a codec fitted on n values reach the training maximum (and minimum) in
    about half the samples, as a fresh real sample of n exceeds it half the time; with the outer
    edges at levels 0 and 1 (a codec saved before ``hazen_ends``) the stratified top rows never did.
    A sample of 4n rows holds at most one row at each extreme."""
    values = np.random.default_rng(4).lognormal(10, 1.0, 600)
    codec = NumericCodec.fit("charges", values, n_bins=16)
    state = codec.to_state()
    old = NumericCodec(**{k: v for k, v in state.items() if k not in ("kind", "hazen_ends")})
    assert state["hazen_ends"] and not old.hazen_ends
    tokens = codec.encode(values)
    four_times = np.tile(tokens, 4)
    top, bottom, old_top, top_of_four = [], [], [], []
    for seed in range(1000):
        decoded = codec.decode(tokens, np.random.default_rng(seed))
        top.append(decoded.max() == values.max())
        bottom.append(decoded.min() == values.min())
        old_top.append(old.decode(tokens, np.random.default_rng(seed)).max() == values.max())
        assert values.min() <= decoded.min() and decoded.max() <= values.max()  # never outside the range
        at_max = (codec.decode(four_times, np.random.default_rng(seed)) == values.max()).sum()
        assert at_max <= 1
        top_of_four.append(at_max == 1)
    for share in (top, bottom, top_of_four):
        assert 0.44 < np.mean(share) < 0.56  # binomial sd 0.016
    assert not any(old_top)


def test_few_distinct_values_are_all_exact():
    values = np.array([1.0, 2.0, 2.0, 3.0, 7.0] * 10)
    codec = NumericCodec.fit("x", values, n_bins=16)
    assert codec.n_bins == 0 and codec.exact.tolist() == [1.0, 2.0, 3.0, 7.0]
    np.testing.assert_array_equal(codec.decode(codec.encode(values), np.random.default_rng(0)), values)
    # a condition may name an exact value, not one between them (encode snaps it, for rows)
    assert codec.tokens_for([2.0]).tolist() == [1] and codec.tokens_for([2.5]).tolist() == [-1]


def test_conditions_on_a_binned_number_stay_inside_the_training_range():
    values = np.concatenate([np.zeros(300), np.random.default_rng(5).uniform(10, 20, 700)])
    codec = NumericCodec.fit("x", values, n_bins=8)
    assert codec.exact.tolist() == [0.0] and codec.edges[0] > 10 - 1e-9 and codec.edges[-1] < 20
    assert codec.tokens_for([0.0]).tolist() == [0]  # the spike, below the bins
    assert (codec.tokens_for([15.0]) >= 1).all()
    for outside in (5.0, 25.0, -1.0):
        assert codec.tokens_for([outside]).tolist() == [-1]


def test_rare_categories_resample_or_drop():
    values = pd.Series(["a"] * 50 + ["b"] * 30 + ["c", "d", np.nan] * 2, dtype=object)
    keep = CategoricalCodec.fit("x", values, max_categories=255, rare_min_count=5, rare_strategy="resample")
    assert keep.categories.tolist() == ["a", "b"] and sorted(keep.rare.tolist()) == ["c", "d"]
    decoded = keep.decode(keep.encode(values), np.random.default_rng(0))
    assert set(pd.Series(decoded).dropna()) <= {"a", "b", "c", "d"}
    assert pd.isna(decoded[values.isna().to_numpy()]).all()
    drop = CategoricalCodec.fit("x", values, max_categories=255, rare_min_count=5, rare_strategy="drop")
    state = json.dumps(drop.to_state())
    assert '"c"' not in state and '"d"' not in state  # rare values are never stored
    decoded = drop.decode(drop.encode(values), np.random.default_rng(0))
    assert set(pd.Series(decoded).dropna()) <= {"a", "b"}
    assert len(drop.tokens_for(["c"])) == 1 and drop.tokens_for(["c"])[0] == -1  # not a known value


def test_discretizer_state_round_trips_through_json(adult_small):
    frame = adult_small.copy()
    numeric = [c for c in frame.columns if frame[c].dtype != object]
    d = Discretizer.fit(frame, numeric, n_bins=16)
    again = Discretizer.from_state(json.loads(json.dumps(d.to_state())))
    np.testing.assert_array_equal(d.encode(frame), again.encode(frame))
    assert d.sizes == again.sizes


def test_discretizer_refuses_unseen_values(adult_small):
    d = Discretizer.fit(adult_small[["sex"]], [], n_bins=8)
    with pytest.raises(DataError, match="not seen in training"):
        d.encode(pd.DataFrame({"sex": ["Martian"]}))


# -- network ------------------------------------------------------------------------------
def test_network_is_causal_and_the_sampler_matches_forward():
    torch.manual_seed(0)
    net = ARNet([3, 5, 4], embedding_dim=4, hidden=8, depth=1, dropout=0.0).eval()
    tokens = torch.tensor([[0, 1, 2], [2, 4, 3]])
    base = net(tokens)
    changed = tokens.clone()
    changed[:, 2] = 0  # the last column is nobody's input
    assert torch.allclose(net(changed), base)
    changed[:, 1] = 0  # column 1 feeds column 2 only
    out = net(changed)
    assert torch.allclose(out[:, :2], base[:, :2]) and not torch.allclose(out[:, 2], base[:, 2])
    plan = ARSampler(net)
    ids = plan.ids(len(tokens))
    for j, k in enumerate([3, 5, 4]):
        assert torch.allclose(plan.logits(j, ids), base[:, j, :k], atol=1e-5)
        plan.put(ids, j, tokens[:, j])
    np.testing.assert_array_equal(plan.tokens(ids), tokens.numpy())


def test_the_tree_prior_is_causal_and_the_sampler_matches_forward():
    """With a tree prior each column's logits add its table given its tree parent, an earlier column."""
    torch.manual_seed(0)
    net = ARNet([3, 5, 4], embedding_dim=4, hidden=8, depth=1, dropout=0.0, prior_parents=[-1, 0, 0]).eval()
    rng = np.random.default_rng(0)
    rows = torch.from_numpy(np.stack([rng.integers(0, k, 300) for k in (3, 5, 4)], axis=1))
    net.start_from_tree(rows)
    assert not net.b_out.any()  # the root's table holds its marginal
    shares = np.bincount(rows[:, 0].numpy(), minlength=3) / 300
    np.testing.assert_allclose(net.prior_table[0, :3].exp().numpy(), shares, rtol=1e-5)
    tokens = torch.tensor([[0, 1, 2], [2, 4, 3]])
    base = net(tokens)
    changed = tokens.clone()
    changed[:, 2] = 0
    assert torch.allclose(net(changed), base)  # the last column is nobody's input, nor anybody's parent
    changed[:, 0] = 1  # the tree parent of both later columns
    out = net(changed)
    assert torch.allclose(out[:, 0], base[:, 0]) and not torch.allclose(out[:, 1], base[:, 1])
    plan = ARSampler(net)
    ids = plan.ids(len(tokens))
    for j, k in enumerate([3, 5, 4]):
        assert torch.allclose(plan.logits(j, ids), base[:, j, :k], atol=1e-5)
        plan.put(ids, j, tokens[:, j])
    with pytest.raises(ValueError, match="before it"):
        ARNet([3, 5], embedding_dim=4, hidden=8, depth=0, dropout=0.0, prior_parents=[1, -1])


# -- model --------------------------------------------------------------------------------
def test_learns_dependence_between_columns(arm, adult_small):
    out = arm.sample(2000, seed=0)
    seen = set(zip(adult_small["education"], adult_small["education-num"]))
    consistent = np.mean([pair in seen for pair in zip(out["education"], out["education-num"])])
    assert consistent > 0.85, consistent  # independent columns would give about 1/16
    real = adult_small.groupby("sex")["income"].apply(lambda s: (s == ">50K").mean())
    synth = out.groupby("sex")["income"].apply(lambda s: (s == ">50K").mean())
    assert abs(real["Male"] - synth["Male"]) < 0.08 and abs(real["Female"] - synth["Female"]) < 0.08


def test_sampled_counts_follow_the_models_probabilities_not_chance(adult_small):
    """The first column's counts in 1,000 rows are the model's shares to within a row or two (its
    uniforms are stratified); independent draws miss them by ~√(n p (1 - p)), 14 rows here."""
    model = create("arm", column_order=["marital-status"], **FAST).fit(adult_small)
    plan = ARSampler(model.net_)
    expected = 1000 * torch.softmax(plan.logits(0, plan.ids(1)), 1)[0].numpy()
    for seed in range(3):
        tokens = model.discretizer_.encode(model.sample(1000, seed=seed)[model.order_])[:, 0]
        counts = np.bincount(tokens, minlength=len(expected))
        assert np.abs(counts - expected).max() <= 2, (counts, expected.round(1))


def test_rows_drawing_one_bin_spread_over_it_evenly():
    """The m rows that drew one bin get one value in each m-th of its inverse CDF, not m chance draws."""
    rng = np.random.default_rng(4)
    codec = NumericCodec("x", [], [0.0, 1.0, 3.0], False)  # no inner quantiles: a uniform inverse CDF per bin
    tokens = np.repeat([0, 1], [40, 200])
    rng.shuffle(tokens)
    decoded = codec.decode(tokens, rng)
    for token, (low, width) in enumerate([(0.0, 1.0), (1.0, 2.0)]):
        values = np.sort(decoded[tokens == token])
        strata = np.floor((values - low) / width * len(values))
        np.testing.assert_array_equal(strata, np.arange(len(values)))


def test_small_tables_get_a_narrower_network_unless_sizes_are_given(adult_small, tmp_path):
    """Under 2,000 rows a wide network memorizes single rows (higher DCR share at equal quality),
    under 1,000 its embeddings too."""
    fast = {k: v for k, v in FAST.items() if k not in ("hidden", "embedding_dim")} | {"epochs": 2, "min_steps": 0}
    small = create("arm", **fast).fit(adult_small.head(500))
    assert small.network_ == TINY_NETWORK and (small.net_.embedding_dim, small.net_.hidden) == TINY_NETWORK
    assert (small.fit_info_["embedding_dim"], small.fit_info_["hidden"]) == TINY_NETWORK
    assert create("arm", **fast).fit(adult_small.head(1_000)).network_ == SMALL_NETWORK
    assert create("arm", **fast).fit(adult_small).network_ == NETWORK  # 2,000 rows
    assert create("arm", **fast, hidden=48, embedding_dim=12).fit(adult_small.head(500)).network_ == (12, 48)
    small.save(tmp_path / "m")
    loaded = Synthesizer.load(tmp_path / "m")
    assert loaded.network_ == TINY_NETWORK
    pd.testing.assert_frame_equal(loaded.sample(50, seed=1), small.sample(50, seed=1))
    # a file saved before the size depended on the rows holds 16/64 weights and no "network" entry
    old = create("arm", **fast, hidden=NETWORK[1], embedding_dim=NETWORK[0]).fit(adult_small.head(500))
    state, tensors = old._get_state()
    state.pop("network")
    reborn = create("arm", **fast)
    reborn._set_state(state, tensors)
    assert reborn.network_ == NETWORK


def test_only_numbers_in_a_strong_pair_carry_normal_scores():
    rng = np.random.default_rng(0)
    z = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], 2_000)
    frame = pd.DataFrame({"bill": np.exp(8 + z[:, 0]), "next_bill": np.exp(8 + z[:, 1]), "age": rng.integers(18, 80, 2_000),
                          "city": rng.choice(["a", "b"], 2_000)})
    assert strongly_paired(frame, ["bill", "next_bill", "age"]) == ["bill", "next_bill"]
    assert strongly_paired(frame, ["bill", "age"]) == []
    odd = frame.assign(bill=frame["bill"].mask(rng.random(2_000) < 0.2), same=3.0, empty=np.nan,
                       few=np.where(np.arange(2_000) < 20, frame["next_bill"], np.nan))  # 20 rows: too few to judge
    assert strongly_paired(odd, ["bill", "next_bill", "same", "empty", "few"]) == ["bill", "next_bill"]
    bill = NumericCodec("bill", [0.0], [1.0, 2.0, 3.0, 4.0, 5.0], has_missing=True)  # a spike, 4 bins, missing
    age = NumericCodec("age", [], [18.0, 40.0, 80.0], has_missing=False)
    features = normal_features(Discretizer([bill, age, CategoricalCodec("city", ["a", "b"], [], [], False)]), ["bill"])
    assert features.shape == (bill.size + age.size + 2, 2)
    np.testing.assert_allclose(features[:5, 0], [-1.2816, -0.5244, 0.0, 0.5244, 1.2816], atol=1e-4)  # ranks 0-4
    np.testing.assert_allclose(features[:5, 1], features[:5, 0] ** 2 - 1)
    assert not features[5:].any()  # bill's missing token, age (not in a strong pair) and categories: none
    # a fitted codec knows its tokens' shares: a spike holding 80 % of the values sits at the middle
    # of its share (z of 0.4), not at the bottom of 17 ranks (z of 0.5 / 17, about -1.9)
    values = np.where(rng.random(5_000) < 0.8, 0.0, rng.lognormal(8, 1, 5_000))
    spiky = NumericCodec.fit("spiky", values, n_bins=16)
    assert spiky.exact.tolist() == [0.0] and spiky.shares[0] == pytest.approx(0.8, abs=0.02)
    z = normal_features(Discretizer([spiky]), ["spiky"])[:, 0]
    assert z[0] == pytest.approx(-0.25, abs=0.06) and (z[1:] > 0.8).all() and (np.diff(z) > 0).all()
    assert Discretizer.from_state(json.loads(json.dumps(Discretizer([spiky]).to_state()))).codecs[0].shares.tolist() == \
        spiky.shares.tolist()


def test_a_file_saved_before_normal_features_samples_as_before(adult_small):
    """Files saved before normal features have no "normal_columns" and no weights for them."""
    model = create("arm", **{**FAST, "epochs": 2, "tree_prior": False}).fit(adult_small.head(500))
    assert model.normal_columns_ == [] and model.fit_info_["normal_features"] == []  # Adult: no strong pair
    state, tensors = model._get_state()
    state.pop("normal_columns")
    state.pop("prior_parents")  # nor a tree prior
    tensors = {k: v for k, v in tensors.items() if k not in ("normal_proj", "out_normal_proj")}
    before = model.sample(300, seed=4)
    model._set_state(json.loads(json.dumps(state)), tensors)
    assert not model.net_.normal_proj.any() and not model.net_.out_normal_proj.any()
    pd.testing.assert_frame_equal(model.sample(300, seed=4), before)


def test_native_conditions_on_categories_and_numbers(arm, adult_small):
    rich = arm.sample(400, seed=1, conditions={"income": ">50K"})
    assert (rich["income"] == ">50K").all()
    # the condition shifts the other columns the way the data does (rich rows are older, more male)
    assert rich["age"].mean() > adult_small["age"].mean() + 2
    assert (rich["sex"] == "Male").mean() > (adult_small["sex"] == "Male").mean()
    ages = arm.sample(300, seed=2, conditions={"age": [30, 40], "sex": "Female"})
    assert set(ages["age"]) <= {30, 40} and (ages["sex"] == "Female").all()
    for refused in ({"sex": "Martian"}, {"age": 500}, {"age": 16}):  # unseen; ages outside the training range
        with pytest.raises(DataError, match="no such value"):
            arm.sample(10, conditions=refused)


def test_conditions_are_exact_for_columns_ordered_first(adult_small):
    model = create("arm", **{**FAST, "column_order": ["income"]}).fit(adult_small)
    assert model.order_[0] == "income"
    out = model.sample(1500, seed=3, conditions={"income": "<=50K"})
    real = adult_small[adult_small["income"] == "<=50K"]
    assert abs((out["sex"] == "Male").mean() - (real["sex"] == "Male").mean()) < 0.07


def test_log_likelihood_prefers_real_rows(arm, adult_small):
    real = arm.log_likelihood(adult_small.iloc[:300])
    shuffled = adult_small.iloc[:300].copy()
    rng = np.random.default_rng(0)
    for col in shuffled.columns:
        shuffled[col] = shuffled[col].to_numpy()[rng.permutation(len(shuffled))]
    assert real.shape == (300,) and np.isfinite(real).all()
    assert real.mean() > arm.log_likelihood(shuffled).mean() + 1.0


@pytest.mark.parametrize("bad", [{"hidden": 0}, {"dropout": 1.5}, {"column_order": ["nope"]}, {"n_bins": 1},
                                 {"rare_strategy": "keep"}])
def test_bad_parameters_are_clear_errors(bad, adult_small):
    with pytest.raises(ConfigError):
        create("arm", **{**FAST, "epochs": 1, **bad}).fit(adult_small.iloc[:100])
