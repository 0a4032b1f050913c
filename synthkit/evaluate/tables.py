"""Evaluation of a multi-table dataset: every table against its own holdout rows, key integrity.

Each table is evaluated against its own holdout rows (held out by root entity) and checked for key
integrity and for child dates before the root's first date. The root table's scores are the
headline (report, gates); every table's scores and the integrity counts sit beside them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthkit.evaluate.evaluation import evaluate
from synthkit.io import Dataset
from synthkit.meta import Metadata
from synthkit.models.medical import root_ids

__all__ = ["evaluate_tables", "headline", "key_integrity"]

_VERDICT_ORDER = {"pass": 0, "warn": 1, "fail": 2}


def key_integrity(synthetic: dict[str, pd.DataFrame], dataset: Dataset) -> dict[str, Any]:
    """Orphans, duplicate keys and child dates before the root's first date, as counts; ``dataset``
    (the real data) gives the keys and relationships."""
    report = Dataset(tables=synthetic, primary_keys=dataset.primary_keys, relationships=dataset.relationships).validate()
    root, key = dataset.root()
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


def evaluate_tables(train: Dataset, synthetic: dict[str, pd.DataFrame], holdout: dict[str, pd.DataFrame],
                    metadata: Metadata, *, target: str | None = None, sensitive_columns: list[str] | None = None,
                    quasi_identifiers: list[str] | None = None, **options: Any) -> dict[str, dict[str, Any]]:
    """Flat evaluation of every table large enough, against its own holdout rows. The column options
    apply to the tables that have those columns; ``options`` go to :func:`evaluate` as they are."""
    scores: dict[str, dict[str, Any]] = {}
    root, _ = train.root()
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
            target=target if target in cols else None,
            sensitive_columns=[c for c in sensitive_columns or [] if c in cols] or None,
            quasi_identifiers=[c for c in quasi_identifiers or [] if c in cols] or None,
            entity=owner.get(name), **options,
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
