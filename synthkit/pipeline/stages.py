"""The stages of a run, in order, each a plain function over one :class:`RunContext`.

load → profile → split → fit → sample → validate → evaluate → report → audit → commit → sink.
Everything up to ``commit`` writes into the staging folder (the audit scans all of it, report
included); ``commit`` swaps it in; only then does ``sink`` write outside the run folder, in one
transaction. A single table is a ``Dataset`` of one table named after the run, so one-table,
sequence and multi-table runs pass the same stages and differ only in the model call
(``fit``/``sample``) and the evaluation (``evaluate``, ``audit``). A run over an engine (``engine:
ray`` or a Parquet lake) passes the same stages too: where its stage differs, it asks the run's
:class:`~synthkit.engine.dataplane.Lake` (merged statistics, workers' Parquet parts, hash-join
audit) instead of a frame. ``RunContext.hooks`` is the test seam: each hook is called with every
point the run passes (stage starts, ``write:<output>``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import torch

from synthkit import __version__
from synthkit.audit import audit as audit_outputs
from synthkit.audit import audit_tables
from synthkit.engine.dataplane import Lake
from synthkit.errors import ConfigError, ModelFileError, SynthkitError
from synthkit.evaluate import evaluate as evaluate_data
from synthkit.evaluate import selection as _selection  # noqa: F401  (registers model "auto")
from synthkit.evaluate.gates import check_gates
from synthkit.evaluate.tables import evaluate_tables, headline, key_integrity
from synthkit.evaluate.temporal import temporal_metrics
from synthkit.io import Dataset, write
from synthkit.io.lake import LakeSource, is_lake
from synthkit.io.sql import redact_url
from synthkit.io.sql_write import write_sql
from synthkit.meta import Metadata
from synthkit.models import Synthesizer, create
from synthkit.models.base import MultiTableSynthesizer
from synthkit.models.medical import root_ids
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.inputs import apply_profile, load_source, safe_tables, sequence_columns, split
from synthkit.pipeline.outputs import RunFolder
from synthkit.pipeline.redraw import redraw_reproduced_entities, redraw_reproduced_rows
from synthkit.privacy import dp_metrics
from synthkit.profile import profile as profile_data
from synthkit.profile.expectations import build_suite, save_suite
from synthkit.profile.expectations import validate as run_suite
from synthkit.report import render_report
from synthkit.utils.atomic import atomic_path, write_json, write_text

__all__ = ["RunContext", "STAGES", "is_multi", "fingerprint", "versions"]

log = logging.getLogger(__name__)


def is_multi(model_cls: type) -> bool:
    """Whether the model keeps the multi-table protocol (fit on a ``Dataset``, sample a ``Dataset``)."""
    return getattr(model_cls, "protocol", None) is MultiTableSynthesizer


@dataclass
class RunContext:
    """Everything one run has read, learned and written so far."""

    cfg: PipelineConfig
    folder: RunFolder
    model_cls: type
    reuse_model: bool = False
    hooks: list[Callable[[str], None]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    data: Dataset = field(init=False)  # the real data, every table (set by load)
    names: dict[str, str] = field(default_factory=dict)  # table name -> safe file name, where they differ
    root: str = ""  # the table the headline scores, report and gates describe
    metadata: Metadata = field(init=False)  # set by profile
    suite: Any = None  # Great Expectations suite of the real table (one-table runs)
    sequence: dict[str, Any] | None = None  # entity/time/context columns of a sequence model
    train: Dataset = field(init=False)  # set by split
    holdout: dict[str, pd.DataFrame] = field(default_factory=dict)
    model: Any = None
    reused: bool = False
    synthetic: dict[str, pd.DataFrame] = field(default_factory=dict)
    validation: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ok"
    leaks: list[dict[str, Any]] = field(default_factory=list)
    lake: Lake | None = None  # an engine run's data plane (set by the runner): no stage holds the whole table

    @property
    def multi(self) -> bool:
        return is_multi(self.model_cls)

    def point(self, name: str) -> None:
        """Tell the hooks the run reached ``name`` (a stage, or ``write:<output>`` inside one)."""
        for hook in self.hooks:
            hook(name)


def load(ctx: RunContext) -> None:
    cfg, path = ctx.cfg, ctx.cfg.source.path
    if ctx.lake:  # a lake source stays on disk; any other source is read and batched by the engine
        ctx.lake.load(LakeSource.open(path) if path and is_lake(path) else load_source(cfg, False).tables[cfg.name])
    else:
        ctx.data, ctx.names = safe_tables(load_source(cfg, ctx.multi))
    ctx.root = ctx.data.root()[0] if ctx.multi else cfg.name


def profile(ctx: RunContext) -> None:
    cfg = ctx.cfg
    if ctx.lake:
        raw = ctx.lake.profile(cfg.name, cfg.holdout.share, cfg.holdout.seed)
    else:
        raw = profile_data(ctx.data if ctx.multi else ctx.data.tables[ctx.root], name=cfg.name)
    ctx.metadata = apply_profile(cfg, raw, ctx.root)
    if not ctx.multi:
        ctx.sequence = sequence_columns(cfg, ctx.model_cls, ctx.metadata)
        if ctx.sequence:  # recorded, so that auditing the run folder later compares whole records too
            table = ctx.metadata.table()
            table.sequence_key, table.sequence_index = ctx.sequence["entity"], ctx.sequence["time"]
    ctx.metadata.save(ctx.folder.path("metadata.json"))
    ctx.files["metadata"] = "metadata.json"
    if ctx.multi:  # per-table columns are checked by the multi-table evaluation
        return
    columns = ctx.metadata.table().column_names
    for column in [cfg.evaluate.target, *cfg.evaluate.sensitive_columns, *cfg.evaluate.quasi_identifiers]:
        if column is not None and column not in columns:
            raise ConfigError(f"evaluate names column {column!r}, which the data does not have")
    if not cfg.profile.expectations:
        return
    try:
        ctx.suite = build_suite(ctx.metadata)
    except ImportError as exc:
        log.warning("Great Expectations suite skipped: %s", exc)
        return
    save_suite(ctx.suite, ctx.folder.path("expectations.json"))
    ctx.files["expectations"] = "expectations.json"


def split_holdout(ctx: RunContext) -> None:
    """Hold out whole units: rows, a sequence's entities, or root rows with all their children. An
    engine run's rows are split by a content hash inside every pass (profile): the row-level stages
    see the seeded samples of each side."""
    if ctx.lake:
        ctx.train, ctx.holdout = Dataset(tables={ctx.root: ctx.lake.train.sample}), {ctx.root: ctx.lake.holdout.sample}
        return
    if ctx.multi:
        owners = root_ids(ctx.data.tables, ctx.data.relationships, *ctx.data.root())
    else:
        frame = ctx.data.tables[ctx.root]
        owners = {ctx.root: frame[ctx.sequence["entity"]] if ctx.sequence else pd.Series(np.arange(len(frame)))}
    ctx.train, ctx.holdout = split(ctx.cfg, ctx.data, owners, ctx.root)


def fit(ctx: RunContext) -> None:
    """Fit the model, or (``reuse_model``) load the previous run's when data and settings match."""
    cfg, folder = ctx.cfg, ctx.folder
    name, params = cfg.model.name, {"seed": cfg.seed, **cfg.model.params}
    if name == "auto" and cfg.evaluate.target and "target" not in params:  # auto also scores what the rows are for
        params["target"] = cfg.evaluate.target
    stamp = fingerprint(ctx.train, name, params, ctx.metadata.to_dict(),
                        ctx.lake and f"{ctx.lake.train.rows} rows, content {ctx.lake.train.content}")
    previous = folder.previous("model.fingerprint")
    if ctx.reuse_model and previous.is_file() and previous.read_text().strip() == stamp:
        try:
            ctx.model, ctx.reused = Synthesizer.load(folder.previous("model")), True
            log.info("reusing the saved %s model from %s", name, folder.previous("model"))
        except ModelFileError as exc:
            log.warning("cannot reuse the saved model (%s); fitting a new one", exc)
    elif ctx.reuse_model:
        log.info("saved model does not match this data/config; fitting a new one")
    if ctx.reused and ctx.lake:
        ctx.lake.record["fit"] = {"method": "reused the previous run's model (--reuse-model)"}
    elif ctx.lake:
        ctx.model = ctx.lake.fit(name, params, ctx.metadata)
    elif not ctx.reused:
        ctx.model = create(name, **({} if ctx.multi else {"metadata": ctx.metadata}), **params)  # params checked in preflight
        ctx.model.fit(ctx.train if ctx.multi else ctx.train.tables[ctx.root])
    ctx.point("write:model")
    ctx.model.save(folder.path("model"))
    write_text(folder.path("model.fingerprint"), stamp)
    ctx.files["model"] = "model"


def sample(ctx: RunContext) -> None:
    """Sample (rows default to the training units: rows, entities or root rows) and write the tables."""
    cfg, model = ctx.cfg, ctx.model
    seed = cfg.sample.seed if cfg.sample.seed is not None else cfg.seed
    if ctx.multi:
        out = (model.sample(cfg.sample.rows, seed=seed) if cfg.sample.rows is not None
               else model.sample(seed=seed, scale=cfg.sample.ratio or 1.0))
        ctx.synthetic = dict(out.tables)
    else:
        train = ctx.train.tables[ctx.root]
        units = ctx.lake.train.rows if ctx.lake else train[ctx.sequence["entity"]].nunique() if ctx.sequence else len(train)
        n = cfg.sample.rows or (max(1, int(round(cfg.sample.ratio * units))) if cfg.sample.ratio else units)
        if ctx.lake:  # the workers write the Parquet parts; the stages after see a seeded sample of them
            ctx.point("write:synthetic")
            ctx.synthetic = {ctx.root: ctx.lake.sample(ctx.folder.path("model"), n, seed, ctx.folder.path("synthetic"))}
            ctx.files["synthetic"] = "synthetic"
            return
        ctx.synthetic = {ctx.root: model.sample(n, seed=seed, conditions=cfg.sample.conditions or None)}
        parts = [ctx.train.tables[ctx.root], ctx.holdout.get(ctx.root)]  # no row or record of either may come back
        real, table = pd.concat([p for p in parts if p is not None and len(p)], ignore_index=True), ctx.metadata.table(None)
        if ctx.sequence:
            ctx.synthetic[ctx.root] = redraw_reproduced_entities(model, real, table, ctx.sequence["entity"], ctx.sequence["time"],
                                                                 ctx.synthetic[ctx.root], seed)
        else:
            ctx.synthetic[ctx.root] = redraw_reproduced_rows(model, real, table, ctx.synthetic[ctx.root], seed,
                                                             cfg.sample.conditions or None)
    ctx.point("write:synthetic")
    for name, frame in ctx.synthetic.items():
        rel = f"synthetic/{name}.csv" if ctx.multi else "synthetic.csv"
        with atomic_path(ctx.folder.path(rel)) as tmp:
            frame.to_csv(tmp, index=False)
        ctx.files[f"synthetic.{name}" if ctx.multi else "synthetic"] = rel
    if cfg.sink.path:  # a file sink lives inside the run folder: staged, audited, committed with it
        ctx.point("write:sink_file")
        write(Dataset(tables=ctx.synthetic, primary_keys=ctx.data.primary_keys, relationships=ctx.data.relationships)
              if ctx.multi else ctx.synthetic[ctx.root], ctx.folder.path(cfg.sink.path))
        ctx.files["sink"] = cfg.sink.path


def validate(ctx: RunContext) -> None:
    if ctx.suite is None:
        return
    ctx.validation = run_suite(ctx.synthetic[ctx.root], ctx.suite)
    write_json(ctx.folder.path("validation.json"), ctx.validation)
    ctx.files["validation"] = "validation.json"


def evaluate(ctx: RunContext) -> None:
    """Scores (one table, or every table with the root's as headline), then the gates."""
    cfg = ctx.cfg
    metrics = _scores(ctx)
    if ctx.multi:
        metrics["keys"] = key_integrity(ctx.synthetic, ctx.data)
    if getattr(ctx.model, "privacy_guarantee_", None):  # a DP model's formal guarantee beside the empirical results
        metrics.setdefault("privacy", {})["dp"] = dp_metrics(ctx.model)
    ctx.gates = check_gates(cfg.gates, metrics)
    ctx.status = "gate_failed" if any(not g["passed"] for g in ctx.gates) else "ok"
    metrics.update(gates=ctx.gates, status=ctx.status)
    pipeline = metrics.setdefault("meta", {})["pipeline"] = {
        "name": cfg.name, "model": getattr(ctx.model, "chosen_", ctx.model).name, "model_reused": ctx.reused,
        "seed": cfg.seed, "timings": ctx.timings}
    if getattr(ctx.model, "selection_", None):  # model: auto — what was measured and why this model
        pipeline["model_selection"] = ctx.model.selection_
    if ctx.multi:
        pipeline["root_table"] = ctx.root
    if ctx.lake:
        pipeline["engine"] = ctx.lake.describe()
    if ctx.validation is not None:
        metrics["validation"] = {k: ctx.validation.get(k) for k in ("success", "evaluated", "successful", "success_percent")}
    ctx.metrics = metrics
    write_json(ctx.folder.path("metrics.json"), metrics)
    ctx.files["metrics"] = "metrics.json"


def _scores(ctx: RunContext) -> dict[str, Any]:
    """The metric families of every table (the root's as headline), of an engine run, or of one table."""
    ev, seq = ctx.cfg.evaluate, ctx.sequence
    options = {"target": ev.target, "sensitive_columns": ev.sensitive_columns or None, "max_rows": ev.max_rows,
               "quasi_identifiers": ev.quasi_identifiers or None, "families": tuple(ev.families), "seed": ctx.cfg.seed}
    if ctx.multi:
        return headline(ctx.root, evaluate_tables(ctx.train, ctx.synthetic, ctx.holdout, ctx.metadata, **options)
                        if ev.enabled else {})
    if not ev.enabled:
        return {"schema_version": 1}
    if ctx.lake:
        return ctx.lake.evaluate(ctx.metadata, **options)
    train, synthetic = ctx.train.tables[ctx.root], ctx.synthetic[ctx.root]
    # held out by entity: the membership attack compares whole entities too
    metrics = dict(evaluate_data(train, synthetic, holdout=ctx.holdout[ctx.root], metadata=ctx.metadata,
                                 entity=seq["entity"] if seq else None, **options).scores)
    if seq:
        metrics["temporal"] = temporal_metrics(train, synthetic, seq["entity"], seq["time"], seq["measures"], seed=ctx.cfg.seed)
    return metrics


def report(ctx: RunContext) -> None:
    cfg = ctx.cfg
    if not cfg.report.enabled:
        return
    ctx.point("write:report")
    train, table = ctx.train.tables[ctx.root], ctx.metadata.table(ctx.root)
    src = cfg.source
    where = src.dataset and f"bundled dataset {src.dataset!r}" or src.path or f"{redact_url(src.url or '')} {src.table or 'query'}"
    where = f"{where} ({ctx.lake.train.rows if ctx.lake else len(train):,} training rows)"
    run_info = {
        "dataset": f"{where}, root table {ctx.root!r} of {sorted(ctx.synthetic)}" if ctx.multi else where,
        "model": ctx.model.name if not hasattr(ctx.model, "chosen_") else f"auto → {ctx.model.chosen_.name}",
        "model_params": ctx.model.get_params(), "config": cfg.public_dict(),
        "timings": ctx.timings, "versions": versions(), "seed": cfg.seed,
        "pii_handling": {
            c.name: f"replaced with fake {c.pii} values" if c.pii not in ("date_of_birth", "latitude", "longitude")
            else f"learned as a number with tails clipped ({c.pii})"
            for c in table.columns if c.is_pii
        },
        **(ctx.lake.report_lines() if ctx.lake else {}),
    }
    render_report(ctx.folder.path("report.html"), metrics=ctx.metrics, real=train, synthetic=ctx.synthetic[ctx.root],
                  metadata=Metadata.single(table), validation=ctx.validation, run=run_info, k=cfg.report.k)
    ctx.files["report"] = "report.html"


def audit(ctx: RunContext) -> None:
    """Scan every staged output for real PII values and unique real rows (values never logged)."""
    if ctx.multi:
        doc, ctx.leaks = audit_tables(ctx.train.tables, ctx.holdout, ctx.synthetic, ctx.metadata, ctx.root,
                                      ctx.folder.path("model"), ctx.folder.path("report.html"))
    elif ctx.lake:  # a hash join over every real and synthetic row
        doc, ctx.leaks = ctx.lake.audit(ctx.metadata)
    else:
        real = pd.concat([ctx.train.tables[ctx.root], ctx.holdout[ctx.root]], ignore_index=True)
        entity, time = (ctx.sequence["entity"], ctx.sequence["time"]) if ctx.sequence else (None, None)
        result = audit_outputs(real, ctx.metadata, run_dir=ctx.folder.staging, entity=entity, time=time)
        if not result.passed:
            log.error("%s", result.summary())
        doc, ctx.leaks = result.to_dict(), list(result.findings)
    write_json(ctx.folder.path("audit.json"), doc)
    ctx.files["audit"] = "audit.json"
    if ctx.leaks:
        ctx.status = "leak_detected"
    ctx.metrics.update(status=ctx.status, audit={"passed": not ctx.leaks, "findings": len(ctx.leaks)})


def commit(ctx: RunContext) -> None:
    """Final metrics and the marker into the staging folder, then swap it in as the run folder."""
    ctx.point("write:metrics")
    write_json(ctx.folder.path("metrics.json"), ctx.metrics)
    if ctx.lake:
        ctx.lake.save(ctx.folder.path("engine.json"))
        ctx.files["engine"] = "engine.json"
    pending = bool(ctx.cfg.sink.url) and not ctx.leaks
    ctx.folder.mark("sink_pending" if pending else ctx.status, name=ctx.cfg.name, tables=ctx.names)
    ctx.folder.commit()


def sink(ctx: RunContext) -> None:
    """The SQL sink, after the commit, in one transaction; never with leaked data. A failure
    leaves the previous tables as they were and marks the committed run ``sink_failed``. The one
    place a run writes to SQL: an engine run's workers load its Parquet parts."""
    cfg = ctx.cfg
    if not cfg.sink.url or ctx.leaks:
        return
    tables = ({f"{cfg.sink.table or ''}{name}": frame for name, frame in ctx.synthetic.items()} if ctx.multi
              else {str(cfg.sink.table): ctx.synthetic[ctx.root]})
    try:
        if ctx.lake:
            ctx.lake.sink(ctx.folder.out, str(cfg.sink.url), str(cfg.sink.table), cfg.sink.if_exists)
        else:
            write_sql(tables, cfg.sink.url, if_exists=cfg.sink.if_exists)
    except (SynthkitError, OSError) as exc:
        log.error("the sink failed (%s); the run folder is committed, the sink's tables are as they were", exc)
        ctx.status = "sink_failed"
        ctx.metrics.update(status=ctx.status, sink={"error": str(exc)})
        write_json(ctx.folder.out / "metrics.json", ctx.metrics)
        ctx.folder.mark(ctx.status, error=str(exc))
        return
    ctx.files["sink_sql"] = ", ".join(tables)
    ctx.folder.mark(ctx.status)


STAGES: list[Callable[[RunContext], None]] = [load, profile, split_holdout, fit, sample, validate, evaluate, report,
                                               audit, commit, sink]


def versions() -> dict[str, str]:
    """Versions of the libraries that shape the results."""
    return {"synthkit": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__}


def fingerprint(train: Dataset, model: str, params: dict[str, Any], metadata: dict[str, Any], lake: str | None = None) -> str:
    """A hash of the training tables, metadata and model settings: reuse a saved model only if all match.
    An engine run's ``train`` is the seeded sample of its training rows; ``lake`` adds their count and
    order-free content hash (:attr:`TableSketch.content`), which any changed, added or removed row changes."""
    digest = hashlib.sha256((lake or "").encode())
    for name, frame in train.tables.items():
        digest.update(name.encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    columns = {name: list(map(str, frame.columns)) for name, frame in train.tables.items()}
    rels = [r.model_dump() for r in train.relationships]
    digest.update(json.dumps([columns, model, params, metadata, rels, train.primary_keys], sort_keys=True,
                             default=str).encode())
    return digest.hexdigest()
