"""The Adult report in headless Chromium: no console errors, no network, every section, a screenshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from browser import load_page, require_browser

from synthkit.meta import Metadata
from synthkit.report import render_profile_report, render_report

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SECTIONS = ["summary", "privacy", "fidelity", "utility", "validation", "run"]


def test_adult_report_in_chromium(
    tmp_path: Path, artifacts_dir: Path, adult_pii: pd.DataFrame, adult_synthetic: pd.DataFrame,
    adult_meta: Metadata, adult_metrics: dict[str, Any], adult_validation: dict[str, Any], adult_run: dict[str, Any],
) -> None:
    require_browser()
    html = render_report(
        artifacts_dir / "report_adult.html", metrics=adult_metrics, real=adult_pii, synthetic=adult_synthetic,
        metadata=adult_meta, validation=adult_validation, run=adult_run,
    )
    page = load_page(html, screenshot=artifacts_dir / "report_adult.png")
    assert page.console_errors == []
    assert page.requests == []
    assert page.section_ids == SECTIONS
    assert (artifacts_dir / "report_adult.png").stat().st_size > 50_000


def test_profile_report_in_chromium(tmp_path: Path, artifacts_dir: Path, adult_pii: pd.DataFrame, adult_meta: Metadata) -> None:
    require_browser()
    html = render_profile_report(artifacts_dir / "profile_adult.html", data=adult_pii, metadata=adult_meta)
    page = load_page(html, screenshot=artifacts_dir / "profile_adult.png")
    assert page.console_errors == []
    assert page.requests == []
    assert page.section_ids == ["overview", "schema", "associations", "columns"]


def test_harness_detects_network_and_console_errors(tmp_path: Path) -> None:
    """The checks above can fail: a page that fetches and throws is caught."""
    require_browser()
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><title>bad</title></head><body><section id="x">x</section>'
        '<img src="http://127.0.0.1:9/tracker.png"><script>undefinedFunction();</script></body></html>'
    )
    page = load_page(bad)
    assert any("127.0.0.1:9/tracker.png" in url for url in page.requests)
    assert any("undefinedFunction" in msg for msg in page.console_errors)
    assert page.section_ids == ["x"]
