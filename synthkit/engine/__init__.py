"""Where partitioned work runs: locally (threads over streamed Arrow batches) or on Ray.

The API (stable; the Ray Train work of issue #19 builds on it)::

    from synthkit.engine import EngineSpec, create_engine

    spec = EngineSpec(kind="ray", address=None, num_workers=2, cpus_per_worker=1.0,
                      gpus_per_worker=0.0, memory_per_worker=None)   # = the pipeline's `engine:` block
    with create_engine(spec) as eng:          # LocalEngine or RayEngine
        eng.num_workers                       # workers that run at once
        eng.info()                            # {"kind", "workers", ...}: recorded in metrics.json
        for result in eng.map_batches(source, fn):   # fn(pyarrow.Table) -> small result, run where
            ...                                      # the batch lives; merge results on the driver
        sketch = eng.merge_stats(source)      # synthkit.profile.sketch.TableSketch over ALL rows
        eng.sample(model_dir, n, seed=0, out_dir=...)  # part-<block>.parquet files, same rows at any
                                                       # worker count, written by the workers
        eng.map_items(items, fn)              # fn(item) per item, one task each (idempotent: retried)
        eng.sink_sql(out_dir, url, "table", if_exists="replace")  # the parts into SQL: workers load a
                                              # staging table, the driver swaps it in in one transaction
        eng.train(...)                        # NotImplementedError until issue #19

``source`` is a :class:`synthkit.io.lake.LakeSource` (Parquet folder / glob / hive partitions, CSV
glob; ``LakeSource.open(path)``) or an in-memory DataFrame. :class:`RayEngine` adds
``dataset(source) -> ray.data.Dataset`` and ``scaling_config()`` (a ``ray.train.ScalingConfig``
from the spec's worker count and resources) for Ray Train. Ray is imported only when a Ray engine
is created; ``import synthkit.engine`` works without it. ``engine_spec(cfg)`` turns a pipeline
config's ``engine`` section into an :class:`EngineSpec`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from synthkit.engine.base import DEFAULT_BATCH_ROWS, DEFAULT_BLOCK_ROWS, Engine, EngineSpec, SampleResult
from synthkit.engine.local import LocalEngine
from synthkit.engine.ray_engine import RayEngine
from synthkit.errors import ConfigError

__all__ = ["Engine", "EngineSpec", "LocalEngine", "SampleResult", "create_engine", "engine_spec",
           "DEFAULT_BATCH_ROWS", "DEFAULT_BLOCK_ROWS"]


def create_engine(spec: EngineSpec | str | None = None, **overrides: Any) -> Engine:
    """The engine a spec (or just a kind, ``"local"``/``"ray"``) asks for."""
    if spec is None or isinstance(spec, str):
        spec = EngineSpec(kind=spec or "local", **overrides)  # type: ignore[arg-type]
    elif overrides:

        spec = replace(spec, **overrides)
    if spec.kind == "ray":

        return RayEngine(spec)
    if spec.kind == "local":
        return LocalEngine(spec)

    raise ConfigError(f"engine.kind must be 'local' or 'ray', got {spec.kind!r}")


def engine_spec(section: Any) -> EngineSpec:
    """An :class:`EngineSpec` from a pipeline ``engine`` section (pydantic model or dict)."""
    data = section.model_dump() if hasattr(section, "model_dump") else dict(section or {})
    known = set(EngineSpec.__dataclass_fields__)
    return EngineSpec(**{k: v for k, v in data.items() if k in known})
