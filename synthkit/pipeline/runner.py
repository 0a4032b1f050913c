"""Run a pipeline: check the config before any work, then pass the stages in order (see
:mod:`synthkit.pipeline.stages`) over one run context — every run, with or without an engine. A
run killed anywhere leaves the previous run folder and sink tables as they were; ``reuse_model``
resumes from the previous run's model when its fingerprint (data, metadata, model name, params,
seed) matches. :class:`RunResult` is what a run produced, with the exit code the CLI returns.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthkit.engine import create_engine, engine_spec
from synthkit.engine.dataplane import Lake
from synthkit.errors import ConfigError
from synthkit.io.lake import is_lake
from synthkit.io.sql import check_writable, sqlite_file
from synthkit.models import create, get
from synthkit.models.base import SequenceSynthesizer
from synthkit.pipeline.config import PipelineConfig, load_config
from synthkit.pipeline.outputs import RunFolder
from synthkit.pipeline.stages import STAGES, RunContext, is_multi
from synthkit.track import check_mlflow, track_run
from synthkit.utils.paths import check_output_dir
from synthkit.utils.progress import stage_finished, stage_started

__all__ = ["RunResult", "run", "run_config", "EXIT_OK", "EXIT_INTERNAL_ERROR", "EXIT_GATE_FAILED", "EXIT_INPUT_ERROR",
           "EXIT_LEAK", "EXIT_SINK_FAILED"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1
EXIT_INPUT_ERROR = 2
EXIT_GATE_FAILED = 3
EXIT_LEAK = 4
EXIT_SINK_FAILED = 5
_EXIT = {"leak_detected": EXIT_LEAK, "gate_failed": EXIT_GATE_FAILED, "sink_failed": EXIT_SINK_FAILED}


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
        return _EXIT.get(self.status, EXIT_OK)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exit_code": self.exit_code, "output_dir": str(self.output_dir)}


def run(config_path: str | Path, overrides: list[str] | None = None, reuse_model: bool = False, force: bool = False,
        hooks: Iterable[Callable[[str], None]] = ()) -> RunResult:
    """Load, validate and run the pipeline in ``config_path``."""
    return run_config(load_config(config_path, overrides), reuse_model, force, hooks, Path(config_path))


def run_config(cfg: PipelineConfig, reuse_model: bool = False, force: bool = False,
               hooks: Iterable[Callable[[str], None]] = (), config_path: Path | None = None) -> RunResult:
    """Run a validated configuration. ``output_dir`` is relative to the current folder (like every
    path in the file); ``force`` moves a folder synthkit did not make aside instead of refusing it.
    ``hooks`` (tests) are called with every point the run passes."""
    out = Path(cfg.output_dir or Path("reports") / cfg.name)
    if cfg.track.mlflow is not None:  # a missing tracker package fails the run now, not after it
        check_mlflow()
    model_cls = preflight(cfg, out, config_path)
    ctx = RunContext(cfg, RunFolder(out, force=force), model_cls, reuse_model, list(hooks))
    try:
        if cfg.sink.url:  # after the run folder's parent exists (the sqlite demo keeps its database there)
            check_writable(cfg.sink.url, "sink.url")
        with contextlib.ExitStack() as stack:  # an engine run holds its engine (Ray: the cluster) until the sink is done
            if use_engine(cfg):
                engine = stack.enter_context(create_engine(engine_spec(cfg.engine)))
                ctx.lake = Lake(engine, cfg.engine.sample_rows, cfg.seed)
            for stage in STAGES:
                ctx.point(stage.__name__)
                log.info("stage %s", stage.__name__)
                stage_started(stage.__name__)
                start = time.perf_counter()
                stage(ctx)
                ctx.timings[stage.__name__] = round(time.perf_counter() - start, 3)
                stage_finished(stage.__name__, ctx.timings[stage.__name__])
    except BaseException:
        ctx.folder.abandon()
        raise
    # after commit and sink: trackers see the final outputs
    track_run(cfg.track.mlflow, cfg.name, cfg.public_dict(), ctx.folder.out, ctx.status)
    head = {"fidelity": (ctx.metrics.get("fidelity") or {}).get("score"),
            "privacy_verdict": (ctx.metrics.get("privacy") or {}).get("verdict"),
            "utility": (ctx.metrics.get("utility") or {}).get("ratio"), **({"keys": ctx.metrics["keys"]} if ctx.multi else {})}
    return RunResult(cfg.name, ctx.folder.out, ctx.status, ctx.gates, ctx.files, ctx.timings, head, ctx.leaks)


def use_engine(cfg: PipelineConfig) -> bool:
    """Whether a run goes through an engine: ``engine.kind: ray`` or a lake (folder/glob) source."""
    return cfg.engine.kind == "ray" or bool(cfg.source.path and is_lake(cfg.source.path))


def preflight(cfg: PipelineConfig, out: Path, config_path: Path | None) -> type:
    """Refuse, before reading any data, what could only fail later; returns the model class."""
    inputs = [Path(p) for p in (cfg.source.path, cfg.holdout.path) if p]
    for path in inputs:
        if not path.exists() and not is_lake(path):  # a glob of part files is a source too
            raise ConfigError(f"input file or folder not found: {path}")
    kept = [Path.cwd(), Path.home(), *([config_path.parent] if config_path else []),
            *(p if p.is_dir() else p.parent for p in inputs), *(p.parent for p in filter(None, [sqlite_file(cfg.source.url)]))]
    check_output_dir(out, kept)
    model_cls = get(cfg.model.name)
    if is_multi(model_cls) and (cfg.holdout.path or cfg.sample.conditions):
        raise ConfigError("holdout.path and sample.conditions apply to one-table runs (a multi-table run holds out "
                          "and samples whole root entities)")
    if use_engine(cfg):
        _check_engine_run(cfg, model_cls)
    try:
        model = create(cfg.model.name, **{"seed": cfg.seed, **cfg.model.params})
    except TypeError as exc:
        raise ConfigError(f"invalid parameters for model {cfg.model.name!r}: {exc}") from None
    with contextlib.suppress(AttributeError):  # a check that needs fitted state runs at fit time
        model._check_params()  # the model's own parameter checks, now rather than after reading the data
    return model_cls


def _check_engine_run(cfg: PipelineConfig, model_cls: type) -> None:
    """What a run over an engine (rows split by content hash, sampled in blocks) cannot do yet."""
    if is_multi(model_cls) or getattr(model_cls, "protocol", None) is SequenceSynthesizer:
        raise ConfigError(f"model {cfg.model.name!r} keeps whole entities or tables together; an engine run "
                          "(engine: ray or a Parquet lake source) fits one-table models only")
    given = {"holdout.path": cfg.holdout.path, "sample.conditions": cfg.sample.conditions, "sink.path": cfg.sink.path}
    if any(given.values()):
        raise ConfigError(f"{', '.join(k for k, v in given.items() if v)}: not available for an engine run (engine: ray "
                          "or a Parquet lake source) yet; its synthetic rows are the Parquet parts in <output_dir>/synthetic")
