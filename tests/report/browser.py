"""Headless Chromium driven by Selenium: load a local HTML file, collect console errors and every
network request the page made, and save a full-page screenshot."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@dataclass
class PageLoad:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    section_ids: list[str] = field(default_factory=list)
    seconds_to_load: float = 0.0


def require_browser() -> None:
    """Skip (with the reason) when the browser stack is not installed."""
    pytest.importorskip("selenium", reason="selenium is not installed")
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(f"headless Chromium not installed ({CHROMIUM} / {CHROMEDRIVER}); `make test` installs it")


def load_page(html: Path, screenshot: Path | None = None, width: int = 1280) -> PageLoad:
    """Open ``html`` in headless Chromium; return console errors, requests and section ids."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="synthkit-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},900",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        import time

        t0 = time.perf_counter()
        uri = html.resolve().as_uri()
        driver.get(uri)
        driver.execute_script("return document.readyState")
        out = PageLoad(seconds_to_load=time.perf_counter() - t0)
        out.section_ids = driver.execute_script("return Array.from(document.querySelectorAll('section[id]')).map(s => s.id)")
        for entry in driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                out.console_errors.append(entry.get("message", ""))
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") != "Network.requestWillBeSent":
                continue
            url, doc = msg["params"]["request"]["url"], msg["params"].get("documentURL", "")
            # before navigation Chromium's own new-tab page loads chrome:// resources; keep only
            # what our page asked for, plus any web request whatsoever
            if (doc == uri and url != uri) or url.startswith(("http:", "https:", "ws:", "wss:", "ftp:")):
                out.requests.append(url)
        if screenshot is not None:
            metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = driver.execute_cdp_cmd(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True,
                 "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}},
            )
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        return out
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
