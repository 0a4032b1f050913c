"""Leakage audit: fail loudly when real PII values or whole real rows reach synthetic outputs.

``audit(real, metadata, synthetic=..., model_dir=..., report_path=..., run_dir=...)`` returns an
:class:`AuditResult` (``.passed``, ``.findings``, ``.to_dict()``, ``.raise_if_failed()``). Findings
give locations and counts, never the leaked values. ``audit_tables`` audits a multi-table
output table by table; ``ReproducedEntities`` is the whole-record rule for sequences. Rules: :mod:`synthkit.audit.sources`.
"""

from synthkit.audit.core import DEFAULT_MIN_ROW_COLUMNS, AuditResult, ReproducedRows, audit, reproduced_rows
from synthkit.audit.entities import ReproducedEntities
from synthkit.audit.sources import MIN_VALUE_CHARS, NOT_SCANNED_PII, SCANNED_PII
from synthkit.audit.tables import audit_tables

__all__ = ["DEFAULT_MIN_ROW_COLUMNS", "MIN_VALUE_CHARS", "NOT_SCANNED_PII", "SCANNED_PII", "AuditResult", "ReproducedEntities", "ReproducedRows",
           "audit", "audit_tables", "reproduced_rows"]
