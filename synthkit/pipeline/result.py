"""What a run produced and the exit codes the CLI returns for it (kept apart so every flow can build one)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RunResult", "EXIT_OK", "EXIT_INTERNAL_ERROR", "EXIT_INPUT_ERROR", "EXIT_GATE_FAILED", "EXIT_LEAK",
           "EXIT_SINK_FAILED"]

EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1
EXIT_INPUT_ERROR = 2
EXIT_GATE_FAILED = 3
EXIT_LEAK = 4
EXIT_SINK_FAILED = 5
_EXIT = {"leak_detected": EXIT_LEAK, "gate_failed": EXIT_GATE_FAILED, "sink_failed": EXIT_SINK_FAILED}


@dataclass
class RunResult:
    """What a run produced; ``exit_code`` is what the CLI returns."""

    name: str
    output_dir: Path
    status: str
    gates: list[dict[str, Any]]
    files: dict[str, str]
    timings: dict[str, float]
    headline: dict[str, Any] = field(default_factory=dict)
    leaks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return _EXIT.get(self.status, EXIT_OK)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exit_code": self.exit_code, "output_dir": str(self.output_dir)}
