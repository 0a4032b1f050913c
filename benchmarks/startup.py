"""Start-up costs a user waits for before any work: the ``synthkit`` command, and a small Ray Train fit.

Two measurements, wall seconds on this machine:

- the command: ``python -m synthkit.cli --version | --help | datasets`` in a fresh interpreter,
  ``--repeats`` times each (median, min, max). ``--repo PATH`` times another checkout of synthkit
  (e.g. a ``git worktree`` of an earlier commit) for a before/after row.
- a Ray Train fit of ``flow`` (600 Adult rows, 2 epochs, small net) with 1 and 2 workers on a private
  2-CPU cluster, under Ray's default controller poll (``RAY_TRAIN_HEALTH_CHECK_INTERVAL_S=2``) and
  synthkit's (0.25 s), alternating, ``--repeats`` times each.

Writes ``benchmarks/results/startup.json`` and ``.md``::

    .venv/bin/python benchmarks/startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthkit.datasets import load  # noqa: E402
from synthkit.utils.atomic import write_json, write_text  # noqa: E402

COMMANDS = (("--version",), ("--help",), ("datasets",))
FLOW = {"epochs": 2, "n_layers": 2, "hidden": 16, "n_quantiles": 51, "batch_size": 100}
POLLS = ("2", "0.25")  # Ray's default controller poll, synthkit's
log = logging.getLogger(__name__)


def _spread(values: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3),
            "runs": [round(v, 3) for v in values]}


def time_commands(repo: Path, repeats: int) -> dict[str, Any]:
    """Wall seconds of each command in a fresh interpreter that imports synthkit from ``repo``."""
    env = {**os.environ, "PYTHONPATH": str(repo), "SYNTHKIT_QUIET": "1"}
    out = {}
    for args in COMMANDS:
        seconds, codes = [], set()
        for _ in range(repeats):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "synthkit.cli", *args], env=env, cwd=repo, capture_output=True,
                                  timeout=300)
            seconds.append(time.perf_counter() - start)
            codes.add(proc.returncode)
        out[" ".join(args)] = {**_spread(seconds), "exit_codes": sorted(codes)}  # `--version` exited 2 before 55e9c4d
    return out


def time_ray_fits(repeats: int) -> dict[str, Any]:
    """Seconds of ``fit_on_ray`` (profiling, encoding, Ray Train start-up, 2 epochs, checkpoint load)."""
    import ray  # the optional extra, only for this half (`--no-ray` runs without it)

    from synthkit.engine import EngineSpec, create_engine
    from synthkit.engine.train import fit_on_ray
    from synthkit.models.registry import get
    from synthkit.profile import profile

    data = load("adult")[0].sample(600, random_state=1).reset_index(drop=True)
    metadata = profile(data)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    seconds: dict[str, list[float]] = {}
    try:
        for _ in range(repeats):
            for workers in (1, 2):
                for poll in POLLS:  # alternating, so drift in the machine's load hits both settings alike
                    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = poll
                    engine = create_engine(EngineSpec(kind="ray", num_workers=workers, cpus_per_worker=0.5))
                    start = time.perf_counter()
                    fit_on_ray(get("flow")(metadata=metadata, **FLOW), data, engine)
                    seconds.setdefault(f"{workers} worker(s), poll {poll} s", []).append(time.perf_counter() - start)
                    log.info("fit, %d worker(s), poll %s s: %.1f s", workers, poll, seconds[f"{workers} worker(s), poll {poll} s"][-1])
    finally:
        os.environ.pop("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", None)
        ray.shutdown()
    return {key: _spread(values) for key, values in seconds.items()}


def to_markdown(results: dict[str, Any]) -> str:
    lines = ["# Start-up: the `synthkit` command and a small Ray Train fit", "",
             f"Run {results['when']} on {results['machine']}; wall seconds, median [min, max] of "
             f"{results['repeats']} runs. Command: `{results['command']}`.", "",
             "## `python -m synthkit.cli ...` in a fresh interpreter", "",
             "| command | " + " | ".join(results["commands"]) + " |",
             "|---|" + "---|" * len(results["commands"])]
    for command in (" ".join(a) for a in COMMANDS):
        cells = [f"{r[command]['median']:.2f} [{r[command]['min']:.2f}, {r[command]['max']:.2f}]"
                 + ("" if r[command]["exit_codes"] == [0] else f" (exit {r[command]['exit_codes']})")
                 for r in results["commands"].values()]
        lines.append(f"| `{command}` | " + " | ".join(cells) + " |")
    if results.get("ray_fits"):
        lines += ["", "## `fit_on_ray` of flow, 600 Adult rows, 2 epochs, private 2-CPU cluster", "",
                  "| workers, controller poll | seconds |", "|---|---|"]
        lines += [f"| {key} | {v['median']:.1f} [{v['min']:.1f}, {v['max']:.1f}] |" for key, v in results["ray_fits"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--repo", action="append", default=[], metavar="NAME=PATH",
                        help="also time the command of another checkout, e.g. before=/tmp/old")
    parser.add_argument("--no-ray", action="store_true", help="time the command only")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--name", default="startup")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    checkouts = {"this checkout": ROOT, **{k: Path(v) for k, v in (item.split("=", 1) for item in args.repo)}}
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": f"{os.cpu_count()} CPUs",
        "repeats": args.repeats, "command": "python benchmarks/startup.py " + " ".join(sys.argv[1:]),
        "commands": {name: time_commands(path, args.repeats) for name, path in checkouts.items()},
    }
    if not args.no_ray:
        results["ray_fits"] = time_ray_fits(args.repeats)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(args.out_dir / f"{args.name}.json", results)
    write_text(args.out_dir / f"{args.name}.md", to_markdown(results))
    log.info("wrote %s", args.out_dir / f"{args.name}.md")


if __name__ == "__main__":
    main()
