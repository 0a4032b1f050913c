"""The Ray engine: ``ray.data`` datasets, stateless batch tasks and actor pools; Ray schedules,
retries failed tasks and restarts killed actors. Ray is imported only here, lazily.

Without an ``address`` the engine starts a private local cluster (``address="local"``): it never
joins a cluster that happens to run on the same machine. It shuts down only a cluster it started.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synthkit.engine.base import Engine, EngineSpec, SampleResult
from synthkit.engine.memory import bound_allocators
from synthkit.engine.sampling import BlockSampler, block_plan, part_name
from synthkit.engine.train import fit_on_ray
from synthkit.errors import ConfigError

__all__ = ["USAGE_STATS_ENV", "RayEngine", "arrow_table", "import_ray"]

log = logging.getLogger(__name__)


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table for Ray Data, text columns as Arrow strings.

    Why not ``ray.data.from_pandas``: Ray keeps an object column that holds missing values (Adult's
    workclass) as pickled Python objects, whose pandas form (Ray's ``PythonObjectArray``) came back
    from the workers as a frame pandas could not index (``engine: ray`` on the bundled Adult table
    failed in evaluation). A column Arrow cannot type (numbers mixed with text) is written as text,
    as a CSV file would hold it, missing values kept.
    """
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        frame = frame.copy()
        for name in frame.columns[(frame.dtypes == object).to_numpy()]:
            if not _arrow_types(frame[name]):  # only that column: dates or text beside it keep their type
                column = frame[name]
                frame[name] = column.where(column.isna(), column.astype(str))
        return pa.Table.from_pandas(frame, preserve_index=False)


def _arrow_types(column: pd.Series) -> bool:
    """Whether Arrow can give ``column`` one type."""
    try:
        pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


# Ray reports usage statistics by default; synthkit handles sensitive data and promises no network
# beyond what the user configures, so they are off unless the user opts in (RAY_USAGE_STATS_ENABLED=1).
# Off, Ray Data also starts no thread polling a Prometheus server that is not there: that thread
# logged a formatted traceback every 10 s for the rest of the process, and CPython 3.11's traceback
# carets parse source with ``ast``, whose recursion counter is shared by threads (gh-106905).
USAGE_STATS_ENV = "RAY_USAGE_STATS_ENABLED"


def import_ray() -> Any:
    """``ray`` itself with its usage statistics off unless the user set them, or a clear error
    naming the extra to install."""
    os.environ.setdefault(USAGE_STATS_ENV, "0")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ConfigError("engine 'ray' needs Ray: pip install 'synthkit[ray]'") from None
    return ray


class _Apply:
    """Wraps a batch function so its (small, arbitrary) result travels as one pickled cell."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, batch: Any) -> dict[str, list[bytes]]:
        bound_allocators()  # once per worker process
        return {"payload": [pickle.dumps(self.fn(batch), protocol=5)]}


class _ApplyEach:
    """Runs ``fn`` on each pickled item of a batch; results travel back pickled (one cell each)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, batch: Any) -> dict[str, list[bytes]]:
        return {"payload": [pickle.dumps(self.fn(pickle.loads(cell)), protocol=5)
                            for cell in batch.column("item").to_pylist()]}


class _Handle:
    """An object-store reference that batch functions resolve once per worker process."""

    _cache: dict[str, Any] = {}

    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def get(self) -> Any:
        import ray

        key = self.ref.hex()
        if key not in _Handle._cache:
            _Handle._cache.clear()  # keep one broadcast value per worker process
            _Handle._cache[key] = ray.get(self.ref)
        return _Handle._cache[key]


class RayEngine(Engine):
    """``map_batches`` as Ray Data tasks, ``sample`` as an actor pool (model loaded once per actor)."""

    kind = "ray"

    def __init__(self, spec: EngineSpec | None = None) -> None:
        super().__init__(spec or EngineSpec(kind="ray"))
        ray = import_ray()
        bound_allocators()
        self._owned = False
        if not ray.is_initialized():
            init_opts = {k: v for k, v in self.spec.options.items() if k != "kill_block"}
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, **init_opts}
            if self.spec.address is None and self.spec.num_workers:
                kwargs.setdefault("num_cpus", max(1, int(round(self.spec.num_workers * self.spec.cpus_per_worker))))
            if self.spec.address is not None:
                kwargs = {k: v for k, v in kwargs.items() if k not in ("num_cpus", "_temp_dir")}
            ray.init(address=self.spec.address or "local", **kwargs)
            self._owned = True
            log.info("started Ray (%s)", self.spec.address or "private local cluster")
        ray.data.DataContext.get_current().enable_progress_bars = False
        cpus = float(ray.cluster_resources().get("CPU", 1))
        self._workers = int(self.spec.num_workers or max(1, int(cpus // max(self.spec.cpus_per_worker, 1e-9))))

    @property
    def num_workers(self) -> int:
        return self._workers

    def info(self) -> dict[str, Any]:
        import ray

        nodes = [n for n in ray.nodes() if n.get("Alive")]
        return {**super().info(), "nodes": len(nodes), "address": self.spec.address or "local"}

    def close(self) -> None:
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False

    def broadcast(self, value: Any) -> Any:
        import ray

        return _Handle(ray.put(value))

    @staticmethod
    def fetch(handle: Any) -> Any:
        return handle.get() if isinstance(handle, _Handle) else handle

    def _remote_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"num_cpus": self.spec.cpus_per_worker}
        if self.spec.gpus_per_worker:
            args["num_gpus"] = self.spec.gpus_per_worker
        if self.spec.memory_per_worker:
            args["memory"] = self.spec.memory_per_worker
        return args

    def scaling_config(self) -> Any:
        """A ``ray.train.ScalingConfig`` from the spec (for Ray Train, issue #19)."""
        from ray.train import ScalingConfig

        resources = {"CPU": self.spec.cpus_per_worker}
        if self.spec.memory_per_worker:
            resources["memory"] = self.spec.memory_per_worker
        return ScalingConfig(num_workers=self._workers, use_gpu=self.spec.gpus_per_worker > 0,
                             resources_per_worker={**resources, **({"GPU": self.spec.gpus_per_worker}
                                                                   if self.spec.gpus_per_worker else {})})

    def dataset(self, source: Any, columns: list[str] | None = None) -> Any:
        """``source`` (LakeSource or DataFrame) as a ``ray.data.Dataset`` (read lazily, in blocks)."""
        import ray

        if isinstance(source, pd.DataFrame):
            frame = source if columns is None else source[columns]
            parts = max(1, min(len(frame) // max(self.spec.batch_rows, 1) + 1, 4 * self._workers))
            table = arrow_table(frame)  # once, so every block has the same column types (a sparse column's too)
            return ray.data.from_arrow([table.take(np.arange(i, len(frame), parts)) for i in range(parts)])
        return source.ray_dataset(columns=columns)

    def map_batches(self, source: Any, fn: Callable[[Any], Any], *, columns: list[str] | None = None,
                    batch_rows: int | None = None) -> Iterator[Any]:
        import ray

        ds = self.dataset(source, columns)
        out = ds.map_batches(_Apply(fn), batch_format="pyarrow", batch_size=batch_rows or self.spec.batch_rows,
                             compute=ray.data.TaskPoolStrategy(size=self._workers), **self._remote_args())
        for batch in out.iter_batches(batch_format="pyarrow", batch_size=None):
            for cell in batch.column("payload").to_pylist():
                yield pickle.loads(cell)

    def map_items(self, items: list[Any], fn: Callable[[Any], Any]) -> Iterator[Any]:
        import ray

        if not items:
            return
        ds = ray.data.from_items([{"item": pickle.dumps(it, protocol=5)} for it in items], override_num_blocks=len(items))
        out = ds.map_batches(_ApplyEach(fn), batch_format="pyarrow", batch_size=1,
                             compute=ray.data.TaskPoolStrategy(size=min(self._workers, len(items))), **self._remote_args())
        for batch in out.iter_batches(batch_format="pyarrow", batch_size=None):
            for cell in batch.column("payload").to_pylist():
                yield pickle.loads(cell)

    def train(self, model: Any, source: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Fit a neural model (arm, gan, vae, flow) on every row of ``source`` with Ray Train
        (:func:`synthkit.engine.train.fit_on_ray`, issue #19); returns the fitted model."""

        return fit_on_ray(model, source, self, **kwargs)

    def sample(self, model_dir: str | Path, n: int, *, seed: int, out_dir: str | Path,
               block_rows: int | None = None) -> SampleResult:
        import ray


        start = time.perf_counter()
        rows_per_block = block_rows or self.spec.block_rows
        out = Path(out_dir).resolve()
        out.mkdir(parents=True, exist_ok=True)
        plan = block_plan(n, rows_per_block)
        # block ids built on the driver (no read task competing with the actors for CPUs); Ray Data
        # restarts a killed actor (max_restarts=-1) and retries its task (max_task_retries=-1)
        ids = ray.data.from_items([{"id": i} for i, _ in plan], override_num_blocks=max(1, len(plan)))
        counts = ids.map_batches(
            BlockSampler, batch_size=1, compute=ray.data.ActorPoolStrategy(size=min(self._workers, max(1, len(plan)))),
            fn_constructor_kwargs={"model_dir": str(Path(model_dir).resolve()), "out_dir": str(out), "n": n,
                                   "block_rows": rows_per_block, "seed": seed,
                                   "kill_block": self.spec.options.get("kill_block"),
                                   "threads": max(1, int(self.spec.cpus_per_worker))},
            **self._remote_args(),
        ).take_all()
        done = {int(r["block"]): int(r["rows"]) for r in counts}
        if sorted(done) != [i for i, _ in plan]:
            missing = sorted(set(range(len(plan))) - set(done))
            raise RuntimeError(f"sampling blocks {missing[:10]} did not finish")
        return SampleResult(out, sum(done.values()), len(plan), rows_per_block, [part_name(i) for i, _ in plan],
                            time.perf_counter() - start)
