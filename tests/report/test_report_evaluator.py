"""The report reads what the real evaluator writes (``adult_metrics``, a real evaluation; a broken
``synthkit.evaluate`` import fails here, it is never skipped): every headline metric found."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import PII

from synthkit.meta import Metadata
from synthkit.report import render_report
from synthkit.report.explain import fmt_value

pytestmark = pytest.mark.integration


def test_report_of_real_evaluation(tmp_path: Path, adult_metrics: dict[str, Any], adult_pii: pd.DataFrame,
                                   adult_synthetic: pd.DataFrame, adult_meta: Metadata, adult_run: dict[str, Any]) -> None:
    html = render_report(tmp_path / "report.html", metrics=adult_metrics, real=adult_pii, synthetic=adult_synthetic,
                         metadata=adult_meta, run=adult_run).read_text()
    must = ["fidelity.score", "fidelity.column_shapes", "fidelity.detection_auc", "privacy.dcr_share",
            "privacy.membership_inference_auc", "privacy.ims_excess", "utility.ratio", "utility.feature_importance_agreement"]
    rows = dict(re.findall(r'data-metric="([\w.]+)">(.*?)</tr>', html, flags=re.DOTALL))
    missing = [k for k in must if k not in rows or "not computed" in rows[k]]
    assert missing == []
    assert re.search(r'class="badge v-(pass|warn|fail) big">', html)
    # the evaluator's thresholds are shown: membership AUC judged on 0.55 (warn) / 0.60 (fail)
    t = adult_metrics["privacy"]["thresholds"]
    limits = f"≤ {fmt_value(t['membership_inference_auc_warn'])}; fail &gt; {fmt_value(t['membership_inference_auc_fail'])}"
    assert limits == "≤ 0.55; fail &gt; 0.6" and limits in rows["privacy.membership_inference_auc"]
    assert "<polyline" in html  # DCR ECDF drawn from the evaluator's quantiles
    assert isinstance(adult_metrics["utility"]["augmentation_lift"], dict) and "real + synthetic" in html
    for col in PII:
        assert not any(v in html for v in adult_pii[col].astype(str))
