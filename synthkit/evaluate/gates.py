"""Quality gates: ``family.metric OP value`` checks over the metrics dict (``metrics.json``)."""

from __future__ import annotations

import operator
import re
from typing import Any

from synthkit.errors import ConfigError

__all__ = ["GATE_FORMAT", "GATE_PATTERN", "check_gates"]

# "family.metric OP value", e.g. "fidelity.score >= 0.8" or "privacy.verdict != fail"
GATE_PATTERN = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
GATE_FORMAT = "'family.metric OP value' (OP one of >= <= > < == !=)"

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}


def _lookup(metrics: dict[str, Any], dotted: str) -> Any:
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _parse(raw: str) -> Any:
    try:
        return float(raw)
    except ValueError:
        return raw.strip("'\"")


def check_gates(gates: list[str], metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate each gate; a metric that was not computed fails its gate, with the reason."""
    results = []
    for gate in gates:
        match = GATE_PATTERN.match(gate)
        if match is None:
            raise ConfigError(f"gate {gate!r} is not {GATE_FORMAT}")
        key, op, raw = match.groups()
        actual = _lookup(metrics, key)
        expected = _parse(raw)
        entry: dict[str, Any] = {"gate": gate, "value": actual}
        if actual is None or isinstance(actual, dict):
            entry.update(passed=False, reason=f"{key} was not computed")
        elif isinstance(expected, float) and not isinstance(actual, (int, float)):
            entry.update(passed=False, reason=f"{key} is {actual!r}, not a number")
        else:
            compare = float(actual) if isinstance(expected, float) else str(actual)
            entry["passed"] = bool(_OPS[op](compare, expected))
            if not entry["passed"]:
                entry["reason"] = f"{key} = {actual!r}, needed {op} {raw}"
        results.append(entry)
    return results
