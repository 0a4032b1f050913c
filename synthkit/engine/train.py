"""Distributed training of the neural models (arm, gan, vae, flow) on Ray Train (issue #19).

    from synthkit.engine import EngineSpec, create_engine
    from synthkit.engine.train import fit_on_ray
    from synthkit.models import AutoregressiveSynthesizer

    with create_engine(EngineSpec(kind="ray", num_workers=2)) as eng:
        model = fit_on_ray(AutoregressiveSynthesizer(epochs=20), "lake/table/", eng)
    model.save("model/")          # the usual file: synthkit.models.load("model/") anywhere, no Ray

How a fit runs, and why:

1. Profile and schema: the given metadata, or #17's merged profile of every row (``merge_stats``);
   the schema's dtypes from a row sample, its exact facts (nullable, integer, range) from the
   merged statistics of the model frame.
2. Encoders from merged statistics: every batch of the model frame is sketched where it lives and
   the sketches merged on the driver (:mod:`synthkit.engine.train_stats`); the model's encoders are
   fitted from them and its networks built from the seed (:mod:`synthkit.engine.train_recipes`).
3. Data: one Ray Data pipeline per worker rank (the rows of its own Parquet files when there are at
   least as many files as workers, else the rows whose content hash falls to the rank) that converts
   and encodes batches in Ray Data tasks; rows whose content hash falls in the validation share form
   the ``val`` dataset. Shards are fixed by content, not by scheduling, so a seed and a worker count
   give the same weights.
4. Training: ``TorchTrainer`` runs :func:`synthkit.engine.train_loop.train_worker` on every worker
   (DistributedDataParallel, per-epoch checkpoints, ``FailureConfig(max_failures)``: a killed worker
   restarts the group from the last checkpoint).
5. The driver loads the final checkpoint's weights into the model's own modules and returns it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthkit.engine.base import EngineSpec
from synthkit.engine.recipe_choice import recipe_for
from synthkit.engine.train_dp import dp_finish, dp_prepare
from synthkit.engine.train_dp_loop import train_worker_dp
from synthkit.engine.train_loop import load_checkpoint_weights, train_worker
from synthkit.engine.train_recipes import Recipe
from synthkit.engine.train_stats import EncoderStats, row_keys, sketch_model_frame
from synthkit.errors import ConfigError, ModelError
from synthkit.io.lake import LakeSource
from synthkit.models.base import Synthesizer
from synthkit.models.trainer import resolve_device
from synthkit.profile.merged import profile_sketch
from synthkit.profile.sketch import TableSketch
from synthkit.transform.schema import LEARNED_NUMERIC, TableSchema
from synthkit.utils.seeding import seed_everything

__all__ = ["fit_on_ray"]

log = logging.getLogger(__name__)
_VAL_SCALE = 1 << 20
MATERIALIZE_BYTES = 256 * 2**20
DATA_CPUS = 0.25  # CPUs each Ray Data read / encode task asks for (next to the training workers)
# A streaming worker's memory is bounded by these, not by the rows (benchmarks/train_ray.py measures it):
# Ray Data bundles a task's output into blocks of up to ``target_max_block_size`` (128 MB by default): a
# worker maps each block it fetches from the object store (shared pages it touched count in its RSS) and
# copies it whole into its shuffle buffer, so the block size is the unit of a worker's data memory.
BLOCK_BYTES = 8 * 2**20
# the object store Ray Data may fill ahead of the training workers (unbounded by default: it queued
# hundreds of MB of encoded blocks, spread over fresh object-store pages, as the epoch went on)
STREAM_OBJECT_STORE_BYTES = 256 * 2**20
MAX_VALIDATION_ROWS = 50_000  # validation rows (content-hash chosen): kept in the object store, not re-read each epoch
#: how often Ray Train's controller polls its workers (Ray's default: 2 s). Each poll is one small call per
#: worker; at 2 s the controller noticed phases late and a small fit took 3-4 s longer (600 rows, 2 epochs:
#: benchmarks/results/startup.md). A user's own RAY_TRAIN_HEALTH_CHECK_INTERVAL_S wins.
CONTROLLER_POLL_SECONDS = "0.25"
_POLL_ENV = "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"


class _Encode:
    """Ray Data batch function: raw rows → model frame → this rank's (or the validation) rows → encoded ``x``."""

    def __init__(self, recipe: Recipe, schema: Any, seed: int, val_share: float, part: str, rank: int | None,
                 world: int, select: Any = None) -> None:
        self.recipe, self.schema, self.seed, self.select = recipe, schema, seed, select
        self.val_share, self.part, self.rank, self.world = val_share, part, rank, world

    def __call__(self, batch: pd.DataFrame) -> dict[str, np.ndarray]:
        frame = self.schema.to_model_frame(self.select(batch) if self.select is not None else batch)
        keys = row_keys(frame, self.seed)
        is_val = (keys >> np.uint64(40)) % np.uint64(_VAL_SCALE) < np.uint64(round(self.val_share * _VAL_SCALE))
        keep = is_val if self.part == "val" else ~is_val
        if self.rank is not None:
            keep &= keys % np.uint64(self.world) == np.uint64(self.rank)
        rows = np.flatnonzero(keep)
        rng = np.random.default_rng([self.seed, int(keys[0]) if len(keys) else 0])
        return {"x": self.recipe.encode(frame.iloc[rows].reset_index(drop=True), rng)}


def fit_on_ray(model: Synthesizer, source: Any, engine: Any = None, *, storage_path: str | Path | None = None,
               max_failures: int = 1, shuffle_buffer: int = 20_000, run_name: str | None = None,
               fail_at: dict[str, Any] | None = None, materialize: bool | None = None,
               select: Any = None) -> Synthesizer:
    """Fit ``model`` (arm, gan, vae or flow, unfitted) on every row of ``source`` with Ray Train; returns it fitted.

    ``source``: a DataFrame, a :class:`~synthkit.io.lake.LakeSource` or a path to one (Parquet
    folder/glob, CSV glob). ``engine``: a running :class:`~synthkit.engine.ray_engine.RayEngine`
    (opened by the caller, which owns the cluster).
    ``storage_path``: where Ray Train keeps checkpoints (shared storage on a multi-node cluster;
    default a temporary folder). ``fail_at``: tests only, SIGKILL one worker at
    ``{"epoch", "step", "rank", "marker"}`` once. ``materialize``: keep the encoded rows in Ray's
    object store (spilled to disk when full) instead of reading and encoding them again every epoch;
    default: when they take at most :data:`MATERIALIZE_BYTES`. Workers stream either way.
    ``select(DataFrame) -> DataFrame``: the rows of a batch to train on (e.g. the pipeline's
    training part, without its holdout).
    """

    start = time.perf_counter()
    if engine is None or isinstance(engine, EngineSpec):  # the engine owns the cluster; it is opened by the caller
        raise ConfigError("fit_on_ray needs a running Ray engine: `with create_engine('ray') as eng: fit_on_ray(model, src, eng)`")
    eng = engine
    if eng.kind != "ray":
        raise ConfigError("distributed training needs the ray engine (engine: kind: ray)")
    if isinstance(source, (str, Path)):
        source = LakeSource.open(source)
    recipe = recipe_for(model)
    recipe.select = select
    dp = getattr(recipe, "dp", False)
    if dp:
        stats, (ledger, plan) = None, _prepare_dp(model, recipe, source, eng)
    else:
        stats, plan = _prepare(model, recipe, source, eng), None
    preprocess = time.perf_counter() - start
    history = _train(model, recipe, stats, source, eng, storage_path, max_failures, shuffle_buffer, run_name, fail_at,
                     materialize, plan)
    history["preprocess_seconds"] = preprocess
    recipe.finish(history)
    if dp:
        dp_finish(model, ledger, plan, history["loop"])
    model.training_engine_ = {"kind": "ray", "workers": history["workers"], "rows_per_second": history["rows_per_second"],
                              "preprocess_seconds": round(preprocess, 3), "train_seconds": round(history["seconds"], 3),
                              "epochs": len(history["epochs"]), "peak_rss_mb_per_worker": history["peak_rss_mb"],
                              "peak_memory_mb_per_worker": history["peak_memory_mb"]}
    model._sample_rng_ = np.random.default_rng(model.seed)
    model.fitted_ = True
    return model


def _schema(model: Synthesizer, recipe: Recipe, source: Any, eng: Any) -> tuple[TableSchema, pd.DataFrame]:
    """The model's metadata (given, or profiled from merged statistics) and its schema fitted on a row sample."""
    seed = int(model.seed or 0)
    if model.metadata is None:

        raw = eng.merge_stats(source, sample_rows=5_000, seed=seed)
        model.metadata, sample = profile_sketch(raw), raw.sample
    else:
        sample = eng.dataset(source).limit(5_000).to_pandas()
        sample = recipe.select(sample) if recipe.select is not None else sample
    model.table_ = model.metadata.table()
    return TableSchema.fit(sample[model.table_.column_names], model.table_, tail_quantile=model.tail_quantile), sample


def _prepare_dp(model: Synthesizer, recipe: Any, source: Any, eng: Any) -> tuple[Any, dict[str, Any]]:
    """DP: the schema (its data-derived facts are scrubbed by the DP release), domains from merged counts, the plan."""
    schema, sample = _schema(model, recipe, source, eng)
    model.schema_ = schema
    model._check_params()
    model.constraints_, model.constraint_report_ = [], {}
    columns = list(schema.to_model_frame(sample[model.table_.column_names].head(1)).columns)
    learned = set(schema.numerical_names) | set(schema.categorical_names)
    select, names = recipe.select, [c for c in columns if c in learned]

    def frame_of(batch: Any) -> pd.DataFrame:
        frame = batch.to_pandas() if not isinstance(batch, pd.DataFrame) else batch
        return schema.to_model_frame(select(frame) if select is not None else frame)

    ledger, plan = dp_prepare(model, recipe, eng, source, frame_of, names, eng.num_workers)
    seed_everything(int(model.seed or 0))
    recipe.prepare_dp()
    return ledger, plan


def _prepare(model: Synthesizer, recipe: Recipe, source: Any, eng: Any) -> EncoderStats:
    """Metadata, schema and encoders from merged statistics; the model's networks built from its seed."""

    seed = int(model.seed or 0)
    schema, _ = _schema(model, recipe, source, eng)

    def sketch(batch: Any) -> Any:
        frame = batch.to_pandas() if not isinstance(batch, pd.DataFrame) else batch
        frame = recipe.select(frame) if recipe.select is not None else frame
        return sketch_model_frame(schema.to_model_frame(frame), seed)

    merged = TableSketch.merge_all(eng.map_batches(source, sketch), sample_rows=20_000, seed=seed)
    stats = EncoderStats(merged, schema.numerical_names)
    for spec in schema.learned:  # exact facts over every row, not the sample's
        facts = stats.spec_facts(spec.name)
        spec.nullable = facts["nullable"]
        if spec.role == LEARNED_NUMERIC and facts["low"] is not None:
            if spec.kind == "numerical":
                spec.integer = facts["integer"]
            q = schema.tail_quantile if spec.pii == "none" else max(schema.tail_quantile, 0.01)
            low, high = (merged.columns[spec.name].quantiles([q, 1 - q]) if q > 0 else (facts["low"], facts["high"]))
            spec.low, spec.high = float(low), float(high)
    model.schema_ = schema
    model._check_params()
    model.constraints_, model.constraint_report_ = [], {}
    model.n_training_rows_ = stats.n_rows
    seed_everything(seed)
    recipe.prepare(stats)
    return stats


def _rank_sources(source: Any, world: int) -> list[Any] | None:
    """Each rank's own files (balanced by size) when the source has at least as many files as ranks."""
    files = getattr(source, "files", ())
    if world <= 1 or len(files) < world:
        return None
    sizes = sorted(((Path(f).stat().st_size, f) for f in files), key=lambda t: (-t[0], t[1]))
    shares: list[list[str]] = [[] for _ in range(world)]
    loads = [0] * world
    for size, name in sizes:  # greedy: the largest file to the lightest rank
        r = loads.index(min(loads))
        shares[r].append(name)
        loads[r] += size
    return [replace(source, files=tuple(sorted(s))) for s in shares]


def _train(model: Synthesizer, recipe: Recipe, stats: EncoderStats | None, source: Any, eng: Any, storage_path: Any,
           max_failures: int, shuffle_buffer: int, run_name: str | None, fail_at: dict[str, Any] | None,
           materialize: bool | None, plan: dict[str, Any] | None = None) -> dict[str, Any]:
    from ray.data import DataContext
    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig
    from ray.train.torch import TorchTrainer

    world = eng.num_workers
    seed = int(model.seed or 0)
    n_rows = plan["n_rows"] if plan is not None else stats.n_rows
    val_share = recipe.validation_fraction if n_rows >= 200 else 0.0
    val_share = min(val_share, MAX_VALIDATION_ROWS / n_rows)  # a bounded share: materialized once below
    per_rank = _rank_sources(source, world)
    context = DataContext.get_current()  # read APIs copy the current context: their blocks keep this size
    block_bytes, context.target_max_block_size = context.target_max_block_size, BLOCK_BYTES
    try:
        datasets = _datasets(eng, source, per_rank, recipe, model, seed, val_share, world)
    finally:
        context.target_max_block_size = block_bytes
    if materialize is None:  # encoded rows small enough for the object store: encode once, not every epoch
        materialize = n_rows * recipe.row_bytes(stats) <= MATERIALIZE_BYTES
    small = {name for name in datasets if name == "val" or materialize}
    if small:
        ordered, context.execution_options.preserve_order = context.execution_options.preserve_order, True
        try:
            datasets = {name: ds.materialize() if name in small else ds for name, ds in datasets.items()}
        finally:
            context.execution_options.preserve_order = ordered
    batch_size, epochs = recipe.schedule(int(n_rows * (1 - val_share)))
    config = {"recipe": recipe, "seed": seed, "epochs": epochs, "batch_size": batch_size, "min_steps": recipe.min_steps,
              "max_minutes": model.max_minutes, "min_delta": 1e-4, "shuffle_buffer": shuffle_buffer,
              "threads": max(1, int(eng.spec.cpus_per_worker)), "fail_at": fail_at,
              "precision": getattr(model, "train_precision", "auto"), "dp": plan}
    if not val_share and recipe.patience is not None:
        log.info("%s: too few rows for a validation share; early stopping is off", model.name)
    with _run_storage(storage_path) as storage:
        options = DataConfig.default_ingest_options()
        options.preserve_order = True
        options.resource_limits = options.resource_limits.copy(object_store_memory=STREAM_OBJECT_STORE_BYTES)
        trainer = TorchTrainer(
            train_worker if plan is None else train_worker_dp, train_loop_config=config, scaling_config=eng.scaling_config(), datasets=datasets,
            dataset_config=DataConfig(datasets_to_split=["val"] if val_share else [], execution_options=options),
            run_config=RunConfig(name=run_name or f"synthkit-{model.name}-{uuid.uuid4().hex[:12]}", storage_path=str(storage.resolve()),
                                 failure_config=FailureConfig(max_failures=max_failures),
                                 checkpoint_config=CheckpointConfig(num_to_keep=2)))
        try:
            with _controller_poll():
                result = trainer.fit()
        except Exception as exc:  # Ray wraps worker errors in its own types
            raise ModelError(f"distributed training of {model.name} failed: {str(exc).splitlines()[0][:300]}") from exc
        if result.checkpoint is None:
            raise ModelError(f"distributed training of {model.name} ended without a checkpoint")
        recipe.to(_driver_device(model))
        with result.checkpoint.as_directory() as folder:
            loop = load_checkpoint_weights(folder, recipe.weights())
    seconds, stepping = float(loop["seconds"]), float(loop.get("step_seconds", loop["seconds"]))
    return {"epochs": loop["epochs"], "stop_reason": loop["stop_reason"], "best_epoch": loop["best_epoch"],
            "seconds": seconds, "steps": loop["steps"], "rows_seen": loop["rows_seen"], "workers": world,
            "batch_size": config["batch_size"],
            "rows_per_second": loop["rows_seen"] / stepping if stepping > 0 else 0.0,
            "peak_rss_mb": loop.get("peak_rss_mb", []),
            "peak_memory_mb": loop.get("peak_memory_mb", {}), "loop": loop}


@contextlib.contextmanager
def _run_storage(storage_path: str | Path | None) -> Any:
    """Where Ray Train keeps this run's checkpoints: the caller's folder is kept; the default temporary
    one lives only while the fit does (the best weights are loaded into the model before it goes)."""
    if storage_path:
        yield Path(storage_path)
        return
    with tempfile.TemporaryDirectory(prefix="synthkit-train-", ignore_cleanup_errors=True) as name:
        yield Path(name)


@contextlib.contextmanager
def _controller_poll() -> Any:
    """Ray Train hands this variable from the driver's environment to its controller when ``fit`` starts."""
    if _POLL_ENV in os.environ:
        yield
        return
    os.environ[_POLL_ENV] = CONTROLLER_POLL_SECONDS
    try:
        yield
    finally:
        os.environ.pop(_POLL_ENV, None)


def _datasets(eng: Any, source: Any, per_rank: list[Any] | None, recipe: Recipe, model: Synthesizer, seed: int,
              val_share: float, world: int) -> dict[str, Any]:
    """One encoded ``train_{rank}`` dataset per rank (its own files, or its content-hash share) and ``val``."""
    encode_args = {"batch_format": "pandas", "batch_size": 16_384, "num_cpus": DATA_CPUS}
    datasets = {}
    for r in range(world):
        part_source = per_rank[r] if per_rank else source
        datasets[f"train_{r}"] = _read(eng, part_source).map_batches(
            _Encode(recipe, model.schema_, seed, val_share, "train", None if per_rank else r, world, recipe.select),
            **encode_args)
    if val_share:
        datasets["val"] = _read(eng, source).map_batches(
            _Encode(recipe, model.schema_, seed, val_share, "val", None, world, recipe.select), **encode_args)
    return datasets


def _read(eng: Any, source: Any) -> Any:
    """``source`` as a Ray dataset whose read tasks ask for a quarter CPU: the training workers hold
    most CPUs, and read tasks asking for a whole one could not be scheduled next to them."""
    if getattr(source, "format", None) == "parquet" and not getattr(source, "hive", True):
        import ray.data

        return ray.data.read_parquet(list(source.files), ray_remote_args={"num_cpus": DATA_CPUS})
    return eng.dataset(source)


def _driver_device(model: Synthesizer) -> Any:
    """Where the fitted model samples on the driver: its ``device`` setting ("auto": CUDA if present)."""

    return resolve_device(getattr(model, "device", "cpu"))
