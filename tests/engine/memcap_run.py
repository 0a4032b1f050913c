"""Subprocess body of the memory-cap test: warm up, cap the address space, then prove the cap binds
(loading the whole lake fails) and a streaming pipeline over the same lake completes under it.

Usage: python memcap_run.py <big lake> <small lake> <out dir> <margin MB>; prints one JSON line.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import yaml


def _vm(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _config(lake: str, out: Path, name: str) -> Path:
    cfg = {"name": name, "output_dir": str(out / name), "source": {"path": lake}, "model": {"name": "copula"},
           "evaluate": {"max_rows": 500, "families": ["fidelity"]}, "report": {"enabled": False},
           "engine": {"kind": "local", "num_workers": 2, "batch_rows": 20_000, "block_rows": 20_000, "sample_rows": 1_000}}
    path = out / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def main() -> None:
    big, small, out, margin_mb = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    from synthkit.io.lake import read_lake
    from synthkit.pipeline import run

    run(_config(small, out, "warmup"))  # every module, thread pool and allocator arena in place
    cap = _vm("VmSize") + margin_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    result = {"cap_bytes": cap, "margin_mb": margin_mb}
    try:
        frame = read_lake(big)
        result["load"] = f"loaded {len(frame)} rows"  # the cap did not bind: the test fails on this
        del frame
    except MemoryError:
        result["load"] = "MemoryError"
    except Exception as exc:  # pyarrow reports its own allocation failures
        result["load"] = f"{type(exc).__name__}: {str(exc)[:120]}"
    done = run(_config(big, out, "big"))
    run_info = json.loads((done.output_dir / "engine.json").read_text())
    result.update(status=done.status, fidelity=done.headline.get("fidelity"), rows=run_info["all_rows"],
                  sample=run_info["sample"], vm_peak=_vm("VmPeak"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
