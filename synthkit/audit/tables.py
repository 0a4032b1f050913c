"""The leakage audit of a multi-table output: each synthetic table against its own real rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.audit.core import audit
from synthkit.meta import Metadata

__all__ = ["audit_tables"]


def audit_tables(real: dict[str, pd.DataFrame], holdout: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                 metadata: Metadata, root: str, model_dir: Path, report_path: Path
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Audit every synthetic table against its real rows (``real`` and ``holdout`` together), and the
    model and report, where they exist, against the root's; returns the audit document and the findings."""
    findings: list[dict[str, Any]] = []
    checked: dict[str, Any] = {}
    for name, frame in synthetic.items():
        every = pd.concat([real[name], holdout[name]], ignore_index=True)
        extra = {"model_dir": model_dir, "report_path": report_path} if name == root else {}
        extra = {k: v for k, v in extra.items() if v.exists()}
        result = audit(every, Metadata.single(metadata.table(name)), synthetic=frame, **extra)
        findings += [{**f, "table": name} for f in result.findings]
        checked[name] = result.to_dict()
    return {"passed": not findings, "tables": checked}, findings
