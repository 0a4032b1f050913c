"""What a run reads: the source as a ``Dataset`` (one table is a Dataset of one table), its
profile with the config's overrides, and the train/holdout split by unit (row, entity or root row).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from pydantic import ValidationError

from synthkit.datasets import load, to_sql
from synthkit.errors import ConfigError, DataError
from synthkit.evaluate.inputs import split_units
from synthkit.io import Dataset, read
from synthkit.meta import Metadata
from synthkit.models.base import SequenceSynthesizer
from synthkit.pipeline.config import PipelineConfig
from synthkit.utils.paths import safe_name

__all__ = ["load_source", "safe_tables", "apply_profile", "sequence_columns", "split"]

log = logging.getLogger(__name__)


def load_source(cfg: PipelineConfig, multi: bool) -> Dataset:
    """The real data: every table for a multi-table model, else the one table (``max_rows`` seeded)."""
    src = cfg.source
    if src.dataset:
        data = load(src.dataset) if multi else load(src.dataset)[0]
    else:
        if src.url and src.options.get("create_from"):
            to_sql(src.options["create_from"], src.url, src.table or src.options["create_from"])
        opts = {k: v for k, v in src.options.items() if k != "create_from"}
        data = read(src.path or src.url, **({} if multi else {"table": src.table, "query": src.query}), **opts)
    if multi:
        if not isinstance(data, Dataset):
            raise ConfigError("a multi-table model needs a multi-table source (a Dataset: Synthea/FHIR folder, database, 'ehr')")
        return data
    if isinstance(data, Dataset):
        if src.table not in data.tables:
            raise ConfigError(f"source {src.path or src.url} holds tables {sorted(data.tables)}; name one with source.table")
        data = data.tables[src.table]
    if len(data) == 0:
        raise DataError("the source table is empty (0 rows)")
    if src.max_rows and len(data) > src.max_rows:
        data = data.sample(src.max_rows, random_state=cfg.seed)
    return Dataset(tables={cfg.name: data.reset_index(drop=True)}, name=cfg.name)


def safe_tables(data: Dataset) -> tuple[Dataset, dict[str, str]]:
    """Rename tables whose names cannot be file names (``../x``, ``CON``, ``.hidden``); returns the mapping."""
    names = {t: safe_name(t) for t in data.tables}
    mapped = {t: s for t, s in names.items() if t != s}
    if not mapped:
        return data, {}
    if len(set(names.values())) < len(names):
        raise DataError("two table names map to the same safe file name; rename the tables")
    log.warning("table names mapped to safe file names: %s", mapped)
    rels = [r.model_copy(update={"parent_table": names[r.parent_table], "child_table": names[r.child_table]})
            for r in data.relationships]
    return Dataset(tables={names[t]: f for t, f in data.tables.items()}, relationships=rels, name=data.name,
                   primary_keys={names[t]: k for t, k in data.primary_keys.items()},
                   sequence_keys={names[t]: k for t, k in data.sequence_keys.items()}), mapped


def apply_profile(cfg: PipelineConfig, metadata: Metadata, root: str) -> Metadata:
    """The config's overrides (kinds, PII classes, primary key) applied to the root table's metadata."""
    table = metadata.table(root)
    overrides = cfg.profile
    for column in [*overrides.kinds, *overrides.pii, *filter(None, [overrides.primary_key])]:
        if column not in table.column_names:
            raise ConfigError(f"profile override names column {column!r}, which the data does not have")
    for column, kind in overrides.kinds.items():
        _override(table.column(column), "kind", kind, f"profile.kinds.{column}")
    for column, pii in overrides.pii.items():
        _override(table.column(column), "pii", pii, f"profile.pii.{column}")
    if overrides.primary_key is not None:
        table.primary_key = overrides.primary_key
    return Metadata.from_dict(metadata.to_dict())


def _override(column: Any, field: str, value: Any, key: str) -> None:
    """Set a metadata field from the config; a value the schema refuses is named with its key."""
    try:
        setattr(column, field, value)
    except ValidationError as exc:
        allowed = exc.errors()[0].get("ctx", {}).get("expected", "")
        hint = f" (expected {allowed})" if allowed else ""
        raise ConfigError(f"{key}: {value!r} is not a valid {field}{hint}") from None


def sequence_columns(cfg: PipelineConfig, model_cls: type, metadata: Metadata) -> dict[str, Any] | None:
    """Entity, time and context columns when the model keeps the sequence protocol, else None."""
    if getattr(model_cls, "protocol", None) is not SequenceSynthesizer:
        return None
    table = metadata.table()
    params = cfg.model.params
    entity = params.get("entity") or table.sequence_key
    if not entity:
        raise ConfigError(f"model {cfg.model.name!r} needs model.params.entity (the column naming each sequence)")
    time = params.get("time") or table.sequence_index
    context = list(params.get("context") or [])
    for column in [entity, time, *context]:
        if column is not None and column not in table.column_names:
            raise ConfigError(f"model.params names column {column!r}, which the data does not have")
    measures = [c for c in table.column_names if c not in {entity, time, *context}]
    return {"entity": entity, "time": time, "context": context, "measures": measures}


def split(cfg: PipelineConfig, data: Dataset, owners: dict[str, pd.Series], root: str
          ) -> tuple[Dataset, dict[str, pd.DataFrame]]:
    """(train, holdout) before fitting: the ``holdout.path`` table, or whole units held out (rows,
    entities, root rows with all their children; ``owners``: each table's unit per row, see :func:`split_units`)."""
    if cfg.holdout.path:
        (name, real), = data.tables.items()
        holdout = read(cfg.holdout.path)
        if not isinstance(holdout, pd.DataFrame):
            raise ConfigError("holdout.path must be a single table")
        if list(holdout.columns) != list(real.columns):
            raise DataError(f"holdout columns {list(holdout.columns)} differ from the source's {list(real.columns)}")
        return data, {name: holdout}
    return split_units(data, owners, root, share=cfg.holdout.share, seed=cfg.holdout.seed)
