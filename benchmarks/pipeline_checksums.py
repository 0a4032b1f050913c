"""Checksums of the example pipelines' outputs (synthetic CSVs, metrics.json minus durations).

Run before and after a pipeline refactor: same seed, same quick overrides, the sums must match.
Usage: ``python benchmarks/pipeline_checksums.py OUT.json`` (runs each pipeline in a temp folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUICK = {
    "adult": ["source.max_rows=1500", "model.params.epochs=3", "evaluate.max_rows=500"],
    "augment": ["model.params.epochs=3", "sample.rows=300"],
    "diabetes": ["source.max_rows=1500", "model.params.epochs=3", "evaluate.max_rows=500"],
    "ehr": ["model.params.child_params.epochs=1", "evaluate.families=[fidelity]"],
    "icu": ["model.params.epochs=1", "sample.rows=40", "evaluate.max_rows=1000"],
    "sqlite": ["source.max_rows=1500", "model.params.epochs=3", "evaluate.max_rows=500"],
}


#: wall-clock values: stage and evaluation durations, and model=auto's time budgets (shares of what is left)
_DURATIONS = ("timings", "seconds", "fit_minutes_allowed", "refit_minutes")


def _drop_timings(node: object) -> object:
    """metrics.json without wall-clock values (:data:`_DURATIONS`)."""
    if isinstance(node, dict):
        return {k: _drop_timings(v) for k, v in node.items() if k not in _DURATIONS}
    if isinstance(node, list):
        return [_drop_timings(v) for v in node]
    return node


def checksums(name: str, work: Path) -> dict[str, str]:
    """Run one example pipeline into ``work`` and hash what must not change."""
    out = work / "out"
    (work / "reports").mkdir()  # sqlite.yaml's database lives in reports/ under the current folder
    args = [sys.executable, "-m", "synthkit.cli", "run", str(REPO / "pipelines" / f"{name}.yaml"),
            "--set", f"output_dir={out}"]
    for item in QUICK[name]:
        args += ["--set", item]
    proc = subprocess.run(args, cwd=work, capture_output=True, text=True, env={**os.environ, "SYNTHKIT_QUIET": "1"})
    sums = {"exit_code": str(proc.returncode)}
    if not (out / "metrics.json").is_file():
        return {**sums, "error": proc.stderr.strip().splitlines()[-1]}
    for path in sorted([*out.glob("synthetic.csv"), *out.glob("synthetic/*.csv")]):
        sums[str(path.relative_to(out))] = hashlib.sha256(path.read_bytes()).hexdigest()
    metrics = json.loads((out / "metrics.json").read_text())
    blob = json.dumps(_drop_timings(metrics), sort_keys=True).encode()
    sums["metrics.json-durations"] = hashlib.sha256(blob).hexdigest()
    return sums


def main() -> None:
    result = {}
    for name in sys.argv[2:] or QUICK:
        with tempfile.TemporaryDirectory() as tmp:
            result[name] = checksums(name, Path(tmp))
            print(name, result[name], flush=True)
    Path(sys.argv[1]).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
