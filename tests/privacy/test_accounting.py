"""Accounting: zCDP conversions, our ε against opacus' RDP accountant, the budget stop."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from synthkit.errors import ConfigError, ModelError
from synthkit.privacy import (
    PrivacyLedger,
    cdp_eps,
    cdp_rho,
    default_delta,
    describe_guarantee,
    mia_auc_bound,
    rdp_epsilon,
)

opacus = pytest.importorskip("opacus", reason="opacus is in the optional dp extra")


@pytest.mark.parametrize("eps, delta", [(0.5, 1e-6), (3.0, 1e-5), (10.0, 1e-7)])
def test_zcdp_conversion_round_trips(eps, delta):
    rho = cdp_rho(eps, delta)
    assert 0 < rho < eps
    assert cdp_eps(rho, delta) == pytest.approx(eps, rel=1e-6)
    # the tight conversion beats the classic ρ + 2√(ρ log 1/δ) bound
    assert cdp_eps(rho, delta) < rho + 2 * math.sqrt(rho * math.log(1 / delta))


def test_default_delta_is_below_one_over_n():
    assert default_delta(100) == 1e-5
    assert default_delta(1_000_000) == pytest.approx(1_000_000 ** -1.1)
    assert default_delta(1_000_000) < 1 / 1_000_000
    with pytest.raises(ConfigError):
        default_delta(0)


@pytest.mark.parametrize("history", [[(1.1, 0.01, 1000)], [(0.7, 0.2, 37), (2.0, 0.05, 500)]])
def test_sgd_epsilon_equals_opacus_rdp_accountant(history):
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    for sigma, q, steps in history:
        for _ in range(steps):
            acc.step(noise_multiplier=sigma, sample_rate=q)
    ledger = PrivacyLedger(epsilon=100.0, delta=1e-5)
    for sigma, q, steps in history:
        for _ in range(steps):
            ledger.sgd_step(sigma, q)
    assert ledger.sgd_history == acc.history
    assert abs(ledger.epsilon_spent() - acc.get_epsilon(delta=1e-5)) < 1e-6
    assert abs(rdp_epsilon(history, 1e-5)[0] - acc.get_epsilon(delta=1e-5)) < 1e-6


def test_ledger_adds_zcdp_as_rdp_and_spends_more():
    ledger = PrivacyLedger(epsilon=5.0, delta=1e-5)
    ledger.sgd_step(1.0, 0.01)
    base = ledger.epsilon_spent()
    ledger.charge_rho(0.01, "histograms")
    assert ledger.epsilon_spent() > base
    only_rho = PrivacyLedger(epsilon=5.0, delta=1e-5)
    only_rho.charge_rho(0.05, "histograms")
    # without DP-SGD steps the tight zCDP conversion is used; RDP over opacus' orders is close but looser
    assert only_rho.epsilon_spent() == pytest.approx(cdp_eps(0.05, 1e-5))
    assert rdp_epsilon([], 1e-5, rho=0.05)[0] >= only_rho.epsilon_spent() - 1e-9


def test_dpsgd_step_refuses_to_exceed_the_budget():
    from synthkit.privacy.dpsgd import DPSGD, max_steps_within

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    ledger = PrivacyLedger(epsilon=1.0, delta=1e-5)
    allowed = max_steps_within(ledger, 2.0, 0.05, 10_000)
    assert 0 < allowed < 10_000
    sgd = DPSGD(net, torch.optim.SGD(net.parameters(), lr=0.1), ledger, 2.0, 1.0, 0.05, 8, seed=0)
    x = torch.randn(8, 3)
    for _ in range(allowed):
        sgd.step(sgd.module(x).pow(2).sum(dim=1))
    assert ledger.sgd_steps == allowed
    assert ledger.epsilon_spent() <= 1.0
    with pytest.raises(ModelError, match="refused"):
        sgd.step(sgd.module(x).pow(2).sum(dim=1))
    assert ledger.sgd_steps == allowed  # the refused step was not taken


def test_train_dp_sgd_stops_at_the_budget_and_calls_the_generator_hook():
    from opacus.accountants import RDPAccountant

    from synthkit.privacy.dpsgd import train_dp_sgd

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    x = torch.randn(200, 3)
    ledger = PrivacyLedger(epsilon=1.0, delta=1e-5)
    hook_calls = []
    run = train_dp_sgd(net, torch.optim.SGD(net.parameters(), lr=0.1), ledger,
                       lambda module, rows: module(x[rows]).pow(2).sum(dim=1), n_rows=200, batch_size=20, epochs=100,
                       max_grad_norm=1.0, noise_multiplier=2.0, seed=0, rng=np.random.default_rng(0),
                       after_step=lambda: hook_calls.append(1))
    assert run.stop_reason == "budget" and 0 < run.steps < run.planned_steps == 1000
    assert ledger.sgd_steps == run.steps and len(hook_calls) == len(run.losses) <= run.steps
    acc = RDPAccountant()
    acc.history = [(2.0, 0.1, run.steps)]
    assert ledger.epsilon_spent() == pytest.approx(acc.get_epsilon(delta=1e-5), abs=1e-6) and ledger.epsilon_spent() <= 1.0
    acc.history = [(2.0, 0.1, run.steps + 1)]
    assert acc.get_epsilon(delta=1e-5) > 1.0


def test_describe_guarantee_in_words():
    g = {"epsilon": 3.0, "delta": 1e-6, "mechanism": "dp-sgd", "accountant": "RDP", "epsilon_spent": 2.99}
    text = describe_guarantee(g)
    assert text.startswith("(3, 1e-6)-differential privacy: ")
    assert "DP-SGD" in text and "2.99" in text and "RDP accountant" in text
    assert "No formal differential-privacy guarantee" in describe_guarantee(None)
    mst = describe_guarantee({"epsilon": 1.0, "delta": 1e-5, "mechanism": "mst", "accountant": "zCDP", "epsilon_spent": 1.0})
    assert mst.startswith("(1, 1e-5)-differential privacy") and "marginals" in mst


def test_dp_sgd_models_are_unavailable_not_broken_without_opacus():
    code = ("import sys; sys.modules['opacus'] = None\n"
            "from synthkit.models import get\n"
            "assert get('dp-marginals').name == 'dp-marginals'\n"
            "from synthkit.errors import ConfigError\n"
            "try:\n    get('dp-vae')\nexcept ConfigError as e:\n    print('ok', e)\n"
            "from synthkit.datasets import load\nfrom synthkit.models import create\n"
            "create('vae', epochs=1).fit(load('adult')[0].iloc[:50])\n"  # the plain vae works without opacus
            "try:\n    create('vae', epsilon=1.0, epochs=1).fit(load('adult')[0].iloc[:50])\n"
            "except ConfigError as e:\n    assert 'opacus' in str(e), e\n    print('ok vae')\n")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok") and "ok vae" in out.stdout


def test_noise_calibration_meets_the_target():
    from synthkit.privacy.dpsgd import calibrate_noise

    sigma = calibrate_noise(2.0, 1e-5, 0.02, 2000, rho=0.001)
    spent = rdp_epsilon([(sigma, 0.02, 2000)], 1e-5, rho=0.001)[0]
    assert spent <= 2.0
    assert spent > 1.9  # not wastefully noisy
    assert np.isfinite(sigma)


def test_mia_auc_bound_puts_epsilon_on_the_attack_scale():
    assert mia_auc_bound(1e-9, 0.0) == pytest.approx(0.5, abs=1e-6)
    # ε = 1, δ = 0: TPR ≤ min(e·x, 1 − (1 − x)/e), area = 0.731 (closed form)
    x0 = (1 - math.exp(-1)) / (math.e - math.exp(-1))
    closed = math.e * x0**2 / 2 + (1 - x0) - (1 - x0) ** 2 / (2 * math.e)
    assert mia_auc_bound(1.0, 0.0) == pytest.approx(closed, abs=1e-6)
    bounds = [mia_auc_bound(e, 1e-5) for e in (0.1, 1, 3, 10)]
    assert bounds == sorted(bounds) and bounds[-1] <= 1.0
    assert "AUC above 0.731" in describe_guarantee({"epsilon": 1.0, "delta": 1e-9, "mechanism": "mst"})
