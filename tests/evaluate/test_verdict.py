"""The privacy verdict's membership rule: fail needs evidence, a high estimate on few rows only warns."""

from __future__ import annotations

import pytest

from synthkit.evaluate.verdict import privacy_verdict


@pytest.mark.parametrize("auc, ci, verdict, words", [
    (0.71, [0.62, 0.80], "fail", "95% CI from 0.62"),  # clear: even the low end shows a signal
    (0.71, [0.53, 0.89], "warn", "95% CI from 0.53"),  # above 0.5 but not clearly above 0.55
    (0.71, [0.45, 0.97], "warn", "too few rows"),       # 15 vs 15 entities: could be noise, said so
    (0.57, [0.52, 0.62], "warn", "AUC 0.57"),
    (0.57, [0.48, 0.66], "pass", "no measure"),
    (0.50, [0.47, 0.53], "pass", "no measure"),
])
def test_membership_rule(auc, ci, verdict, words):
    got, reasons, score = privacy_verdict({"membership_inference_auc": auc, "membership_inference_auc_ci": ci})
    assert got == verdict and any(words in r for r in reasons), reasons
    assert score == pytest.approx(1 - (auc - 0.5) / 0.5)
