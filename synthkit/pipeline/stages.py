"""The pipeline's data stages: read the source, profile, split, fit (or reuse), sample, sink."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.errors import ConfigError, DataError, ModelFileError
from synthkit.models import Synthesizer, create
from synthkit.models.registry import DEFAULT_MODEL
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.outputs import RunFolder
from synthkit.meta import Metadata

__all__ = ["load_source", "profile_source", "load_holdout", "fit_or_reuse", "sample_synthetic", "write_sink", "safe_output_path"]

log = logging.getLogger(__name__)


def load_source(cfg: PipelineConfig) -> pd.DataFrame:
    """The real table named by ``cfg.source``, optionally subsampled to ``max_rows`` (seeded)."""
    src = cfg.source
    if src.dataset:
        from synthkit.datasets import load

        frame, _ = load(src.dataset)
    else:
        from synthkit.io import Dataset, read

        if src.url and src.options.get("create_from"):
            _create_sql_from_bundled(src.url, src.table or src.options["create_from"], src.options["create_from"])
        opts = {k: v for k, v in src.options.items() if k != "create_from"}
        data = read(src.path or src.url, table=src.table, query=src.query, **opts)
        if isinstance(data, Dataset):
            if not src.table:
                raise ConfigError(f"source {src.path} holds tables {sorted(data.tables)}; name one with source.table")
            if src.table not in data.tables:
                raise ConfigError(f"source.table {src.table!r} is not one of {sorted(data.tables)}")
            frame = data.tables[src.table]
        else:
            frame = data
    if len(frame) == 0:
        raise DataError("the source table is empty (0 rows)")
    if src.max_rows and len(frame) > src.max_rows:
        frame = frame.sample(src.max_rows, random_state=cfg.seed).reset_index(drop=True)
    return frame.reset_index(drop=True)


def _create_sql_from_bundled(url: str, table: str, dataset: str) -> None:
    """Demo helper: fill a SQL table from a bundled dataset when it does not exist yet."""
    import sqlalchemy as sa

    from synthkit.datasets import load
    from synthkit.io import write

    engine = sa.create_engine(url)
    try:
        exists = sa.inspect(engine).has_table(table)
    finally:
        engine.dispose()
    if not exists:
        train, _ = load(dataset)
        write(train, url, table=table, if_exists="fail")
        log.info("created table %s in %s from bundled dataset %s", table, url, dataset)


def profile_source(cfg: PipelineConfig, real: pd.DataFrame) -> Metadata:
    """Profile the real data and apply the config's overrides (kinds, PII classes, primary key)."""
    from synthkit.profile import profile

    metadata = profile(real, name=cfg.name)
    table = metadata.table()
    overrides = cfg.profile
    for column in [*overrides.kinds, *overrides.pii]:
        if column not in table.column_names:
            raise ConfigError(f"profile override names column {column!r}, which the data does not have")
    for column, kind in overrides.kinds.items():
        _override(table.column(column), "kind", kind, f"profile.kinds.{column}")
    for column, pii in overrides.pii.items():
        _override(table.column(column), "pii", pii, f"profile.pii.{column}")
    if overrides.primary_key is not None:
        if overrides.primary_key not in table.column_names:
            raise ConfigError(f"profile.primary_key names column {overrides.primary_key!r}, which the data does not have")
        table.primary_key = overrides.primary_key
    return Metadata.from_dict(metadata.to_dict())


def sequence_columns(cfg: PipelineConfig, metadata: Metadata) -> dict[str, Any] | None:
    """Entity, time and context columns when the configured model is sequential, else None."""
    from synthkit.models.registry import get

    model_cls = get(model_name(cfg))
    if not hasattr(model_cls, "sample_for"):  # only sequence models generate whole entities
        return None
    table = metadata.table()
    params = cfg.model.params
    entity = params.get("entity") or table.sequence_key
    if not entity:
        raise ConfigError(f"model {model_cls.name!r} needs model.params.entity (the column naming each sequence)")
    time = params.get("time") or table.sequence_index
    context = list(params.get("context") or [])
    for column in [entity, time, *context]:
        if column is not None and column not in table.column_names:
            raise ConfigError(f"model.params names column {column!r}, which the data does not have")
    measures = [c for c in table.column_names if c not in {entity, time, *context}]
    return {"entity": entity, "time": time, "context": context, "measures": measures}


def _override(column: Any, field: str, value: Any, key: str) -> None:
    """Set a metadata field from the config; a value the schema refuses is named with its key."""
    from pydantic import ValidationError

    try:
        setattr(column, field, value)
    except ValidationError as exc:
        allowed = exc.errors()[0].get("ctx", {}).get("expected", "")
        hint = f" (expected {allowed})" if allowed else ""
        raise ConfigError(f"{key}: {value!r} is not a valid {field}{hint}") from None


def load_holdout(cfg: PipelineConfig, real: pd.DataFrame, entity: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off (or read) the holdout before fitting: the model never sees it.

    With an ``entity`` column (sequences) whole entities are held out, so no held-out person has
    a single event in the training data.
    """
    if cfg.holdout.path:
        from synthkit.io import read

        holdout = read(cfg.holdout.path)
        if not isinstance(holdout, pd.DataFrame):
            raise ConfigError("holdout.path must be a single table")
        if list(holdout.columns) != list(real.columns):
            raise DataError(f"holdout columns {list(holdout.columns)} differ from the source's {list(real.columns)}")
        return real, holdout
    from synthkit.evaluate import split_holdout

    if entity is None:
        return split_holdout(real, share=cfg.holdout.share, seed=cfg.holdout.seed)
    ids = pd.DataFrame({entity: pd.unique(real[entity])})
    train_ids, _ = split_holdout(ids, share=cfg.holdout.share, seed=cfg.holdout.seed)
    in_train = real[entity].isin(train_ids[entity]).to_numpy()
    return real[in_train].reset_index(drop=True), real[~in_train].reset_index(drop=True)


def model_name(cfg: PipelineConfig) -> str:
    """The registered model a config asks for ('auto' resolved)."""
    return DEFAULT_MODEL if cfg.model.name == "auto" else cfg.model.name


def fit_or_reuse(cfg: PipelineConfig, train: pd.DataFrame, metadata: Metadata, folder: RunFolder,
                 reuse: bool) -> tuple[Synthesizer, bool]:
    """Fit the configured model, or load the previous run's model when it matches exactly."""
    from synthkit.pipeline.runner import fingerprint

    name = model_name(cfg)
    params = dict(cfg.model.params)
    params.setdefault("seed", cfg.seed)
    stamp = fingerprint(train, name, params, cfg.seed, metadata.to_dict())
    previous = folder.previous("model")
    if reuse and (previous / "model.json").is_file():
        marker = folder.previous("model.fingerprint")
        if marker.is_file() and marker.read_text().strip() == stamp:
            try:
                model = Synthesizer.load(previous)
                model.save(folder.path("model"))
                (folder.path("model.fingerprint")).write_text(stamp)
                log.info("reusing the saved %s model from %s", name, previous)
                return model, True
            except ModelFileError as exc:
                log.warning("cannot reuse the saved model (%s); fitting a new one", exc)
        else:
            log.info("saved model does not match this data/config; fitting a new one")
    try:
        model = create(name, metadata=metadata, **params)
    except TypeError as exc:
        raise ConfigError(f"invalid parameters for model {name!r}: {exc}") from None
    model.fit(train)
    model.save(folder.path("model"))
    folder.path("model.fingerprint").write_text(stamp)
    return model, False


def sample_synthetic(cfg: PipelineConfig, model: Synthesizer, n_train: int) -> pd.DataFrame:
    """Sample as many rows as configured (default: as many as the training rows).

    For sequence models ``n_train`` counts training entities and rows mean entities.
    """
    if cfg.sample.rows is not None:
        n = cfg.sample.rows
    elif cfg.sample.ratio is not None:
        n = max(1, int(round(cfg.sample.ratio * n_train)))
    else:
        n = n_train
    seed = cfg.sample.seed if cfg.sample.seed is not None else cfg.seed
    return model.sample(n, seed=seed, conditions=cfg.sample.conditions or None)


def safe_output_path(folder: RunFolder, relative: str) -> Path:
    """A path inside the run folder; configs cannot write outside it."""
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise ConfigError(f"sink.path {relative!r} must be a relative path inside the run folder")
    return folder.path(str(rel))


def write_sink(cfg: PipelineConfig, synthetic: pd.DataFrame, folder: RunFolder) -> dict[str, str]:
    """Extra outputs: a file inside the run folder and/or a SQL table (in one transaction)."""
    files: dict[str, str] = {}
    sink = cfg.sink
    if sink.path:
        from synthkit.io import write

        target = safe_output_path(folder, sink.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        write(synthetic, target)
        files["sink"] = sink.path
    if sink.url:
        from synthkit.io import write

        write(synthetic, sink.url, table=sink.table, if_exists=sink.if_exists)
        files["sink_sql"] = f"{sink.table}"
    return files

