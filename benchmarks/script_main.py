"""The command line of the small benchmarks on the bundled Adult table (representative, conditional).

Each gives its measurements as a function of the torch thread count; this parses ``--threads`` and
``--out-dir``, sets up logging and torch, and writes ``<stem>.json`` and ``<stem>.md`` atomically.
Run by path (``runpy.run_path``): with this folder on ``sys.path`` its ``io.py`` would shadow the
standard library, and the name ``benchmarks`` is taken by an installed package.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from synthkit.utils.atomic import write_json, write_text

RESULTS = Path(__file__).resolve().parent / "results"


def run_script(argv: list[str] | None, description: str, stem: str, measure: Callable[[], dict[str, Any]],
        to_markdown: Callable[[dict[str, Any]], str]) -> int:
    """Parse the arguments, run ``measure`` (its dict joins the machine and thread count), write both files."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
               "threads": args.threads, **measure()}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(args.out_dir / f"{stem}.json", results)
    write_text(args.out_dir / f"{stem}.md", to_markdown(results))
    return 0
