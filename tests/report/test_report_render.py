"""Report structure and robustness: sections, thresholds, 'not computed' reasons, verdicts, errors."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthkit.errors import ConfigError, DataError
from synthkit.evaluate.schema import layout
from synthkit.meta import Metadata
from synthkit.report import render_profile_report, render_report

SECTIONS = ["summary", "privacy", "fidelity", "utility", "validation", "run"]


@pytest.fixture
def render(tmp_path: Path, adult_pii: pd.DataFrame, adult_synthetic: pd.DataFrame, adult_meta: Metadata):  # type: ignore[no-untyped-def]
    def _render(metrics: dict[str, Any], **kw: Any) -> str:
        path = render_report(tmp_path / "report.html", metrics=metrics, real=adult_pii, synthetic=adult_synthetic, metadata=adult_meta, **kw)
        return path.read_text(encoding="utf-8")

    return _render


def test_full_report_has_every_section_and_number(render, adult_metrics: dict[str, Any], adult_validation: dict[str, Any], adult_run: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    html = render(adult_metrics, validation=adult_validation, run=adult_run)
    assert re.findall(r'<section class="sec" id="(\w+)"', html) == SECTIONS
    assert "not computed" not in html.split('id="utility"')[0]  # all privacy + fidelity numbers present
    # every metric row carries its explanation; rows with a threshold show it
    rows = re.findall(r'<tr class="[^"]*" data-metric="([\w.]+)">(.*?)</tr>', html, flags=re.DOTALL)
    assert len(rows) >= 20
    for key, body in rows:
        assert 'class="expl"' in body and len(re.search(r'class="expl">([^<]+)<', body).group(1)) > 20, key
    for key in ("privacy.dcr_share", "privacy.membership_inference_auc", "fidelity.detection_auc", "utility.ratio"):
        body = dict(rows)[key]
        assert re.search(r"[≤≥] [\d.]+%?", body), key
    lo, hi = adult_metrics["privacy"]["dcr_share_ci"]
    assert f"{100 * lo:.1f}% – {100 * hi:.1f}%" in html  # the evaluator's DCR interval, as written
    privacy = html.split('id="privacy"')[1].split('id="fidelity"')[0]
    assert privacy.count("<polyline") == 3  # DCR ECDF: synthetic→train, synthetic→holdout, holdout→train
    assert html.count("<svg") > 30
    assert "copula" in html and "income" in html
    utility = html.split('id="utility"')[1].split('id="validation"')[0]
    tstr = adult_metrics["utility"]["models"]["hgb"]["tstr"]["auc"]  # the key the evaluator writes
    assert f"{tstr:.3f}" in utility or f"{tstr:.2f}" in utility
    n = adult_validation["evaluated"]  # the real GE run is summarised per column
    assert f"{adult_validation['successful']} of {n} expectations met" in html and "Expectations per column" in html
    assert "<script" not in html.lower()
    assert re.search(r"(src|href)=\"(https?:)?//", html) is None
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_empty_metrics_render_not_computed_everywhere(render) -> None:  # type: ignore[no-untyped-def]
    html = render({})
    assert re.findall(r'<section class="sec" id="(\w+)"', html) == SECTIONS
    assert "Privacy metrics not computed: privacy metrics were not computed" in html
    assert "Utility metrics not computed" in html
    assert "Not assessed" in html  # no verdict without privacy
    assert "no Great Expectations results were passed" in html


def test_skipped_reasons_are_shown(render, adult_metrics: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    m = copy.deepcopy(adult_metrics)
    m["fidelity"]["detection_auc"] = None
    m["fidelity"]["detection_auc_ci"] = None
    m["fidelity"]["skipped"] = {"detection_auc": "too few rows for a classifier (120 < 500)"}
    m["privacy"]["inference_risk"] = {}
    m["privacy"]["k_anonymity"] = None
    m["utility"] = None
    m["meta"] = {"rows": None}
    m["gates"] = [{"gate": "privacy.verdict == pass", "passed": False, "value": "warn"}]
    html = render(m)
    assert "not computed: too few rows for a classifier (120 &lt; 500)" in html
    assert "Utility metrics not computed" in html
    assert "quality gate failed: privacy.verdict == pass" in html
    assert 'class="badge v-fail big">Fail<' in html  # a failed gate fails the overall verdict


@pytest.mark.parametrize("change, key", [
    (lambda m: m["privacy"].update(membership_inference_auc="n/a"), "privacy.membership_inference_auc"),
    (lambda m: m["privacy"]["dcr_ecdf"].pop("holdout_to_train"), "privacy.dcr_ecdf.holdout_to_train"),
    (lambda m: m["privacy"]["inference_risk"].update(income=None), "privacy.inference_risk.income"),
    (lambda m: m["utility"]["models"]["hgb"]["tstr"].update(roc_auc=0.9), "roc_auc"),
])
def test_metrics_off_the_schema_are_a_clear_error(tmp_path: Path, adult_metrics: dict[str, Any], adult_pii: pd.DataFrame,
                                                  adult_synthetic: pd.DataFrame, adult_meta: Metadata, change: Any, key: str) -> None:
    m = copy.deepcopy(adult_metrics)
    change(m)
    with pytest.raises(ConfigError, match=re.escape(key)):
        render_report(tmp_path / "r.html", metrics=m, real=adult_pii, synthetic=adult_synthetic, metadata=adult_meta)
    assert not (tmp_path / "r.html").exists()


def test_threshold_from_evaluator_replaces_default(render, adult_metrics: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    m = copy.deepcopy(adult_metrics)
    m["privacy"]["thresholds"].update(membership_inference_auc_warn=0.58, membership_inference_auc_fail=0.65)
    m["privacy"]["membership_inference_auc"], m["privacy"]["membership_inference_auc_ci"] = 0.56, [0.52, 0.6]
    html = render(m)
    row = re.search(r'data-metric="privacy.membership_inference_auc">(.*?)</tr>', html, flags=re.DOTALL).group(1)
    assert "≤ 0.58; fail &gt; 0.65" in row and "s-good" in row and "Good: ≤ 0.58; fail &gt; 0.65." in row
    m["privacy"]["thresholds"]["membership_inference_auc_warn"] = 0.55
    html = render(m)
    row = re.search(r'data-metric="privacy.membership_inference_auc">(.*?)</tr>', html, flags=re.DOTALL).group(1)
    assert "≤ 0.55; fail &gt; 0.65" in row and "s-warn" in row  # 0.56 now misses the stricter threshold
    # risks judged on the low end of their interval, as the evaluator does
    m["privacy"]["singling_out_risk"], m["privacy"]["singling_out_risk_ci"] = 0.3, [0.26, 0.34]
    html = render(m)
    row = re.search(r'data-attack="privacy.singling_out_risk">(.*?)</tr>', html, flags=re.DOTALL).group(1)
    assert "CI low ≤ 5.0%; fail &gt; 25.0%" in row and "s-bad" in row


def test_report_is_deterministic_and_written_atomically(tmp_path: Path, render, adult_metrics: dict[str, Any], adult_run: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    a = render(adult_metrics, run=adult_run)
    b = render(adult_metrics, run=adult_run)
    assert a == b
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temp files left behind


def test_bad_inputs_raise_clear_errors(tmp_path: Path, adult_pii: pd.DataFrame, adult_synthetic: pd.DataFrame, adult_meta: Metadata) -> None:
    out = tmp_path / "r.html"
    with pytest.raises(DataError, match="real data must be a pandas DataFrame"):
        render_report(out, metrics={}, real=[1, 2], synthetic=adult_synthetic, metadata=adult_meta)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="synthetic data"):
        render_report(out, metrics={}, real=adult_pii, synthetic=None, metadata=adult_meta)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="metrics must be"):
        render_report(out, metrics=[], real=adult_pii, synthetic=adult_synthetic, metadata=adult_meta)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="k .* positive integer"):
        render_report(out, metrics={}, real=adult_pii, synthetic=adult_synthetic, metadata=adult_meta, k=0)
    with pytest.raises(ConfigError, match="metadata must be"):
        render_profile_report(out, data=adult_pii, metadata={"tables": {}})  # type: ignore[arg-type]
    with pytest.raises(DataError, match="none of the metadata columns"):
        render_profile_report(out, data=pd.DataFrame({"zzz": [1]}), metadata=adult_meta)
    assert not out.exists()


def test_missing_synthetic_column_and_odd_dtypes(tmp_path: Path) -> None:
    from synthkit.profile import profile

    real = pd.DataFrame({
        "when": pd.date_range("2020-01-01", periods=400, freq="D"),
        "flag": [True, False] * 200,
        "const": [1.0] * 400,
        "num": range(400),
    })
    real.loc[::7, "num"] = None
    meta = profile(real)
    syn = real.drop(columns=["flag"]).sample(frac=1, random_state=0)
    html = render_report(tmp_path / "r.html", metrics={}, real=real, synthetic=syn, metadata=meta).read_text()
    assert "2020-" in html  # datetime bins labelled as dates
    prof = render_profile_report(tmp_path / "p.html", data=real, metadata=meta).read_text()
    assert re.findall(r'<section class="sec" id="(\w+)"', prof) == ["overview", "schema", "associations", "columns"]


def test_wide_table_limits_heatmap(tmp_path: Path) -> None:
    import numpy as np

    from synthkit.profile import profile

    rng = np.random.default_rng(0)
    real = pd.DataFrame(rng.normal(size=(3000, 40)), columns=[f"c{i}" for i in range(40)])
    real.insert(0, "code", [f"K{i % 2500}" for i in range(3000)])  # high-cardinality categorical
    real.insert(1, "code2", [f"Q{(i * 7) % 2900}" for i in range(3000)])
    meta = profile(real)
    for col in ("code", "code2"):
        meta.table().column(col).kind = "categorical"
    syn = real.sample(frac=1, random_state=1).reset_index(drop=True)
    html = render_report(tmp_path / "r.html", metrics={}, real=real, synthetic=syn, metadata=meta).read_text()
    assert "Showing the first 25 of 42 charted columns" in html
    assert "K17" not in html  # categories seen once or twice are pooled, never named


def test_weak_headline_score_turns_pass_into_review(render, adult_metrics: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    m = copy.deepcopy(adult_metrics)
    m["privacy"]["verdict"], m["privacy"]["reasons"] = "pass", []
    for family in ("fidelity", "privacy", "utility"):  # every headline score on the good side of its threshold
        m[family]["score"] = 0.95
    assert 'class="badge v-pass big">Pass<' in render(m).split('id="privacy"')[0]
    m["fidelity"]["score"] = 0.55
    summary = render(m).split('id="privacy"')[0]
    assert 'class="badge v-warn big">Review<' in summary
    assert "fidelity score 0.55 misses its threshold (≥ 0.8; fail &lt; 0.7)" in summary


@pytest.mark.parametrize("case", ["empty synthetic", "all-missing synthetic", "one real row", "no real rows"])
def test_degenerate_frames_still_render(tmp_path: Path, case: str) -> None:
    import numpy as np

    from synthkit.profile import profile

    real = pd.DataFrame({"a": np.arange(100.0), "b": ["x", "y", "z", "w"] * 25, "e": ["p", "q"] * 50,
                         "c": [np.nan] * 100, "d": pd.date_range("2020", periods=100)})
    meta = profile(real)
    syn = {"empty synthetic": real.iloc[:0], "all-missing synthetic": real.assign(a=np.nan, b=None, e=None)}.get(case, real)
    r = {"one real row": real.iloc[:1], "no real rows": real.iloc[:0]}.get(case, real)
    html = render_report(tmp_path / "r.html", metrics={}, real=r, synthetic=syn, metadata=meta).read_text()
    assert re.findall(r'<section class="sec" id="(\w+)"', html) == SECTIONS
    if case == "one real row":
        assert "fewer than k=10 real values: chart suppressed" in html  # one person is never charted


def test_multi_table_metadata_uses_the_matching_table(tmp_path: Path) -> None:
    from synthkit.meta import Metadata
    from synthkit.profile import profile_table

    patients = pd.DataFrame({"pid": range(50), "age": [30 + i % 40 for i in range(50)]})
    visits = pd.DataFrame({"pid": [i % 50 for i in range(200)], "cost": [float(i) for i in range(200)], "ward": ["a", "b"] * 100})
    meta = Metadata(tables={"patients": profile_table(patients, "patients"), "visits": profile_table(visits, "visits")})
    html = render_profile_report(tmp_path / "p.html", data=visits, metadata=meta).read_text()
    assert "Data profile — visits" in html and "<h4>cost</h4>" in html


def test_hostile_names_and_odd_dtypes_are_escaped(tmp_path: Path) -> None:
    import numpy as np

    from synthkit.profile import profile

    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({
        "<script>alert(1)</script>": rng.integers(-2**62, 2**62, n),
        "inf col": np.where(rng.random(n) < 0.1, np.inf, rng.normal(size=n)),
        "mixed": [1, "a", 2.5, None, True] * 60,
        "tz": pd.date_range("2020", periods=n, freq="h", tz="US/Eastern"),
        'q "x" & <y>': rng.choice(["<bx>", "&amp;", '"', "x"], n),
        "cat dtype": pd.Categorical(rng.choice(["a", "b"], n)),
        "Int64": pd.array(rng.integers(0, 5, n), dtype="Int64"),
    })
    meta = profile(df)
    column = {"metric": "KSComplement", "score": 0.9, "wasserstein": None, "jensen_shannon": None}
    hostile_metrics = {"schema_version": 1, "fidelity": {**layout("fidelity"), "columns": {"<script>alert(1)</script>": column},
                                                         "skipped": {}}}
    for path in (
        render_profile_report(tmp_path / "p.html", data=df, metadata=meta),
        render_report(tmp_path / "r.html", metrics=hostile_metrics, real=df, synthetic=df.sample(frac=1, random_state=1), metadata=meta),
    ):
        html = path.read_text()
        assert "<script" not in html and "<bx>" not in html and "<y>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;bx&gt;" in html


def test_dp_guarantee_is_stated_in_words(render, adult_metrics: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    from synthkit.privacy import describe_guarantee

    from synthkit.privacy.guarantee import mia_auc_bound

    guarantee = {"epsilon": 3.0, "delta": 1e-6, "mechanism": "mst", "accountant": "zCDP", "epsilon_spent": 3.0}
    metrics = copy.deepcopy(adult_metrics)
    metrics["privacy"]["dp"] = {**guarantee, "mia_auc_bound": mia_auc_bound(3.0, 1e-6), "statement": describe_guarantee(guarantee)}
    html = render(metrics)
    assert "Differential privacy" in html
    assert "-differential privacy:" in html and "e^3" in html


def test_intervals_counted_by_entity_are_said_so(render, adult_metrics: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    metrics = copy.deepcopy(adult_metrics)
    metrics["privacy"]["row_intervals"], metrics["privacy"]["synthetic_entities"] = "by row", None
    assert "synthetic entities" not in render(metrics)
    metrics["privacy"]["row_intervals"], metrics["privacy"]["synthetic_entities"] = "by entity", 19
    assert "count the 19 synthetic entities (people), not rows" in render(metrics)
