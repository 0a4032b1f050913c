"""Run a pipeline: source → profile → holdout → fit → sample → validate → evaluate → gates → outputs.

Steps are plain functions over a :class:`RunFolder`, so every output lands atomically and a
killed run leaves the previous outputs as they were. ``reuse_model`` resumes from the model saved
by the previous run when its fingerprint (data, model name, params, seed) matches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit import __version__
from synthkit.errors import ConfigError
from synthkit.pipeline.config import PipelineConfig, load_config
from synthkit.pipeline.gates import check_gates
from synthkit.pipeline.outputs import RunFolder
from synthkit.meta import Metadata
from synthkit.utils.atomic import atomic_path, write_json

__all__ = ["RunResult", "run", "run_config", "EXIT_OK", "EXIT_GATE_FAILED", "EXIT_INPUT_ERROR"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1
EXIT_INPUT_ERROR = 2
EXIT_GATE_FAILED = 3
EXIT_LEAK = 4


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
        if self.status == "leak_detected":
            return EXIT_LEAK
        return EXIT_GATE_FAILED if self.status == "gate_failed" else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "exit_code": self.exit_code,
            "output_dir": str(self.output_dir),
            "files": self.files,
            "gates": self.gates,
            "leaks": self.leaks,
            "headline": self.headline,
            "timings": self.timings,
        }


def run(config_path: str | Path, overrides: list[str] | None = None, reuse_model: bool = False) -> RunResult:
    """Load, validate and run the pipeline in ``config_path``."""
    return run_config(load_config(config_path, overrides), reuse_model=reuse_model)


def run_config(cfg: PipelineConfig, reuse_model: bool = False) -> RunResult:
    """Run a validated pipeline configuration."""
    out = Path(cfg.output_dir or Path("reports") / cfg.name)
    folder = RunFolder(out)
    timings: dict[str, float] = {}
    try:
        result = _run_stages(cfg, folder, timings, reuse_model)
        folder.commit()
        return result
    except BaseException:
        folder.abandon()
        raise


def _fault_point(stage: str) -> None:
    """Fault injection for the crash-safety tests: ``SYNTHKIT_KILL_AT=<stage>`` kill -9s the run there."""
    if os.environ.get("SYNTHKIT_KILL_AT") == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def _timed(timings: dict[str, float], stage: str):  # type: ignore[no-untyped-def]
    class _Timer:
        def __enter__(self) -> None:
            log.info("stage %s", stage)
            _fault_point(stage)
            self.start = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            timings[stage] = round(time.perf_counter() - self.start, 3)

    return _Timer()


def _run_stages(cfg: PipelineConfig, folder: RunFolder, timings: dict[str, float], reuse_model: bool) -> RunResult:
    from synthkit.pipeline.stages import (
        fit_or_reuse,
        load_holdout,
        load_source,
        profile_source,
        sample_synthetic,
        sequence_columns,
        write_sink,
    )

    from synthkit.models.registry import get
    from synthkit.models.relational import RelationalSynthesizer
    from synthkit.pipeline.stages import model_name

    if issubclass(get(model_name(cfg)), RelationalSynthesizer):
        return _run_relational(cfg, folder, timings, reuse_model)
    from synthkit.pipeline.scaled import run_scaled, use_engine

    if use_engine(cfg):  # engine: ray, or a Parquet lake source: no stage holds the whole table
        return run_scaled(cfg, folder, timings, lambda stage: _timed(timings, stage))
    files: dict[str, str] = {}
    with _timed(timings, "source"):
        real = load_source(cfg)
    with _timed(timings, "profile"):
        metadata = profile_source(cfg, real)
        metadata.save(folder.path("metadata.json"))
        files["metadata"] = "metadata.json"
        suite = _expectation_suite(metadata, folder, files)
    sequence = sequence_columns(cfg, metadata)
    with _timed(timings, "holdout"):
        train, holdout = load_holdout(cfg, real, entity=sequence["entity"] if sequence else None)
    with _timed(timings, "fit"):
        model, reused = fit_or_reuse(cfg, train, metadata, folder, reuse_model)
        files["model"] = "model"
    with _timed(timings, "sample"):
        n_units = train[sequence["entity"]].nunique() if sequence else len(train)
        synthetic = sample_synthetic(cfg, model, n_units)
        with atomic_path(folder.path("synthetic.csv")) as tmp:
            synthetic.to_csv(tmp, index=False)
        files["synthetic"] = "synthetic.csv"
    validation = None
    if suite is not None:
        with _timed(timings, "validate"):
            validation = _validate(synthetic, suite, folder, files)
    metrics: dict[str, Any] = {"schema_version": 1}
    if cfg.evaluate.enabled:
        with _timed(timings, "evaluate"):
            metrics = _evaluate(cfg, train, synthetic, holdout, metadata, entity=sequence["entity"] if sequence else None)
            if sequence:
                metrics["temporal"] = _temporal(train, synthetic, sequence, cfg.seed)
    _record_dp_guarantee(model, metrics)
    gates = check_gates(cfg.gates, metrics)
    status = "gate_failed" if any(not g["passed"] for g in gates) else "ok"
    metrics["gates"] = gates
    metrics["status"] = status
    metrics.setdefault("meta", {})["pipeline"] = {
        "name": cfg.name,
        "model": model.name,
        "model_reused": reused,
        "seed": cfg.seed,
        "timings": timings,
    }
    if validation is not None:
        metrics["validation"] = {k: validation.get(k) for k in ("success", "evaluated", "successful", "success_percent")}
    write_json(folder.path("metrics.json"), metrics)
    files["metrics"] = "metrics.json"
    if cfg.report.enabled:
        with _timed(timings, "report"):
            _report(cfg, metrics, train, synthetic, metadata, validation, model, timings, folder)
            files["report"] = "report.html"
    with _timed(timings, "audit"):
        leak = _audit(pd.concat([train, holdout], ignore_index=True), metadata, folder, files)
    if leak:
        status = "leak_detected"
    metrics["status"] = status
    metrics["audit"] = {"passed": not leak, "findings": len(leak)}
    write_json(folder.path("metrics.json"), metrics)
    if not leak:  # never push leaked data to an external sink
        with _timed(timings, "sink"):
            files.update(write_sink(cfg, synthetic, folder))
    headline = {
        "fidelity": metrics.get("fidelity", {}).get("score"),
        "privacy_verdict": metrics.get("privacy", {}).get("verdict"),
        "utility": metrics.get("utility", {}).get("ratio"),
    }
    return RunResult(cfg.name, folder.out, status, gates, files, timings, headline, leak)


def _run_relational(cfg: PipelineConfig, folder: RunFolder, timings: dict[str, float], reuse_model: bool) -> RunResult:
    """The multi-table flow (see :mod:`synthkit.pipeline.multitable`)."""
    from synthkit.models import create
    from synthkit.pipeline import multitable as mt
    from synthkit.pipeline.stages import model_name
    from synthkit.profile import profile
    from synthkit.report import render_report

    files: dict[str, str] = {}
    with _timed(timings, "source"):
        dataset = mt.load_dataset(cfg)
        root, _ = mt.root_table(dataset)
    with _timed(timings, "profile"):
        metadata = profile(dataset, name=cfg.name)
        metadata.save(folder.path("metadata.json"))
        files["metadata"] = "metadata.json"
    with _timed(timings, "holdout"):
        train, holdout = mt.split_dataset(dataset, cfg.holdout.share, cfg.holdout.seed)
    if reuse_model:
        log.info("--reuse-model is not supported for multi-table runs yet; fitting a new model")
    with _timed(timings, "fit"):
        params = {"seed": cfg.seed, **cfg.model.params}
        try:
            model = create(model_name(cfg), **params)
        except TypeError as exc:
            raise ConfigError(f"invalid parameters for model {model_name(cfg)!r}: {exc}") from None
        model.fit(train)
        model.save(folder.path("model"))
        files["model"] = "model"
    with _timed(timings, "sample"):
        seed = cfg.sample.seed if cfg.sample.seed is not None else cfg.seed
        if cfg.sample.rows is not None:
            synthetic = model.sample(cfg.sample.rows, seed=seed)
        else:
            synthetic = model.sample(seed=seed, scale=cfg.sample.ratio or 1.0)
        mt.write_tables(folder, synthetic, files)
    keys = mt.integrity(synthetic, dataset)
    scores: dict[str, dict[str, Any]] = {}
    if cfg.evaluate.enabled:
        with _timed(timings, "evaluate"):
            scores = mt.evaluate_tables(cfg, train, synthetic, holdout, metadata)
    metrics = mt.headline(root, scores)
    metrics["keys"] = keys
    _record_dp_guarantee(model, metrics)
    gates = check_gates(cfg.gates, metrics)
    status = "gate_failed" if any(not g["passed"] for g in gates) else "ok"
    metrics.update(gates=gates, status=status)
    metrics.setdefault("meta", {})["pipeline"] = {"name": cfg.name, "model": model.name, "model_reused": False,
                                                  "seed": cfg.seed, "timings": timings, "root_table": root}
    write_json(folder.path("metrics.json"), metrics)
    files["metrics"] = "metrics.json"
    if cfg.report.enabled:
        with _timed(timings, "report"):
            run_info = {"dataset": f"{_describe_source(cfg, len(train.tables[root]))}, root table {root!r} of {sorted(synthetic)}",
                        "model": model.name, "model_params": model.get_params(), "config": json.loads(cfg.model_dump_json()),
                        "timings": timings, "versions": versions(), "seed": cfg.seed}
            render_report(folder.path("report.html"), metrics=metrics, real=train.tables[root], synthetic=synthetic[root],
                          metadata=Metadata.single(metadata.table(root)), run=run_info, k=cfg.report.k)
            files["report"] = "report.html"
    with _timed(timings, "audit"):
        leak = mt.audit_tables(train, holdout, synthetic, metadata, folder, root)
        files["audit"] = "audit.json"
    if leak:
        status = "leak_detected"
    metrics.update(status=status, audit={"passed": not leak, "findings": len(leak)})
    write_json(folder.path("metrics.json"), metrics)
    if not leak:  # never push leaked data to an external format
        with _timed(timings, "sink"):
            files.update(mt.write_sink(cfg, synthetic, dataset, folder))
    head = {"fidelity": (metrics.get("fidelity") or {}).get("score"), "privacy_verdict": (metrics.get("privacy") or {}).get("verdict"),
            "utility": (metrics.get("utility") or {}).get("ratio"), "keys": keys}
    return RunResult(cfg.name, folder.out, status, gates, files, timings, head, leak)


def _temporal(train: pd.DataFrame, synthetic: pd.DataFrame, sequence: dict[str, Any], seed: int) -> dict[str, Any]:
    """Sequence-level fidelity (lengths, gaps, autocorrelations, discriminative/predictive scores)."""
    from synthkit.evaluate.temporal import temporal_metrics

    return temporal_metrics(train, synthetic, sequence["entity"], sequence["time"], sequence["measures"], seed=seed)


def _record_dp_guarantee(model: Any, metrics: dict[str, Any]) -> None:
    """Put a DP model's formal guarantee beside the empirical privacy results (metrics and report)."""
    if not getattr(model, "privacy_guarantee_", None):
        return
    from synthkit.privacy import dp_metrics

    metrics.setdefault("privacy", {})["dp"] = dp_metrics(model)


def _audit(real: pd.DataFrame, metadata: Metadata, folder: RunFolder, files: dict[str, str]) -> list[dict[str, Any]]:
    """Scan every output of the run for real PII values and unique real rows (values never logged)."""
    from synthkit.audit import audit

    result = audit(real, metadata, run_dir=folder.staging)
    write_json(folder.path("audit.json"), result.to_dict())
    files["audit"] = "audit.json"
    if not result.passed:
        log.error("%s", result.summary())
    return list(result.findings)


def _expectation_suite(metadata: Metadata, folder: RunFolder, files: dict[str, str]) -> Any:
    """The GE suite of the real data, saved beside the outputs (None if GE is unavailable)."""
    try:
        from synthkit.profile.expectations import build_suite, save_suite
    except ImportError as exc:
        log.warning("Great Expectations suite skipped: %s", exc)
        return None
    suite = build_suite(metadata)
    save_suite(suite, folder.path("expectations.json"))
    files["expectations"] = "expectations.json"
    return suite


def _validate(synthetic: pd.DataFrame, suite: Any, folder: RunFolder, files: dict[str, str]) -> dict[str, Any]:
    from synthkit.profile.expectations import validate

    result = validate(synthetic, suite)
    write_json(folder.path("validation.json"), result)
    files["validation"] = "validation.json"
    return result


def _evaluate(cfg: PipelineConfig, train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, metadata: Metadata,
              entity: str | None = None) -> dict[str, Any]:
    from synthkit.evaluate import evaluate

    table = metadata.table()
    for column in [cfg.evaluate.target, *cfg.evaluate.sensitive_columns, *cfg.evaluate.quasi_identifiers]:
        if column is not None and column not in table.column_names:
            raise ConfigError(f"evaluate names column {column!r}, which the data does not have")
    evaluation = evaluate(
        train,
        synthetic,
        holdout=holdout,
        metadata=metadata,
        target=cfg.evaluate.target,
        seed=cfg.seed,
        sensitive_columns=cfg.evaluate.sensitive_columns or None,
        quasi_identifiers=cfg.evaluate.quasi_identifiers or None,
        max_rows=cfg.evaluate.max_rows,
        families=tuple(cfg.evaluate.families),
        entity=entity,  # held out by entity: the membership attack compares whole entities too
    )
    return dict(evaluation.scores)


def _report(cfg: PipelineConfig, metrics: dict[str, Any], train: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata,
            validation: dict[str, Any] | None, model: Any, timings: dict[str, float], folder: RunFolder) -> None:
    from synthkit.report import render_report

    table = metadata.table()
    run_info = {
        "dataset": _describe_source(cfg, len(train)),
        "model": model.name,
        "model_params": model.get_params(),
        "config": json.loads(cfg.model_dump_json()),
        "timings": timings,
        "versions": versions(),
        "seed": cfg.seed,
        "pii_handling": {
            c.name: f"replaced with fake {c.pii} values" if c.pii not in ("date_of_birth", "latitude", "longitude")
            else f"learned as a number with tails clipped ({c.pii})"
            for c in table.columns if c.is_pii
        },
    }
    render_report(folder.path("report.html"), metrics=metrics, real=train, synthetic=synthetic, metadata=metadata,
                  validation=validation, run=run_info, k=cfg.report.k)


def _describe_source(cfg: PipelineConfig, n_train: int) -> str:
    src = cfg.source
    where = src.dataset and f"bundled dataset {src.dataset!r}" or src.path or f"{_redact(src.url or '')} {src.table or 'query'}"
    return f"{where} ({n_train:,} training rows)"


def _redact(url: str) -> str:
    """Hide passwords in SQLAlchemy URLs before they reach a report or log."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: nothing to hide
        return url


def versions() -> dict[str, str]:
    """Versions of the libraries that shape the results."""
    import numpy
    import sklearn
    import torch

    return {
        "synthkit": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
    }


def fingerprint(frame: pd.DataFrame, model_name: str, params: dict[str, Any], seed: int, metadata: dict[str, Any]) -> str:
    """A hash of the training data, metadata and model settings: reuse a saved model only if all match."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(json.dumps([list(map(str, frame.columns)), model_name, params, seed, metadata], sort_keys=True, default=str).encode())
    return digest.hexdigest()

