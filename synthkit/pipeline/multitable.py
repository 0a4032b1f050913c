"""The multi-table run: a ``Dataset`` in, a ``relational`` model, one synthetic CSV per table.

Held out by root entity (a held-out patient keeps all of their rows out of training), evaluated
table by table against the same split, checked for key integrity and for child dates before the
root's first date, audited per table. The root table's scores are the headline (report, gates);
every table's scores and the integrity counts sit beside them in ``metrics.json``.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from synthkit.errors import ConfigError
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.outputs import RunFolder
from synthkit.meta import Metadata
from synthkit.utils.atomic import atomic_path, write_json

__all__ = ["load_dataset", "split_dataset", "integrity", "evaluate_tables", "audit_tables"]

log = logging.getLogger(__name__)
_VERDICT_ORDER = {"pass": 0, "warn": 1, "fail": 2}


def load_dataset(cfg: PipelineConfig) -> Any:
    """The source as a ``synthkit.io.Dataset`` (bundled multi-table set, Synthea/FHIR folder, database)."""
    from synthkit.io import Dataset, read

    src = cfg.source
    if src.dataset:
        from synthkit.datasets import load

        data = load(src.dataset)
    else:
        data = read(src.path or src.url, **src.options)
    if not isinstance(data, Dataset):
        raise ConfigError("the relational model needs a multi-table source (a Dataset: Synthea/FHIR folder, database, 'ehr')")
    return data


def root_table(dataset: Any) -> tuple[str, str]:
    """The table every relationship leads back to, and its primary key."""
    children = {r.child_table for r in dataset.relationships}
    roots = [t for t in dataset.tables if t not in children and t in dataset.primary_keys]
    if not roots:
        raise ConfigError("the dataset has no root table (one with a primary key that is nobody's child)")
    return roots[0], dataset.primary_keys[roots[0]]


def split_dataset(dataset: Any, share: float, seed: int) -> tuple[Any, dict[str, pd.DataFrame]]:
    """(train Dataset, holdout tables): whole root entities are held out with all their rows."""
    from synthkit.evaluate import split_holdout
    from synthkit.io import Dataset
    from synthkit.models.medical import root_ids

    root, key = root_table(dataset)
    ids = pd.DataFrame({key: dataset.tables[root][key].drop_duplicates()})
    train_ids, _ = split_holdout(ids, share=share, seed=seed)
    owners = root_ids(dataset.tables, dataset.relationships, root, key)
    train: dict[str, pd.DataFrame] = {}
    holdout: dict[str, pd.DataFrame] = {}
    for name, frame in dataset.tables.items():
        owner = owners.get(name)
        in_train = owner.isin(train_ids[key]).to_numpy() | owner.isna().to_numpy() if owner is not None else None
        if in_train is None:  # not linked to the root: nothing identifies whose rows these are
            train[name], holdout[name] = frame, frame.iloc[:0]
            continue
        train[name] = frame[in_train].reset_index(drop=True)
        holdout[name] = frame[~in_train].reset_index(drop=True)
    return Dataset(tables=train, primary_keys=dataset.primary_keys, relationships=dataset.relationships,
                   name=dataset.name), holdout


def integrity(synthetic: dict[str, pd.DataFrame], dataset: Any) -> dict[str, Any]:
    """Orphans, duplicate keys and child dates before the root's first date, as counts."""
    from synthkit.io import Dataset
    from synthkit.models.medical import root_ids

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
    from synthkit.evaluate import evaluate

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
    metrics = dict(scores.get(root) or {"schema_version": 1})
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


def write_sink(cfg: PipelineConfig, synthetic: dict[str, pd.DataFrame], dataset: Any, folder: RunFolder) -> dict[str, str]:
    """The synthetic tables as a Synthea-style CSV folder, a FHIR R4 bundle (.json) / NDJSON (.ndjson),
    and/or a database: every table under its own name (prefixed by ``sink.table`` if given), all in
    one transaction so a reader never sees children without their parents."""
    files: dict[str, str] = {}
    from synthkit.io import Dataset, write

    if cfg.sink.path:
        from synthkit.pipeline.stages import safe_output_path

        target = safe_output_path(folder, cfg.sink.path)
        write(Dataset(tables=synthetic, primary_keys=dataset.primary_keys, relationships=dataset.relationships), target)
        files["sink"] = cfg.sink.path
    if cfg.sink.url:
        from synthkit.io.sql import write_sql

        prefix = cfg.sink.table or ""
        write_sql({f"{prefix}{name}": frame for name, frame in synthetic.items()}, cfg.sink.url, if_exists=cfg.sink.if_exists)
        files["sink_sql"] = ", ".join(f"{prefix}{name}" for name in synthetic)
    return files


def write_tables(folder: RunFolder, synthetic: dict[str, pd.DataFrame], files: dict[str, str]) -> None:
    """One CSV per synthetic table under ``synthetic/``."""
    for name, frame in synthetic.items():
        with atomic_path(folder.path(f"synthetic/{name}.csv")) as tmp:
            frame.to_csv(tmp, index=False)
        files[f"synthetic.{name}"] = f"synthetic/{name}.csv"


def audit_tables(real: Any, holdout: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], metadata: Metadata,
                 folder: RunFolder, root: str) -> list[dict[str, Any]]:
    """Audit every synthetic table against its real rows, and the model and report against the root."""
    from synthkit.audit import audit

    findings: list[dict[str, Any]] = []
    checked: dict[str, Any] = {}
    for name, frame in synthetic.items():
        every = pd.concat([real.tables[name], holdout[name]], ignore_index=True)
        extra = {"model_dir": folder.path("model"), "report_path": folder.path("report.html")} if name == root else {}
        extra = {k: v for k, v in extra.items() if v.exists()}
        result = audit(every, Metadata.single(metadata.table(name)), synthetic=frame, **extra)
        findings += [{**f, "table": name} for f in result.findings]
        checked[name] = result.to_dict()
    write_json(folder.path("audit.json"), {"passed": not findings, "tables": checked})
    return findings
