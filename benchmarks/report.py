"""Benchmark: report size and render time for a wide (100-column) table.

Targets from issue #6: the report of a 100-column table stays under 5 MB and renders in under 5 s.
Measures the Python render (aggregates + templates + atomic write) and, when headless Chromium is
installed, the time the browser needs to load and lay out the file. Writes
``benchmarks/results/report.json`` and ``benchmarks/results/report.md``.

    .venv/bin/python benchmarks/report.py [--rows 20000] [--columns 100]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthkit.profile import profile
from synthkit.report import render_report
from synthkit.utils.atomic import write_json, write_text

log = logging.getLogger("benchmarks.report")
RESULTS = Path(__file__).resolve().parent / "results"


def wide_table(rows: int, columns: int, seed: int = 0) -> pd.DataFrame:
    """Mixed table: 50% numeric (skewed, integer, with outliers), 35% categorical, some dates/flags, 4 PII."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    n_num, n_cat = columns // 2, int(columns * 0.35)
    base = rng.normal(size=rows)
    for i in range(n_num):
        x = 0.5 * base + rng.normal(size=rows)
        data[f"num_{i}"] = np.exp(x) * 1000 if i % 3 == 0 else (np.round(x * 10 + 50) if i % 3 == 1 else x)
    for i in range(n_cat):
        card = [3, 8, 30, 200][i % 4]
        p = rng.dirichlet(np.ones(card) * 0.5)
        data[f"cat_{i}"] = np.array([f"c{i}_{j}" for j in range(card)])[rng.choice(card, size=rows, p=p)]
    rest = columns - n_num - n_cat - 4
    for i in range(rest):
        if i % 2:
            data[f"flag_{i}"] = rng.random(rows) < 0.3
        else:
            data[f"date_{i}"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, rows), unit="D")
    data["email"] = [f"user{j}@corp.test" for j in range(rows)]
    data["name"] = [f"Person {j}" for j in range(rows)]
    data["ssn"] = [f"{100 + j % 800:03d}-{j % 99:02d}-{j:04d}" for j in range(rows)]
    data["patient_id"] = np.arange(rows)
    return pd.DataFrame(data)


def perturbed(real: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """A stand-in synthetic table: independently resampled columns with noise (report cost only)."""
    rng = np.random.default_rng(seed)
    out = {}
    for col in real.columns:
        s = real[col].sample(frac=1.0, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
        if pd.api.types.is_float_dtype(s):
            s = s * rng.normal(1.0, 0.05, len(s))
        out[col] = s
    return pd.DataFrame(out)


def fake_metrics(real: pd.DataFrame) -> dict[str, Any]:
    cols = list(real.columns)
    return {
        "schema_version": 1, "status": "ok",
        "fidelity": {"score": 0.86, "column_shapes": 0.9, "column_pair_trends": 0.82,
                     "columns": {c: {"metric": "KSComplement", "score": 0.9, "wasserstein": 0.1, "jensen_shannon": None} for c in cols},
                     "pairs": {f"{a}|{b}": {"metric": "CorrelationSimilarity", "score": 0.9, "real": 0.1, "synthetic": 0.12}
                               for i, a in enumerate(cols) for b in cols[i + 1:]},
                     "detection_auc": 0.7, "skipped": {}},
        "privacy": {"verdict": "pass", "reasons": [], "score": 0.9, "dcr_share": 0.51, "dcr_share_ci": [0.5, 0.52],
                    "dcr_ecdf": {"quantiles": np.linspace(0.01, 0.99, 99).tolist(),
                                 "synthetic_to_train": np.linspace(0, 5, 99).tolist(), "synthetic_to_holdout": np.linspace(0, 5.1, 99).tolist()},
                    "skipped": {}},
        "meta": {"rows": {"real": len(real), "synthetic": len(real), "holdout": 0}},
    }


def browser_load_seconds(html: Path) -> float | None:
    """Seconds for headless Chromium to load and lay out the report (None if not installed)."""
    chromium, driver_path = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
    if not chromium.exists() or not driver_path.exists():
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(chromium)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                f"--user-data-dir={tempfile.mkdtemp(prefix='synthkit-bench-')}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(driver_path)), options=opts)
    try:
        t0 = time.perf_counter()
        driver.get(html.resolve().as_uri())
        driver.execute_script("return document.body.getBoundingClientRect().height")  # forces layout
        return time.perf_counter() - t0
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--columns", type=int, default=100)
    args = ap.parse_args(argv)
    real = wide_table(args.rows, args.columns)
    meta = profile(real, name="wide")
    for col, kind in (("email", "email"), ("name", "name"), ("ssn", "ssn")):
        meta.table().column(col).pii = kind  # type: ignore[assignment]
    synthetic = perturbed(real)
    metrics = fake_metrics(real)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        t0 = time.perf_counter()
        render_report(out, metrics=metrics, real=real, synthetic=synthetic, metadata=meta, run={"dataset": "synthetic wide table"})
        seconds = time.perf_counter() - t0
        size = out.stat().st_size
        load = browser_load_seconds(out)
    result = {
        "benchmark": "report", "rows": args.rows, "columns": args.columns,
        "render_seconds": round(seconds, 3), "size_bytes": size, "size_mb": round(size / 1e6, 3),
        "browser_load_seconds": None if load is None else round(load, 3),
        "targets": {"size_mb": 5.0, "render_seconds": 5.0},
        "ok": size < 5e6 and seconds < 5.0 and (load is None or load < 5.0),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_average_1min": round(os.getloadavg()[0], 2)},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "report.json", result)
    md = (
        "# Report benchmark\n\n"
        f"{args.rows:,} rows × {args.columns} columns (50% numeric, 35% categorical, dates, flags, 4 PII/id).\n\n"
        "| metric | value | target |\n|---|---|---|\n"
        f"| HTML size | {size / 1e6:.2f} MB | < 5 MB |\n"
        f"| Python render (aggregates + templates + write) | {seconds:.2f} s | < 5 s |\n"
        f"| Chromium load + layout | {'n/a' if load is None else f'{load:.2f} s'} | < 5 s |\n"
        f"\nMachine: {os.cpu_count()} CPUs, 1-min load average {os.getloadavg()[0]:.1f} while measuring (shared machine: noisy).\n"
    )
    write_text(RESULTS / "report.md", md)
    log.info("%s", json.dumps(result))
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
