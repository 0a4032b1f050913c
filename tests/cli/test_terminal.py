"""`synthkit run` in a real terminal (tmux): stage lines with elapsed times and the rounded summary
table appear, no traceback does; off a terminal the same run prints no stage lines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")


def _pipeline(tmp_path: Path, **changes: object) -> Path:
    cfg = {"name": "tui", "seed": 0, "output_dir": str(tmp_path / "out"), "source": {"dataset": "adult", "max_rows": 600},
           "model": {"name": "copula"}, "evaluate": {"target": "income", "max_rows": 300, "families": ["fidelity", "privacy"]},
           "gates": ["privacy.verdict != fail"], **changes}
    path = tmp_path / "tui.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.integration
@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (Debian package 'tmux')")
def test_run_in_a_terminal_shows_stages_and_summary(tmp_path: Path) -> None:
    socket = f"synthkit-test-{uuid.uuid4().hex[:8]}"  # a private tmux server: nothing else is touched
    synthkit = Path(sys.executable).parent / "synthkit"
    command = f"cd {REPO} && env -u SYNTHKIT_QUIET -u CI {synthkit} run {_pipeline(tmp_path)}; echo SYNTHKIT-EXIT=$?; sleep 600"
    tmux = [TMUX, "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", "run", "-x", "160", "-y", "50", command], check=True,
                   env={k: v for k, v in os.environ.items() if k != "TMUX"})
    try:
        screen = ""
        deadline = time.monotonic() + 900
        while "SYNTHKIT-EXIT=" not in screen and time.monotonic() < deadline:
            time.sleep(2)
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-J", "-S", "-500", "-t", "run"], capture_output=True,
                                    text=True, check=True).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, check=False)
    assert "SYNTHKIT-EXIT=0" in screen, screen[-3000:]
    assert "Traceback" not in screen
    for stage in ("load", "profile", "split_holdout", "fit", "sample", "evaluate", "report", "audit", "commit"):
        assert re.search(rf"^\[\d\d:\d\d\] {stage} \.\.\.$", screen, re.M), stage
        assert re.search(rf"^\[\d\d:\d\d\] {stage} done in \d+\.\d s *$", screen, re.M), stage
    assert re.search(r"^tui: ok$", screen, re.M)
    assert re.search(r"^  fidelity +0\.\d{3}$", screen, re.M)  # rounded to 3 decimals
    assert re.search(r"^  gate privacy\.verdict != fail +pass \(value \w+\)$", screen, re.M)
    assert re.search(rf"^report: +{re.escape(str(tmp_path / 'out' / 'report.html'))}$", screen, re.M)


def test_off_a_terminal_there_are_no_stage_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SYNTHKIT_QUIET", "CI")}
    bad = _pipeline(tmp_path, evaluate={"target": "no_such_column"})  # fails after a few stages
    proc = subprocess.run([sys.executable, "-m", "synthkit.cli", "run", str(bad)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: evaluate names column 'no_such_column', which the data does not have"]
    assert "[00:" not in proc.stdout + proc.stderr


def test_summary_table_rounds_numbers_and_names_the_report() -> None:
    from synthkit.cli import summary_table

    text = summary_table({"name": "adult", "status": "gate_failed", "output_dir": "reports/adult", "files": {"report": "report.html"},
                          "headline": {"fidelity": 0.6087367090280177, "privacy_verdict": "pass", "utility": None},
                          "gates": [{"gate": "fidelity.score >= 0.8", "value": 0.6087367090280177, "passed": False}],
                          "timings": {"fit": 12.3456, "evaluate": 1.0}, "leaks": []})
    lines = text.splitlines()
    assert lines[0] == "adult: gate_failed"
    assert any(re.fullmatch(r"  fidelity +0\.609", ln) for ln in lines)
    assert any(re.fullmatch(r"  utility +-", ln) for ln in lines)
    assert any(re.fullmatch(r"  gate fidelity\.score >= 0\.8 +FAIL \(value 0\.609\)", ln) for ln in lines)
    assert any(re.fullmatch(r"  time +13\.3 s", ln) for ln in lines)
    assert "0.6087" not in text
    assert lines[-1] == f"report:  {Path('reports/adult/report.html')}"
