"""The report holds aggregates only: no training row, no PII value, no rare category, no raw extreme."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import PII

from synthkit.meta import Metadata
from synthkit.profile import profile
from synthkit.report import render_profile_report, render_report
from synthkit.report.aggregates import column_view

K = 10


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory, adult_pii: pd.DataFrame, adult_synthetic: pd.DataFrame,
                adult_meta: Metadata, adult_metrics: dict[str, Any], adult_validation: dict[str, Any], adult_run: dict[str, Any]) -> str:
    path = render_report(tmp_path_factory.mktemp("rep") / "report.html", metrics=adult_metrics, real=adult_pii,
                         synthetic=adult_synthetic, metadata=adult_meta, validation=adult_validation, run=adult_run, k=K)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def profile_html(tmp_path_factory: pytest.TempPathFactory, adult_pii: pd.DataFrame, adult_meta: Metadata) -> str:
    path = render_profile_report(tmp_path_factory.mktemp("prof") / "profile.html", data=adult_pii, metadata=adult_meta, k=K)
    return path.read_text(encoding="utf-8")


_WORD = re.compile(r"[\w.@'+-]+")


def _leaked(html: str, values: set[str]) -> list[str]:
    """Values found in ``html``: a value can only occur if all its words occur, so only those
    candidates get the (slow) substring search."""
    words = set(_WORD.findall(html))
    candidates = [v for v in values if all(w in words for w in _WORD.findall(v))]
    return [v for v in candidates if v in html or escape(v) in html]


def test_leak_detector_finds_an_injected_value(report_html: str, adult_pii: pd.DataFrame) -> None:
    values = set(adult_pii["email"].astype(str)) | set(adult_pii["name"].astype(str))
    planted = adult_pii["name"].iloc[3]
    html = report_html.replace("</footer>", f"<p>{escape(planted)}</p></footer>")
    assert _leaked(html, values) == [planted]


def _joined_rows(df: pd.DataFrame, sep: str) -> pd.Series:
    return df.astype(str).agg(sep.join, axis=1)


@pytest.mark.parametrize("which", ["report", "profile"])
@pytest.mark.parametrize("sep", [",", " ", "|", "\t", ", ", ""])
def test_no_training_row_appears(which: str, sep: str, report_html: str, profile_html: str, adult_pii: pd.DataFrame) -> None:
    html = report_html if which == "report" else profile_html
    rows = _joined_rows(adult_pii, sep)
    # also the rows without their PII columns, as a model-visible record would look
    plain = _joined_rows(adult_pii.drop(columns=list(PII)), sep)
    leaked = [r for r in pd.concat([rows, plain]) if r in html or escape(r) in html]
    assert leaked == []


@pytest.mark.parametrize("which", ["report", "profile"])
def test_no_pii_value_appears(which: str, report_html: str, profile_html: str, adult_pii: pd.DataFrame, adult_synthetic: pd.DataFrame) -> None:
    html = report_html if which == "report" else profile_html
    words = set(_WORD.findall(html))
    for col in PII:
        values = set(adult_pii[col].dropna().astype(str)) | set(adult_synthetic[col].dropna().astype(str))
        leaked = _leaked(html, values)
        assert leaked == [], f"PII column {col!r} leaked {leaked[:3]}"
        # and no fragment as long as a last name or an email local part
        parts = {p for v in adult_pii[col].dropna().astype(str) for p in re.split(r"[@\s]", v) if len(p) >= 9}
        assert [p for p in parts if p in words] == [], col


@pytest.mark.parametrize("which", ["report", "profile"])
def test_rare_categories_are_suppressed(which: str, report_html: str, profile_html: str, adult_pii: pd.DataFrame, adult_meta: Metadata) -> None:
    html = report_html if which == "report" else profile_html
    checked = 0
    for c in adult_meta.table().columns:
        if c.kind != "categorical" or c.pii != "none":
            continue
        counts = adult_pii[c.name].value_counts()
        shown = counts[counts >= K].index.astype(str)
        for value in counts[counts < K].index.astype(str):
            if any(value in s for s in shown) or value in {"Other", "other"}:
                continue  # a substring of a frequent category cannot be told apart
            checked += 1
            assert f">{escape(value)}<" not in html and f"{escape(value)}:" not in html, f"rare {c.name}={value!r} shown"
            token = rf"(?<![\w-]){re.escape(escape(value))}(?![\w-])"
            assert re.search(token, html) is None, f"rare {c.name}={value!r} appears"
    assert checked >= 5  # Adult has many rare countries and occupations


def test_raw_extremes_are_not_shown(report_html: str, profile_html: str, adult_pii: pd.DataFrame) -> None:
    for col in ("fnlwgt", "capital-gain", "capital-loss", "age", "hours-per-week"):
        lo, hi = adult_pii[col].min(), adult_pii[col].max()
        for v in {lo, hi}:
            if abs(v) < 1000:
                continue  # short numbers appear as coordinates and percentages anyway
            for html in (report_html, profile_html):
                assert re.search(rf"(?<![\d.]){int(v)}(?![\d])", html) is None, f"{col} extreme {v} shown"
                assert f"{int(v):,}" not in html


def test_bars_hold_at_least_k_real_rows() -> None:
    """Outliers and sparse values end up in pooled bins, never in a bar of their own."""
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(50, 10, 500), [1e6, 2e6, -5e5], rng.integers(0, 3, 5) + 1000.5])
    real = pd.DataFrame({"x": values, "c": ["a"] * 300 + ["b"] * 200 + [f"rare{i}" for i in range(8)]})
    meta = profile(real)
    n = len(real)
    for col in ("x", "c"):
        view = column_view(meta.table().column(col), real[col], real[col].sample(frac=1, random_state=1), k=K)
        # the pooled "other (n categories)" bar names nobody and may hold fewer than k rows
        shares = [float(m) for lab, m in re.findall(r"<title>([^<:]*): real ([\d.]+)%", view.svg) if not lab.startswith("other")]
        assert shares, view.svg[:200]
        assert all(s / 100 * n >= K - 0.5 for s in shares if s > 0), (col, shares)
        assert "1000000" not in view.svg and "1e+06" not in view.svg and "2M" not in view.svg
        assert "rare" not in view.svg.replace("other", "")


def test_sensitive_columns_get_counts_only(adult_pii: pd.DataFrame, adult_synthetic: pd.DataFrame, adult_meta: Metadata) -> None:
    for col in PII:
        view = column_view(adult_meta.table().column(col), adult_pii[col], adult_synthetic[col], k=K)
        assert view.sensitive and view.svg == "" and view.summary == []
        assert any(f"{adult_synthetic[col].nunique():,} distinct synthetic values" in n for n in view.notes)
    idcol = pd.DataFrame({"id": [f"P{i:05d}" for i in range(300)]})
    meta = profile(idcol)
    meta.table().column("id").kind = "id"
    view = column_view(meta.table().column("id"), idcol["id"], None, k=K)
    assert view.svg == "" and "identifier" in view.notes[0]


def test_validation_details_never_carry_values(tmp_path: Path, adult_pii: pd.DataFrame, adult_synthetic: pd.DataFrame,
                                               adult_meta: Metadata, adult_validation: dict[str, Any]) -> None:
    """GE results list unexpected values and observed extremes; only counts and shares reach the HTML."""
    validation = dict(adult_validation)
    validation["results"] = [*adult_validation["results"], {
        "expectation": "expect_column_max_to_be_between", "column": "fnlwgt", "success": False,
        "details": {"observed_value": 987654321, "partial_unexpected_list": ["Zebulon-Secret"], "unexpected_count": 3},
    }, {"expectation": "expect_column_values_to_be_unique", "column": "email", "success": False,
        "details": {"unexpected_count": 2, "partial_unexpected_list": [adult_pii["email"].iloc[0]]}},
        {"expectation": "expect_column_max_to_be_between", "column": "age", "success": False, "details": "observed 123456789"},
        {"expectation": "expect_column_values_to_be_in_set", "column": "race", "success": False, "details": "value Zorgon-Secret not in set"},
        {"expectation": "expect_column_values_to_be_between", "column": "age", "success": False, "details": "7 of 1500 values unexpected (0.47%)"}]
    html = render_report(tmp_path / "r.html", metrics={}, real=adult_pii, synthetic=adult_synthetic,
                         metadata=adult_meta, validation=validation).read_text()
    assert "987654321" not in html and "Zebulon-Secret" not in html and adult_pii["email"].iloc[0] not in html
    assert "123456789" not in html and "Zorgon-Secret" not in html
    assert "unexpected count: 3" in html and "7 of 1500 values unexpected (0.47%)" in html


def test_small_tables_show_no_individual_extremes(tmp_path: Path) -> None:
    """With 40 rows the 1% quantile would sit next to one person's value; the k-th value is used instead."""
    rng = np.random.default_rng(3)
    values = np.sort(rng.choice(np.arange(100_000, 999_999), size=40, replace=False))
    real = pd.DataFrame({"income": values, "group": ["a", "b"] * 20})
    meta = profile(real)
    html = render_report(tmp_path / "r.html", metrics={}, real=real, synthetic=real.sample(frac=1, random_state=0),
                         metadata=meta, k=K).read_text()
    for v in (*values[:K - 1], *values[-(K - 1):]):  # the K-1 most extreme values on each side
        assert str(v) not in html and f"{v / 1e3:.3g}k" not in html, v
    assert "25% quantile" in html  # the k-th value of 40 rows is the 25% level
