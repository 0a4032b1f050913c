"""The report reads what the real evaluator writes: every headline metric found, nothing 'not reported'."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import PII

from synthkit.meta import Metadata
from synthkit.report import render_report

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def evaluated(adult: tuple[pd.DataFrame, pd.DataFrame], adult_pii: pd.DataFrame, adult_synthetic: pd.DataFrame, adult_meta: Metadata) -> dict[str, Any]:
    evaluate = pytest.importorskip("synthkit.evaluate").evaluate
    holdout = adult[1].sample(1000, random_state=5).reset_index(drop=True)
    for col in PII:  # the holdout needs the same columns; its PII is never compared
        holdout[col] = adult_pii[col].sample(len(holdout), replace=True, random_state=1).to_numpy()
    ev = evaluate(adult_pii, adult_synthetic, holdout=holdout, metadata=adult_meta, target="income", seed=0, max_rows=700)
    return json.loads(json.dumps(ev.scores, default=str))  # exactly what metrics.json holds


def test_report_of_real_evaluation(tmp_path: Path, evaluated: dict[str, Any], adult_pii: pd.DataFrame,
                                   adult_synthetic: pd.DataFrame, adult_meta: Metadata, adult_run: dict[str, Any]) -> None:
    html = render_report(tmp_path / "report.html", metrics=evaluated, real=adult_pii, synthetic=adult_synthetic,
                         metadata=adult_meta, run=adult_run).read_text()
    must = ["fidelity.score", "fidelity.column_shapes", "fidelity.detection_auc", "privacy.dcr_share",
            "privacy.membership_inference_auc", "privacy.ims_excess", "utility.ratio", "utility.feature_importance_agreement"]
    rows = dict(re.findall(r'data-metric="([\w.]+)">(.*?)</tr>', html, flags=re.DOTALL))
    missing = [k for k in must if k not in rows or "not computed" in rows[k]]
    assert missing == []
    assert re.search(r'class="badge v-(pass|warn|fail) big">', html)
    priv = evaluated.get("privacy") or {}
    if priv.get("thresholds"):  # evaluator thresholds replace the defaults on screen
        assert "CI low" in html or "fail &gt;" in html
    assert "<polyline" in html  # DCR ECDF drawn from the evaluator's quantiles
    if isinstance((evaluated.get("utility") or {}).get("augmentation_lift"), dict):
        assert "real + synthetic" in html
    for col in PII:
        assert not any(v in html for v in adult_pii[col].astype(str))
