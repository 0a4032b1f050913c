"""Subprocess body of the memory-cap test: warm up, cap the data segment (RLIMIT_DATA) at what the
warm interpreter uses plus a budget, prove the cap binds (reading the whole lake into pandas fails)
and run profile -> fit copula -> sample -> evaluate -> audit over the same lake under it.

Why RLIMIT_DATA and not RLIMIT_AS: torch, OpenBLAS and Arrow reserve large PROT_NONE address ranges
they never touch, so an address-space cap measures reservations, not memory. Since Linux 4.7,
RLIMIT_DATA caps the private writable mappings (heap, anonymous mmap: every numpy, pandas, Arrow
and Python object allocation, thread stacks too), which is the memory a table would fill.

Usage: python memcap_run.py <lake> <warm-up lake> <out dir> <budget MB> <batch rows>; prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import threading
from pathlib import Path

import yaml


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


class _Peak(threading.Thread):
    """Largest VmData seen (every 20 ms): how much of the budget the run used."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.stop = _status("VmData"), threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, _status("VmData"))


def _config(lake: str, out: Path, name: str, batch: int = 2_000) -> Path:
    cfg = {"name": name, "output_dir": str(out / name), "source": {"path": lake}, "model": {"name": "copula"},
           "evaluate": {"max_rows": 500, "families": ["fidelity"]}, "report": {"enabled": False},
           "engine": {"kind": "local", "num_workers": 2, "batch_rows": batch, "block_rows": 10_000, "sample_rows": 500}}
    path = out / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def main() -> None:
    lake, warm, out, budget_mb, batch = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    import pandas as pd

    from synthkit.pipeline import run

    run(_config(warm, out, "warmup", batch))  # every module, thread stack and allocator arena in place
    gc.collect()
    cap = _status("VmData") + budget_mb * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    result: dict = {"budget_mb": budget_mb, "vm_data_at_cap": cap - budget_mb * 2**20}
    try:
        frame = pd.read_parquet(lake)
        result["load"] = f"loaded {len(frame)} rows"  # the cap did not bind: the test fails on this
        del frame
    except MemoryError:
        result["load"] = "MemoryError"
    except Exception as exc:  # noqa: BLE001 - pyarrow reports its own allocation failures
        result["load"] = f"{type(exc).__name__}: {str(exc)[:120]}"
    gc.collect()
    watch = _Peak()
    watch.start()
    done = run(_config(lake, out, "capped", batch))
    watch.stop.set()
    details = json.loads((done.output_dir / "engine.json").read_text())
    result.update(status=done.status, fidelity=done.headline.get("fidelity"), rows=details["all_rows"],
                  sample=details["sample"], audit_rows=details["audit"]["synthetic_rows"],
                  used_mb=round((watch.peak - result["vm_data_at_cap"]) / 2**20, 1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
