"""The synthkit command: happy paths, and bad input → non-zero exit with one line, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthkit.cli", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env={**os.environ, "SYNTHKIT_QUIET": "1"}, timeout=600)


def _one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, adult_small) -> Path:
    path = tmp_path_factory.mktemp("cli") / "train.csv"
    adult_small.iloc[:800].to_csv(path, index=False)
    return path


def test_version_and_help_answer_without_loading_the_library():
    """``--version`` alone exits 0 (it used to ask for a command); neither it nor ``--help`` loads torch."""
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == __import__("synthkit").__version__, proc.stderr
    proc = cli("--help")
    assert proc.returncode == 0 and "run" in proc.stdout and "audit" in proc.stdout
    code = "import json, sys, synthkit.cli; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                                           check=True).stdout))
    assert "synthkit.cli.commands" in loaded
    assert not loaded & {"torch", "sklearn", "scipy", "pandas", "synthkit.cli.actions", "synthkit.pipeline"}


def test_models_and_datasets_list():
    proc = cli("models")
    assert proc.returncode == 0 and "copula" in proc.stdout
    proc = cli("datasets")
    assert proc.returncode == 0 and "adult" in proc.stdout


def test_fit_sample_evaluate_round_trip(small_csv, tmp_path):
    model_dir = tmp_path / "model"
    proc = cli("fit", str(small_csv), "--model", "copula", "-o", str(model_dir), "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "synthetic.csv"
    proc = cli("sample", str(model_dir), "-n", "500", "-o", str(out), "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    synthetic = pd.read_csv(out)
    assert len(synthetic) == 500 and list(synthetic.columns) == list(pd.read_csv(small_csv).columns)
    proc = cli("evaluate", "--real", str(small_csv), "--synthetic", str(out), "--target", "income", "-o", str(tmp_path / "eval"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "eval" / "metrics.json").is_file()
    assert (tmp_path / "eval" / "report.html").is_file()


def test_profile_writes_metadata_and_suite(small_csv, tmp_path):
    proc = cli("profile", str(small_csv), "-o", str(tmp_path / "m.json"), "--expectations", str(tmp_path / "s.json"),
               "--html", str(tmp_path / "p.html"))
    assert proc.returncode == 0, proc.stderr
    for name in ("m.json", "s.json", "p.html"):
        assert (tmp_path / name).stat().st_size > 0


MISSING = [("fit", "{tmp}/nope.csv", "-m", "copula", "-o", "{tmp}/m"), ("profile", "{tmp}/nope.csv"),
           ("run", "{tmp}/nope.yaml"), ("sample", "{tmp}/no-model", "-n", "5"),
           ("evaluate", "--real", "{tmp}/nope.csv", "--synthetic", "{tmp}/nope.csv", "-o", "{tmp}/e")]


def test_missing_file(tmp_path):
    for args in MISSING:
        args = [a.format(tmp=tmp_path) for a in args]
        _one_line_error(cli(*args), Path(args[1 if args[0] != "evaluate" else 2]).name)
    assert not (tmp_path / "m").exists() and not (tmp_path / "e").exists()


def test_a_missing_file_is_reported_before_the_library_loads(tmp_path):
    """The commonest mistake, a mistyped path, answers without torch (the check in ``actions`` stays)."""
    code = ("import json, sys\nfrom synthkit.cli import main\nsys.argv = json.loads(sys.argv[1])\ntry:\n    main()\n"
            "except SystemExit as exc:\n    print(json.dumps([exc.code, 'torch' in sys.modules, 'synthkit.cli.actions' in sys.modules]))")
    for args in MISSING:
        argv = ["synthkit", *(a.format(tmp=tmp_path) for a in args)]
        proc = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True, cwd=REPO,
                              timeout=300)
        assert json.loads(proc.stdout.strip().splitlines()[-1]) == [2, False, False], (args, proc.stdout, proc.stderr)


def test_empty_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _one_line_error(cli("fit", str(empty), "-m", "copula", "-o", str(tmp_path / "m")))
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    _one_line_error(cli("fit", str(header_only), "-m", "copula", "-o", str(tmp_path / "m")), "empty")


def test_unknown_model(small_csv, tmp_path):
    _one_line_error(cli("fit", str(small_csv), "-m", "nonesuch", "-o", str(tmp_path / "m")), "nonesuch", "available")


@pytest.fixture(scope="module")
def copula_dir(small_csv, tmp_path_factory) -> Path:
    model_dir = tmp_path_factory.mktemp("cli-model") / "model"
    assert cli("fit", str(small_csv), "-m", "copula", "-o", str(model_dir)).returncode == 0
    return model_dir


@pytest.mark.parametrize("n", ["0", "-3"])
def test_non_positive_n(copula_dir, tmp_path, n):
    _one_line_error(cli("sample", str(copula_dir), "-n", n, "-o", str(tmp_path / "s.csv")), "positive")
    assert not (tmp_path / "s.csv").exists()


def test_evaluate_column_mismatch(small_csv, tmp_path):
    other = tmp_path / "other.csv"
    pd.DataFrame({"x": [1, 2, 3]}).to_csv(other, index=False)
    _one_line_error(cli("evaluate", "--real", str(small_csv), "--synthetic", str(other), "-o", str(tmp_path / "e")))
