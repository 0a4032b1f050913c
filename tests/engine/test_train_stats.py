"""Encoders fitted from merged per-partition statistics equal the in-memory ones (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.engine.recipe_choice import recipe_for
from synthkit.engine.train_recipes import table_encoder_from_stats
from synthkit.engine.train_stats import EncoderStats, sketch_model_frame
from synthkit.errors import ConfigError
from synthkit.models.arm import (ARNet, AutoregressiveSynthesizer, normal_columns, normal_features, ordinal_features,
                                 small_table_schedule, tree_order)
from synthkit.models.copula import GaussianCopula
from synthkit.models.vae import TabularVAE
from synthkit.profile import profile
from synthkit.profile.sketch import MAX_NUMERIC_VALUES, TableSketch
from synthkit.transform.discretize import Discretizer
from synthkit.transform.schema import TableSchema
from synthkit.transform.table import TableEncoder


@pytest.fixture(scope="module")
def frame_and_stats(adult_small: pd.DataFrame) -> tuple[pd.DataFrame, TableSchema, EncoderStats]:
    meta = profile(adult_small)
    schema = TableSchema.fit(adult_small, meta.table())
    frame = schema.to_model_frame(adult_small)
    parts = [sketch_model_frame(frame.iloc[i::3].reset_index(drop=True), seed=0) for i in range(3)]
    return frame, schema, EncoderStats(TableSketch.merge_all(parts), schema.numerical_names)


def test_arm_discretizer_from_merged_statistics_equals_in_memory(frame_and_stats) -> None:
    frame, schema, stats = frame_and_stats
    model = AutoregressiveSynthesizer(n_bins=16)
    model.schema_ = schema
    recipe_for(model).prepare(stats)
    expected = Discretizer.fit(frame[model.order_], schema.numerical_names, n_bins=16, rare_strategy="drop")
    got = model.discretizer_
    for want, have in zip(expected.codecs, got.codecs):
        if want.kind == "categorical":  # exact counts: identical codecs
            assert have.to_state() == want.to_state()
        elif len(np.unique(frame[want.name].dropna())) <= MAX_NUMERIC_VALUES:  # exact value counts: identical bins
            np.testing.assert_allclose(have.edges, want.edges)
            np.testing.assert_array_equal(have.exact, want.exact)
        else:  # many distinct values: quantile edges from the sketch within its stated rank error
            values = np.sort(frame[want.name].dropna().to_numpy())
            ranks = np.searchsorted(values, have.edges[1:-1]) / len(values)
            bound = 2 * stats.sketch.rank_error_share + 2 / len(values)
            assert np.max(np.abs(ranks - np.searchsorted(values, want.edges[1:-1]) / len(values))) <= bound
    np.testing.assert_array_equal(got.encode(frame[model.order_]).shape, (len(frame), len(model.order_)))


def test_table_encoder_from_merged_statistics_has_the_in_memory_layout(frame_and_stats) -> None:
    frame, schema, stats = frame_and_stats
    model = TabularVAE(rare_min_count=5)
    model.schema_ = schema
    encoder = table_encoder_from_stats(model, stats)
    expected = TableEncoder(rare_min_count=5).fit(frame, schema.numerical_names, schema.categorical_names)
    for want, have in zip(expected.categorical_encoders, encoder.categorical_encoders):
        assert have.to_state() == want.to_state()  # categories, counts, rare grouping: exact
    for want, have in zip(expected.numeric_encoders, encoder.numeric_encoders):
        assert (have.low, have.high, have.integer, have.nullable) == (want.low, want.high, want.integer, want.nullable)


def test_models_without_a_recipe_are_refused_clearly() -> None:
    with pytest.raises(ConfigError, match="cannot be trained on Ray"):
        recipe_for(GaussianCopula())



def test_arm_net_from_merged_statistics_has_the_ordinal_features_a_reload_rebuilds(frame_and_stats) -> None:
    """A saved arm rebuilds its net with the discretizer's ordinal features; the engine-built net must
    train with the same ones, or a reloaded model adds its untrained (random) projections."""
    frame, schema, stats = frame_and_stats
    model = AutoregressiveSynthesizer(n_bins=16)
    model.schema_ = schema
    recipe_for(model).prepare(stats)
    expected = torch.as_tensor(ordinal_features(model.discretizer_), dtype=torch.float32)
    assert expected.abs().sum() > 0 and torch.equal(model.net_.ordinal, expected)
    rebuilt = ARNet(model.discretizer_.sizes, *model.network_, model.depth, model.dropout,
                    ordinal_features(model.discretizer_))
    rebuilt.load_state_dict(model.net_.state_dict())
    tokens = torch.from_numpy(model.discretizer_.encode(frame[model.order_].iloc[:50]))
    model.net_.eval()
    rebuilt.eval()
    assert torch.equal(rebuilt(tokens), model.net_(tokens))


def test_arm_net_from_merged_statistics_starts_at_the_token_shares(frame_and_stats) -> None:
    """The engine-built net's output biases start where the in-memory fit starts them: at each column's
    log token shares (exact counts for categories, the sketch's representative values for numbers)."""
    frame, schema, stats = frame_and_stats
    model = AutoregressiveSynthesizer(n_bins=16)
    model.schema_ = schema
    recipe_for(model).prepare(stats)
    in_memory = ARNet(model.discretizer_.sizes, 16, 64, 0, 0.0)
    in_memory.start_from_marginals(torch.from_numpy(model.discretizer_.encode(frame[model.order_])))
    for j, codec in enumerate(model.discretizer_.codecs):
        want = torch.softmax(in_memory.b_out[j, :codec.size].double(), 0)
        have = torch.softmax(model.net_.b_out[j, :codec.size].double(), 0)
        tolerance = 1e-6 if codec.kind == "categorical" else 0.005  # exact counts / representative values (fnlwgt: 0.0004)
        assert torch.max(torch.abs(have - want)) <= tolerance, codec.name


def test_arm_net_from_merged_statistics_finds_the_strong_pairs_of_the_in_memory_fit(shared_datasets: Path) -> None:
    """default-credit-card (30,000 rows): its bills, payment delays and payments pair strongly (rank
    correlations 0.55-0.91). A Ray fit finds them on the merged sketch's row sample (20,000 of the
    rows, the same at any batching), as the in-memory fit does on its own 20,000-row sample, and builds
    its net with their normal-score features, which a reload rebuilds from the saved column list."""
    data = pd.read_csv(shared_datasets / "default-credit-card" / "default_of_credit_card_clients.csv.gz").drop(columns=["ID"])
    schema = TableSchema.fit(data, profile(data).table())
    frame = schema.to_model_frame(data)
    parts = [sketch_model_frame(frame.iloc[i::3].reset_index(drop=True), seed=0) for i in range(3)]
    stats = EncoderStats(TableSketch.merge_all(parts), schema.numerical_names)
    model = AutoregressiveSynthesizer(n_bins=16)
    model.schema_ = schema
    recipe_for(model).prepare(stats)
    in_memory = normal_columns(frame, schema.numerical_names, len(frame))
    assert len(stats.sketch.sample) == 20_000 < len(frame)
    assert {f"X{k}" for k in range(12, 18)} <= set(in_memory)  # the six monthly bills
    assert model.normal_columns_ == in_memory
    expected = torch.as_tensor(normal_features(model.discretizer_, in_memory), dtype=torch.float32)
    assert torch.count_nonzero(expected) > 0 and torch.equal(model.net_.normal, expected)
    # a small table gets none, on a cluster as in memory
    small = AutoregressiveSynthesizer(n_bins=16)
    small.schema_ = schema
    head = frame.head(1_500)
    recipe_for(small).prepare(EncoderStats(TableSketch.merge_all([sketch_model_frame(head, seed=0)]), schema.numerical_names))
    assert small.normal_columns_ == [] == normal_columns(head, schema.numerical_names, len(head))


@pytest.mark.parametrize("n_train", [540, 1_800, 200_000])
def test_arm_trains_on_ray_with_the_in_memory_schedule(n_train: int) -> None:
    """arm's default ``epochs=None`` becomes the in-memory epoch cap (Ray's workers need a number: it
    used to fail there), with the batch and learning rate the in-memory fit uses for that many rows."""
    model = AutoregressiveSynthesizer()
    recipe = recipe_for(model)
    batch, epochs = recipe.schedule(n_train)
    want_batch, want_rate, want_epochs = small_table_schedule(n_train, model.batch_size, model.learning_rate, None, model.min_steps)
    assert (batch, epochs, recipe.learning_rate, recipe.min_steps) == (want_batch, want_epochs, want_rate, model.min_steps)
    assert isinstance(epochs, int) and epochs * (n_train // batch) >= model.min_steps
    assert (batch < model.batch_size) == (n_train < 16 * model.batch_size)  # only small tables get smaller batches
    with pytest.raises(ConfigError, match="needs a number of epochs"):
        recipe_for(TabularVAE(epochs=None)).schedule(n_train)


def test_arm_on_ray_judges_and_returns_the_in_memory_weight_average(frame_and_stats) -> None:
    """Workers step the network and keep the in-memory fit's moving average of its weights (the first
    step's weights, then ``decay`` of the average plus the rest of the new weights); the average is what
    is validated and what the fitted model gets."""
    frame, schema, stats = frame_and_stats
    model = AutoregressiveSynthesizer(n_bins=16, batch_size=256)
    model.schema_ = schema
    recipe = recipe_for(model)
    recipe.prepare(stats)
    batch, _ = recipe.schedule(len(frame))
    assert recipe.decay == pytest.approx(1 - batch / len(frame))  # about one epoch of steps, as in process
    net, average = model.net_, recipe.weights()["net"]
    assert average is not net and recipe.loss_module().net is net and set(recipe.trained().values()) == {net, average}
    with torch.no_grad():
        first = [p.add_(1.0).clone() for p in net.parameters()]
        recipe.after_step(0)
        assert all(torch.equal(a, p) for a, p in zip(average.parameters(), first))
        second = [p.add_(2.0).clone() for p in net.parameters()]
        recipe.after_step(1)
    for a, p1, p2 in zip(average.parameters(), first, second):
        torch.testing.assert_close(a, recipe.decay * p1 + (1 - recipe.decay) * p2)
    tokens = torch.from_numpy(model.discretizer_.encode(frame[model.order_].iloc[:64]))
    average.eval()  # as the loop's validation pass sets it (no dropout)
    assert recipe.val_loss(recipe.loss_module(), tokens) == pytest.approx(float(average.loss(tokens)))
    recipe.finish({"epochs": [], "preprocess_seconds": 0.0, "seconds": 0.0, "stop_reason": "epochs", "best_epoch": None,
                   "workers": 1, "rows_per_second": 0.0, "steps": 2, "batch_size": 256})
    assert all(torch.equal(n, a) for n, a in zip(model.net_.state_dict().values(), average.state_dict().values()))
    assert model.fit_info_["weight_average_decay"] == recipe.decay


def test_arm_tree_prior_from_merged_statistics_is_the_one_of_every_row(frame_and_stats) -> None:
    """A table under 20,000 rows is all in the sketch's row sample: the recipe's tree (order, parents)
    and its tables are those of the whole frame on the recipe's own codecs, as in memory."""
    frame, schema, stats = frame_and_stats
    model = AutoregressiveSynthesizer(n_bins=16, tree_prior=True)
    model.schema_ = schema
    recipe_for(model).prepare(stats)
    codecs = Discretizer([model.discretizer_.codec(c) for c in frame.columns])
    order, parents = tree_order(codecs, frame, [])
    assert model.order_ == order and model.net_.prior_parents == parents and any(p >= 0 for p in parents)
    expected = ARNet(model.discretizer_.sizes, 8, 32, 0, 0.0, prior_parents=parents)
    expected.start_from_tree(torch.from_numpy(model.discretizer_.encode(frame[order])))
    torch.testing.assert_close(model.net_.prior_table, expected.prior_table)
    assert not model.net_.b_out.any()
