"""The evaluation a multi-table run calls (every other stage is shared with one-table runs).

Each table is evaluated against its own holdout rows (held out by root entity), checked for key
integrity and for child dates before the root's first date, and audited. The root table's scores
are the headline (report, gates); every table's scores and the integrity counts sit beside them.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from synthkit.audit import audit
from synthkit.errors import ConfigError
from synthkit.evaluate import evaluate
from synthkit.io import Dataset
from synthkit.meta import Metadata
from synthkit.models.medical import root_ids
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.outputs import RunFolder

__all__ = ["root_table", "owners", "integrity", "evaluate_tables", "headline", "audit_tables"]

log = logging.getLogger(__name__)
_VERDICT_ORDER = {"pass": 0, "warn": 1, "fail": 2}


def root_table(dataset: Any) -> tuple[str, str]:
    """The table every relationship leads back to, and its primary key."""
    children = {r.child_table for r in dataset.relationships}
    roots = [t for t in dataset.tables if t not in children and t in dataset.primary_keys]
    if not roots:
        raise ConfigError("the dataset has no root table (one with a primary key that is nobody's child)")
    return roots[0], dataset.primary_keys[roots[0]]


def owners(dataset: Any) -> dict[str, pd.Series]:
    """Each table's root key per row (tables not linked to the root are left out)."""
    root, key = root_table(dataset)
    return root_ids(dataset.tables, dataset.relationships, root, key)


def integrity(synthetic: dict[str, pd.DataFrame], dataset: Any) -> dict[str, Any]:
    """Orphans, duplicate keys and child dates before the root's first date, as counts."""
    report = Dataset(tables=synthetic, primary_keys=dataset.primary_keys, relationships=dataset.relationships).validate()
    root, key = root_table(dataset)
    dates = [c for c in synthetic[root].columns if pd.api.types.is_datetime64_any_dtype(synthetic[root][c])]
    before = 0
    if dates:
        born = synthetic[root].set_index(key)[dates[0]]
        born = born[~born.index.duplicated()]
        owners = root_ids(synthetic, dataset.relationships, root, key)
        for name, frame in synthetic.items():
            if name == root or name not in owners:
                continue
            floor = owners[name].map(born)
            for column in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[column]):
                    values, limit = frame[column], floor
                    if getattr(values.dt, "tz", None) is not None and getattr(limit.dt, "tz", None) is None:
                        limit = limit.dt.tz_localize(values.dt.tz)
                    elif getattr(values.dt, "tz", None) is None and getattr(limit.dt, "tz", None) is not None:
                        limit = limit.dt.tz_localize(None)
                    before += int(((values < limit) & values.notna()).sum())
    return {"orphans": int(sum(o["count"] for o in report.orphans)),
            "duplicate_keys": int(sum(report.duplicate_keys.values())),
            "dated_before_root": before, "root_date_column": dates[0] if dates else None}


def evaluate_tables(cfg: PipelineConfig, train: Any, synthetic: dict[str, pd.DataFrame],
                    holdout: dict[str, pd.DataFrame], metadata: Metadata) -> dict[str, dict[str, Any]]:
    """Flat evaluation of every table large enough, against its own holdout rows."""
    scores: dict[str, dict[str, Any]] = {}
    root, _ = root_table(train)
    # each child table's key to the root entity: rows of one patient go to the same side of the attack
    owner = {r.child_table: r.child_key for r in train.relationships if r.parent_table == root}
    for name, real in train.tables.items():
        table = metadata.table(name)
        cols = set(table.column_names)
        if min(len(real), len(synthetic.get(name, [])), len(holdout[name])) < 20:
            scores[name] = {"skipped": "fewer than 20 rows in train, holdout or synthetic data"}
            continue
        scores[name] = evaluate(
            real, synthetic[name][real.columns], holdout=holdout[name], metadata=Metadata.single(table),
            target=cfg.evaluate.target if cfg.evaluate.target in cols else None, seed=cfg.seed,
            sensitive_columns=[c for c in cfg.evaluate.sensitive_columns if c in cols] or None,
            quasi_identifiers=[c for c in cfg.evaluate.quasi_identifiers if c in cols] or None,
            max_rows=cfg.evaluate.max_rows, families=tuple(cfg.evaluate.families), entity=owner.get(name),
        ).scores
    return scores


def headline(root: str, scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The root table's metrics, the worst privacy verdict of any table, and a per-table summary."""
    evaluated = scores.get(root) or {}  # a skipped root has a reason, not metrics: the file keeps its layout version
    metrics = dict(evaluated) if "schema_version" in evaluated else {"schema_version": 1}
    summary: dict[str, Any] = {}
    worst, reasons = "pass", []
    for name, s in scores.items():
        if "skipped" in s:
            summary[name] = {"skipped": s["skipped"]}
            continue
        privacy = s.get("privacy") or {}
        verdict = privacy.get("verdict")
        summary[name] = {"fidelity": (s.get("fidelity") or {}).get("score"), "privacy_verdict": verdict,
                         "dcr_share": privacy.get("dcr_share"), "utility": (s.get("utility") or {}).get("ratio")}
        if verdict in _VERDICT_ORDER and _VERDICT_ORDER[verdict] > _VERDICT_ORDER[worst]:
            worst = verdict
        if verdict in ("warn", "fail"):
            reasons += [f"table {name}: {r}" for r in privacy.get("reasons", [])]
    if metrics.get("privacy") is not None and worst != "pass":
        metrics["privacy"] = {**metrics["privacy"], "verdict": worst,
                              "reasons": list(dict.fromkeys([*reasons, *metrics["privacy"].get("reasons", [])]))}
    metrics["tables"] = summary
    return metrics


def audit_tables(real: Any, holdout: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], metadata: Metadata,
                 folder: RunFolder, root: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Audit every synthetic table against its real rows, and the model and report against the root;
    returns the audit document and the findings."""
    findings: list[dict[str, Any]] = []
    checked: dict[str, Any] = {}
    for name, frame in synthetic.items():
        every = pd.concat([real.tables[name], holdout[name]], ignore_index=True)
        extra = {"model_dir": folder.path("model"), "report_path": folder.path("report.html")} if name == root else {}
        extra = {k: v for k, v in extra.items() if v.exists()}
        result = audit(every, Metadata.single(metadata.table(name)), synthetic=frame, **extra)
        findings += [{**f, "table": name} for f in result.findings]
        checked[name] = result.to_dict()
    return {"passed": not findings, "tables": checked}, findings
