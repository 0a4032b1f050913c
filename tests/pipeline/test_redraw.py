"""A run draws again the synthetic rows that reproduce a unique real row, before it writes them.

The tables here are built so that an honest model hits real rows by chance: four small categorical
columns, where some of the combinations occur once in the real data. The copula learns only the
marginals and their correlation, so any hit is chance, not memorizing."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from synthkit.pipeline import EXIT_LEAK, EXIT_OK, run

from .conftest import write_yaml

COLUMNS = ["a", "b", "c", "d"]


def _unique_rows(real: pd.DataFrame) -> pd.DataFrame:
    counts = real.groupby(COLUMNS).size()
    return counts[counts == 1].reset_index()[COLUMNS]


def _reproducing(real: pd.DataFrame, synthetic: pd.DataFrame) -> int:
    """Synthetic rows equal on every column to a row that occurs once in the real data (the audit's rule,
    computed here with a plain merge instead of the audit's hashes)."""
    return len(synthetic[COLUMNS].astype(str).merge(_unique_rows(real).astype(str), on=COLUMNS))


def _config(tmp_path: Path, real: pd.DataFrame, rows: int) -> Path:
    source = tmp_path / "real.csv"
    real.to_csv(source, index=False)
    return write_yaml(tmp_path / "pipeline.yaml", {
        "name": "redraw", "seed": 0, "source": {"path": str(source)}, "model": {"name": "copula"},
        "sample": {"rows": rows}, "profile": {"expectations": False},
        "evaluate": {"enabled": False}, "report": {"enabled": False}, "output_dir": str(tmp_path / "out")})


def test_rows_that_hit_a_unique_real_row_by_chance_are_drawn_again(tmp_path, caplog):
    rng = np.random.default_rng(0)
    real = pd.DataFrame({c: rng.choice(["x", "y", "z"], size=300, p=[0.6, 0.3, 0.1]) for c in COLUMNS})
    assert len(_unique_rows(real)) >= 10  # rare combinations: what a chance hit lands on
    path = _config(tmp_path, real, rows=2000)
    with caplog.at_level(logging.INFO, logger="synthkit.pipeline.redraw"):
        result = run(path)
    assert result.exit_code == EXIT_OK and not result.leaks
    redrawn = [r.getMessage() for r in caplog.records if "again" in r.getMessage()]
    assert len(redrawn) == 1 and int(redrawn[0].split()[1]) >= 10  # the honest draws did hit real rows
    synthetic = pd.read_csv(tmp_path / "out" / "synthetic.csv", dtype=str)
    assert len(synthetic) == 2000 and _reproducing(real, synthetic) == 0
    assert (tmp_path / "out" / "audit.json").is_file()

    again = tmp_path / "again"  # the rounds' seeds derive from the run's: same seed, same rows
    again.mkdir()
    second = run(_config(again, real, rows=2000))
    assert second.exit_code == EXIT_OK
    assert (again / "out" / "synthetic.csv").read_bytes() == (tmp_path / "out" / "synthetic.csv").read_bytes()


def test_a_table_whose_every_row_is_unique_still_fails_the_audit(tmp_path, caplog):
    """Redrawing cannot help when every possible row is a real one: the run says so and exits 4."""
    grid = pd.MultiIndex.from_product([["x", "y"]] * 4, names=COLUMNS).to_frame(index=False)
    real = grid.sample(frac=1.0, random_state=0)
    assert len(_unique_rows(real)) == 16
    with caplog.at_level(logging.WARNING, logger="synthkit.pipeline.redraw"):
        result = run(_config(tmp_path, real, rows=50))
    assert result.exit_code == EXIT_LEAK and result.leaks
    assert any("still reproduce a unique real row" in r.getMessage() for r in caplog.records)
