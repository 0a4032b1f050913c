"""The normalizing flow: invertibility, exact log-determinants, calibrated log-likelihoods, round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthkit.models import create
from synthkit.models.flow import GaussianizedColumns, RealNVP, _SamplingFlow


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _perturbed(dim: int) -> RealNVP:
    torch.manual_seed(0)
    flow = RealNVP(dim, n_layers=4, hidden=16, seed=0)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))  # away from the identity initialisation
    return flow


def test_inverse_undoes_forward():
    flow = _perturbed(5)
    x = torch.randn(64, 5, dtype=torch.float64)
    flow = flow.double()
    z = x
    for layer in flow.layers:
        z, _ = layer(z)
    back = z
    for layer in reversed(flow.layers):
        back = layer.inverse(back)
    assert torch.allclose(back, x, atol=1e-9)


def test_log_determinant_matches_autograd_jacobian():
    flow = _perturbed(4).double()
    x = torch.randn(4, dtype=torch.float64)

    def forward(v: torch.Tensor) -> torch.Tensor:
        z = v[None]
        for layer in flow.layers:
            z, _ = layer(z)
        return z[0]

    jac = torch.autograd.functional.jacobian(forward, x)
    total = torch.zeros(1, dtype=torch.float64)
    z = x[None]
    for layer in flow.layers:
        z, logdet = layer(z)
        total += logdet
    assert torch.allclose(total, torch.linalg.slogdet(jac).logabsdet, atol=1e-8)


def test_gradients_reach_every_parameter():
    flow = _perturbed(3)
    flow.loss(torch.randn(32, 3)).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in flow.parameters())


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_sampling_flow_is_the_flows_inverse(dtype):
    flow = _perturbed(5).eval()
    expected = flow.sample(2000, torch.Generator().manual_seed(3))
    got = _SamplingFlow(flow, dtype).sample(2000, torch.Generator().manual_seed(3))
    if dtype == torch.float32:
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    else:  # bfloat16 products: small against the spread of the draws, in the mean and at the 99th percentile
        error, spread = (got - expected).abs().flatten(), float(expected.std())
        assert float(error.mean()) < 0.01 * spread and float(torch.quantile(error, 0.99)) < 0.05 * spread


def test_numeric_decoding_interpolates_the_quantile_grid():
    grid = [0.0, 1.0, 1.0, 5.0, 10.0]
    cols = GaussianizedColumns([{"column": "x", "type": "numerical", "p_missing": 0.2, "grid": grid},
                                {"column": "one", "type": "numerical", "p_missing": 0.0, "grid": [7.0]},
                                {"column": "c", "type": "categorical", "categories": ["a", "__synthkit_missing__", "b"],
                                 "probs": [0.5, 0.2, 0.3]}])
    u = np.random.default_rng(0).random((1000, 3))
    back = cols.decode(u)
    inner = np.clip((u[:, 0] - 0.2) / 0.8, 0, 1)
    expected = np.where(u[:, 0] < 0.2, np.nan, np.interp(inner, np.linspace(0, 1, len(grid)), grid))
    np.testing.assert_allclose(back["x"].to_numpy(), expected, rtol=1e-12)
    assert (back["one"] == 7.0).all()
    expected_c = np.where(u[:, 2] < 0.5, "a", np.where(u[:, 2] < 0.7, None, "b"))
    assert back["c"].isna().tolist() == [e is None for e in expected_c]
    assert (back["c"].dropna() == expected_c[expected_c != None]).all()  # noqa: E711


def test_gaussianized_columns_decode_what_they_encode(adult_small):
    frame = adult_small[["age", "capital-gain", "sex", "workclass"]].copy()
    frame["age"] = frame["age"].astype(float)
    frame.loc[::7, "age"] = np.nan
    frame["capital-gain"] = frame["capital-gain"].astype(float)
    cols = GaussianizedColumns.fit(frame, ["age", "capital-gain"], n_quantiles=201)
    u, log_jac = cols.encode(frame, np.random.default_rng(0))
    assert ((u >= 0) & (u <= 1)).all() and np.isfinite(log_jac).all()
    back = cols.decode(u)
    pd.testing.assert_series_equal(back["sex"], frame["sex"].astype(object), check_names=False)
    pd.testing.assert_series_equal(back["workclass"].isna(), frame["workclass"].isna(), check_names=False)
    assert (back["workclass"].dropna() == frame["workclass"].dropna()).all()
    np.testing.assert_array_equal(np.isnan(back["age"]), np.isnan(frame["age"]))
    assert (back.loc[frame["capital-gain"] == 0, "capital-gain"] == 0).all()  # a point mass stays exact
    present = frame["age"].notna()
    assert np.abs(back.loc[present, "age"] - frame.loc[present, "age"]).max() < 1.0


def test_log_prob_is_a_calibrated_density():
    """On continuous data with a known density, the mean log-likelihood is close to the truth."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4000)
    y = x + 0.5 * rng.standard_normal(4000)
    data = pd.DataFrame({"x": x, "y": y})
    model = create("flow", epochs=40, n_layers=4, hidden=32, n_quantiles=201, batch_size=256, seed=0).fit(data)
    true = -np.log(2 * np.pi) - np.log(0.5) - 0.5 * (x**2 + ((y - x) / 0.5) ** 2)
    got = model.log_prob(data)
    assert got.shape == (4000,) and np.isfinite(got).all()
    assert abs(got.mean() - true.mean()) < 0.25, (got.mean(), true.mean())
    # an independent model of the same marginals would lose log(1/sqrt(1 - rho^2)) ~ 0.8 nats
    rho = np.corrcoef(x, y)[0, 1]
    assert got.mean() > true.mean() + 0.5 * np.log(1 - rho**2) + 0.3
    out = model.sample(4000, seed=0)
    assert abs(np.corrcoef(out["x"], out["y"])[0, 1] - rho) < 0.1


def test_log_prob_prefers_real_mixed_rows(adult_small):
    model = create("flow", epochs=25, n_layers=4, hidden=32, n_quantiles=201, seed=0).fit(adult_small)
    rows = adult_small.iloc[:300]
    shuffled = rows.copy()
    rng = np.random.default_rng(0)
    for col in shuffled.columns:
        shuffled[col] = shuffled[col].to_numpy()[rng.permutation(len(shuffled))]
    real = model.log_prob(rows, n_samples=2)
    assert np.isfinite(real).all()
    assert real.mean() > model.log_prob(shuffled, n_samples=2).mean() + 0.5
