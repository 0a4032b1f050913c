"""gan: vectorized training-by-sampling, span activations, budgets, privacy defaults, learning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.errors import ConfigError
from synthkit.models import Synthesizer, create
from synthkit.models.condvec import CondSampler
from synthkit.models.gan import Critic, Generator, SamplingGenerator, _Dropout
from synthkit.models.nn_base import PII_CLIP_QUANTILE, PII_RARE_MIN_COUNT, SpanLayout
from synthkit.profile import profile
from synthkit.transform import Span

FAST = {"epochs": 2, "batch_size": 200, "embedding_dim": 16, "generator_dims": (32, 32), "critic_dims": (32, 32)}
SPANS = [Span("a", 0, 1, "tanh", "value"), Span("a", 1, 3, "softmax", "mode"), Span("b", 4, 4, "softmax", "category"),
         Span("c", 8, 2, "softmax", "category")]


def test_span_layout_matches_torch_reference():
    layout = SpanLayout(SPANS)
    logits = torch.randn(64, 10, generator=torch.Generator().manual_seed(0))
    out = layout.activate(logits)
    torch.testing.assert_close(out[:, 0], torch.tanh(logits[:, 0]))
    torch.testing.assert_close(out[:, 4:8], torch.softmax(logits[:, 4:8], dim=1))
    target = torch.zeros(64, 10)
    target[:, 5] = 1.0  # only group "b" has a target: only it is scored
    expected = torch.nn.functional.cross_entropy(logits[:, 4:8], torch.full((64,), 1), reduction="none")
    torch.testing.assert_close(layout.cross_entropy(logits, target), expected)
    per_group = layout.group_cross_entropy(logits, target)
    assert per_group.shape == (64, 3) and torch.all(per_group[:, [0, 2]] == 0)


def test_gumbel_max_codes_are_draws_from_the_softmax():
    layout = SpanLayout(SPANS)
    logits = torch.tensor([[0.0, 0, 0, 0, 2.0, 0.0, -1.0, 0.5, 0, 0]]).repeat(40_000, 1)
    values, codes = layout.draw_codes(logits.clone(), torch.Generator().manual_seed(1))
    np.testing.assert_allclose(values[:, 0], np.tanh(logits[:, 0].numpy()), rtol=1e-6)
    draws = torch.from_numpy(codes[:, 1])  # group "b" (positions 4-7) is the second softmax group
    freq = torch.bincount(draws, minlength=4).float() / len(draws)
    torch.testing.assert_close(freq, torch.softmax(logits[0, 4:8], 0), atol=0.01, rtol=0)


def test_codes_are_each_groups_first_maximum_in_either_layout_even_with_ties():
    layout = SpanLayout(SPANS)
    logits = torch.randn(500, 10, generator=torch.Generator().manual_seed(0))
    logits[:7, 4:8] = 1.5  # exact ties in group "b": the first position wins, as with argmax
    logits[7, 8:10] = float("nan")
    expected = np.stack([logits[:, s.start:s.stop].argmax(dim=1).numpy() for s in SPANS if s.activation == "softmax"], axis=1)
    values, codes = layout.draw_codes(logits.clone(), draw=False)
    np.testing.assert_array_equal(codes, expected)
    assert codes[:7, 1].tolist() == [0] * 7
    np.testing.assert_allclose(values[:, 0], np.tanh(logits[:, 0].numpy()), rtol=1e-6)
    _, codes_t = layout.draw_codes(logits.t().contiguous(), draw=False, transposed=True)
    np.testing.assert_array_equal(codes_t, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_sampling_generator_is_the_eval_generator(dtype):
    """Folded batch norm and the in-place buffer compute the same function (odd widths: bf16 once gave NaN there)."""
    torch.manual_seed(0)
    generator = Generator(113, (32, 48), 37)
    generator.train()
    for _ in range(3):  # move the batch-norm statistics away from their initial values
        generator(torch.randn(64, 113) * 3 + 1)
    generator.eval()
    z = torch.randn(1000, 113)
    with torch.no_grad():
        expected = generator(z)
        got = SamplingGenerator(generator, dtype)(z)
    assert got.dtype == torch.float32 and not got.isnan().any()
    tolerance = 1e-5 if dtype == torch.float32 else 0.05 * float(expected.abs().max())
    torch.testing.assert_close(got, expected, atol=tolerance, rtol=0)


def test_training_by_sampling_returns_rows_that_meet_the_condition():
    rng = np.random.default_rng(0)
    codes_b = rng.choice(4, 3000, p=[0.85, 0.1, 0.04, 0.01])
    codes_c = rng.choice(2, 3000)
    matrix = np.zeros((3000, 10), dtype=np.float32)
    matrix[np.arange(3000), 4 + codes_b] = 1
    matrix[np.arange(3000), 8 + codes_c] = 1
    sampler = CondSampler.from_matrix(matrix, [s for s in SPANS if s.role == "category"])
    cond, col, rows = sampler.sample_train(20_000, rng)
    assert sampler.dim == 6 and cond.shape == (20_000, 6) and np.all(cond.sum(axis=1) == 1)
    # every real row carries the category its condition asks for
    np.testing.assert_array_equal(matrix[rows][:, 4:10][cond == 1], 1.0)
    # categories of a column are drawn by log-frequency: the 1 % category far more often than 1 %
    in_b = col == 0
    share_rare = cond[in_b, 3].mean()
    counts = np.bincount(codes_b, minlength=4)
    expected = np.log1p(counts[3]) / np.log1p(counts).sum()
    assert abs(share_rare - expected) < 0.02 and share_rare > 0.1
    original = sampler.sample_original(50_000, rng)
    np.testing.assert_allclose(original.mean(axis=0), sampler.counts / sampler.counts.sum(), atol=0.01)
    assert json.dumps(sampler.to_state())  # counts only: JSON, no row indices


@pytest.fixture(scope="module")
def fitted_gan(adult_small: pd.DataFrame):
    return create("gan", seed=3, **FAST).fit(adult_small)


def test_history_and_throughput_are_recorded(fitted_gan):
    assert [e["epoch"] for e in fitted_gan.loss_history_] == [1.0, 2.0]
    assert {"loss_g", "loss_d", "penalty", "cond"} <= set(fitted_gan.loss_history_[0])
    assert fitted_gan.stop_reason_ == "epochs" and fitted_gan.training_rows_per_second_ > 0


def test_output_respects_types_bounds_and_categories(fitted_gan, adult_small):
    out = fitted_gan.sample(3000, seed=0)
    for col in ["age", "hours-per-week", "capital-gain"]:
        assert out[col].between(adult_small[col].min(), adult_small[col].max()).all()
        assert (out[col] == out[col].round()).all()
    # conditional vectors make every category of a small column appear
    assert set(out["sex"]) == set(adult_small["sex"]) and set(out["race"]) == set(adult_small["race"])


def test_time_budget_replaces_epochs(adult_small):
    model = create("gan", seed=0, **{**FAST, "epochs": None, "max_minutes": 0.02}).fit(adult_small)
    assert model.stop_reason_ == "time" and len(model.loss_history_) >= 1


@pytest.mark.parametrize("params, match", [
    ({"patience": 3}, "patience"), ({"pac": 0}, "pac"), ({"generator_dims": ()}, "generator_dims"),
    ({"batch_size": 5}, "batch_size"), ({"numeric_encoding": "fft"}, "numeric_encoding"), ({"epochs": 0}, "epochs"),
    ({"rare_strategy": "keep"}, "rare_strategy"), ({"learning_rate": -1}, "learning_rate"),
    ({"train_precision": "half"}, "train_precision"), ({"penalty_every": 0}, "penalty_every"),
])
def test_bad_parameters_are_clear_errors(adult_small, params, match):
    with pytest.raises(ConfigError, match=match):
        create("gan", **{**FAST, **params}).fit(adult_small.iloc[:50])


def test_pii_adjacent_tables_get_rare_and_tail_protection(adult_small, tmp_path: Path):
    df = adult_small.iloc[:600].copy()
    df["email"] = [f"person{i}@example.org" for i in range(len(df))]
    metadata = profile(df)
    metadata.table().column("email").pii = "email"
    counts = df["native-country"].value_counts()
    rare = [c for c in counts.index if counts[c] < PII_RARE_MIN_COUNT]
    assert rare, "the test needs rare countries"
    model = create("gan", metadata=metadata, seed=0, **{**FAST, "epochs": 1}).fit(df)
    assert model.protection() == (PII_RARE_MIN_COUNT, PII_CLIP_QUANTILE)
    out = model.sample(3000, seed=1)
    assert not set(out["native-country"].dropna()) & set(rare)
    assert out["capital-gain"].max() <= df["capital-gain"].quantile(1 - PII_CLIP_QUANTILE)
    model.save(tmp_path / "m")
    state = json.dumps(json.loads((tmp_path / "m" / "model.json").read_text())["state"])
    assert not [c for c in rare if f'"{c}"' in state], "rare categories must not be stored in the model state"
    # without PII the defaults keep every category
    plain = create("gan", seed=0, **{**FAST, "epochs": 1}).fit(df.drop(columns="email"))
    assert plain.protection() == (1, 0.0)


def test_loaded_model_keeps_history(fitted_gan, tmp_path: Path):
    fitted_gan.save(tmp_path / "g")
    loaded = Synthesizer.load(tmp_path / "g")
    assert loaded.loss_history_ == fitted_gan.loss_history_


def test_one_pass_critic_loss_equals_separate_passes():
    """The stacked fake/real/interpolate pass gives CTGAN's loss and penalty exactly."""
    torch.manual_seed(0)
    critic = Critic(6, (16, 16), pac=4).eval()  # eval: no dropout, so passes are comparable
    real, fake = torch.randn(40, 6), torch.randn(40, 6)
    torch.manual_seed(1)
    loss, penalty = critic.wgan_gp_loss(real, fake)
    torch.manual_seed(1)  # the same interpolation weights
    alpha = torch.rand(10, 1, 1).expand(10, 4, 6).reshape(-1, 6)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    grads = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)[0]
    expected_penalty = 10.0 * ((grads.reshape(-1, 24).norm(2, dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(loss, critic(fake).mean() - critic(real).mean())
    torch.testing.assert_close(penalty, expected_penalty)
    # lazy regularization: between penalty steps the pass has no interpolates and no penalty
    lazy_loss, none = critic.wgan_gp_loss(real, fake, weight=0.0)
    torch.testing.assert_close(lazy_loss, loss)
    assert none.item() == 0.0


def test_fast_dropout_keeps_the_expected_value():
    layer = _Dropout(0.5).train()
    torch.manual_seed(0)
    out = layer(torch.ones(200, 500))
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert abs(out.mean().item() - 1.0) < 0.01
    assert torch.equal(layer.eval()(torch.ones(3, 3)), torch.ones(3, 3))


@pytest.mark.integration
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_learns_adult_marginals(adult_small, precision):
    model = create("gan", seed=0, epochs=12, batch_size=250, embedding_dim=32, generator_dims=(64, 64),
                   critic_dims=(64, 64), train_precision=precision).fit(adult_small)
    out = model.sample(4000, seed=0)
    # this small 12-epoch model's own error on relationship is ~0.15 (estimated on 100k rows), so the
    # bound leaves room for sampling noise; frequencies not learned (uniform) would be ~0.35 away
    for col in ["sex", "income", "relationship"]:
        real = adult_small[col].value_counts(normalize=True)
        fake = out[col].value_counts(normalize=True).reindex(real.index, fill_value=0)
        assert 0.5 * (real - fake).abs().sum() < 0.2, col


def test_bfloat16_sampling_agrees_with_float32(fitted_gan):
    fitted_gan.sample_precision = "float32"
    exact = fitted_gan.sample(2000, seed=4)
    fitted_gan.sample_precision = "bfloat16"
    try:
        fast = fitted_gan.sample(2000, seed=4)
    finally:
        fitted_gan.sample_precision = "auto"
    # same noise, logits within bf16 rounding: the same distribution, most rows identical
    for col in ["sex", "workclass", "income"]:
        a, b = exact[col].value_counts(normalize=True), fast[col].value_counts(normalize=True)
        assert 0.5 * a.subtract(b, fill_value=0).abs().sum() < 0.05, col
    assert (fast["sex"] == exact["sex"]).mean() > 0.9
    assert abs(fast["age"].median() - exact["age"].median()) <= 2
