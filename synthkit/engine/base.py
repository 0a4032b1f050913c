"""The engine contract: where partitioned work runs. Stage code is the same for every engine.

An engine applies small functions to the batches of a :class:`~synthkit.io.lake.LakeSource` where
the batches live and hands the (small) results back to the driver, which merges them; and it
samples blocks of rows with per-block seeds, each block written straight to its own Parquet part
file. Nothing here schedules: :class:`LocalEngine` uses a thread pool over ``pyarrow.dataset``
batches, :class:`RayEngine` uses ``ray.data`` and its actor pools, retries and restarts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from synthkit.engine.sql_sink import SinkResult, sink_parts
from synthkit.profile.sketch import TableSketch, sketch_batch

__all__ = ["Engine", "EngineSpec", "SampleResult", "DEFAULT_BATCH_ROWS", "DEFAULT_BLOCK_ROWS"]

DEFAULT_BATCH_ROWS = 131_072  # rows per statistics batch: bounded memory per worker
DEFAULT_BLOCK_ROWS = 100_000  # rows per sampling block (one seed, one Parquet part each)


@dataclass(frozen=True)
class EngineSpec:
    """What the pipeline's ``engine:`` block says (plain data, no Ray needed to build it)."""

    kind: Literal["local", "ray"] = "local"
    address: str | None = None  # Ray: None starts a private local cluster (never joins one by accident)
    num_workers: int | None = None  # default: the machine's CPU count (local) / cluster CPUs / cpus_per_worker (ray)
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    memory_per_worker: int | None = None  # bytes, Ray's ``memory`` resource per worker
    batch_rows: int = DEFAULT_BATCH_ROWS
    block_rows: int = DEFAULT_BLOCK_ROWS
    options: dict[str, Any] = field(default_factory=dict)  # ray.init extras, e.g. {"_temp_dir": "/tmp/rk"}; tests: kill_block


@dataclass
class SampleResult:
    """What a distributed sampling job wrote: part files, row counts, block plan."""

    folder: Path
    rows: int
    blocks: int
    block_rows: int
    files: list[str]
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "blocks": self.blocks, "block_rows": self.block_rows, "files": len(self.files),
                "seconds": round(self.seconds, 3)}


class Engine(ABC):
    """Run partitioned work. Use as a context manager (``with create_engine(spec) as eng: ...``)."""

    kind: str = "base"

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release workers (a Ray engine shuts down the cluster it started, never one it joined)."""

    @property
    @abstractmethod
    def num_workers(self) -> int:
        """How many batches/blocks run at once."""

    def info(self) -> dict[str, Any]:
        """What ``metrics.json`` records about where the run happened."""
        return {"kind": self.kind, "workers": self.num_workers, "cpus_per_worker": self.spec.cpus_per_worker,
                "gpus_per_worker": self.spec.gpus_per_worker, "memory_per_worker": self.spec.memory_per_worker}

    # -- work ---------------------------------------------------------------------------
    @abstractmethod
    def map_batches(self, source: Any, fn: Callable[[Any], Any], *, columns: list[str] | None = None,
                    batch_rows: int | None = None) -> Iterator[Any]:
        """``fn(pyarrow.Table) -> small picklable result`` on every batch of ``source`` (a
        :class:`~synthkit.io.lake.LakeSource` or a DataFrame), where the batch lives; yields the
        results (order not guaranteed: merge them with a commutative merge)."""

    def merge_stats(self, source: Any, *, sample_rows: int = 20_000, seed: int = 0, rows: int | None = None) -> Any:
        """A :class:`~synthkit.profile.sketch.TableSketch` of every row of ``source``: per-batch
        sketches merged on the driver, plus a seeded row sample of ``sample_rows`` rows (the same
        rows at any batching; ``rows``, the table's size if known, lets batches ship fewer rows)."""

        keep = min(1.0, 3.0 * sample_rows / rows) if rows else 1.0

        def one(batch: Any) -> Any:
            return sketch_batch(batch, sample_rows=sample_rows, seed=seed, keep_share=keep)

        return TableSketch.merge_all(self.map_batches(source, one), sample_rows=sample_rows, seed=seed)

    def broadcast(self, value: Any) -> Any:
        """A handle batch functions can read ``value`` from (Ray: one object-store copy)."""
        return value

    @staticmethod
    def fetch(handle: Any) -> Any:
        """The value behind a :meth:`broadcast` handle (call inside batch functions)."""
        return handle

    @abstractmethod
    def sample(self, model_dir: str | Path, n: int, *, seed: int, out_dir: str | Path,
               block_rows: int | None = None) -> SampleResult:
        """``n`` rows from the saved model at ``model_dir``, block ``i`` seeded by ``(seed, i)``
        (same rows at any worker count), each block written to ``out_dir/part-<i>.parquet`` by the
        worker that sampled it (rows never pass through the driver). A retried block rewrites
        the same file, so a killed worker never loses or duplicates rows."""

    @abstractmethod
    def map_items(self, items: list[Any], fn: Callable[[Any], Any]) -> Iterator[Any]:
        """``fn(item)`` for every (small, picklable) item, one task each, on the workers; yields the
        (small) results in any order. A task whose worker dies is retried (Ray), so ``fn`` must be
        idempotent."""

    def sink_sql(self, folder: str | Path, url: str, table: str, *, if_exists: str = "replace") -> SinkResult:
        """The part files in ``folder`` into SQL table ``table``: loaded by the workers into a staging
        table, swapped in by the driver in one transaction (:mod:`synthkit.engine.sql_sink`)."""
        return sink_parts(self, folder, url, table, if_exists=if_exists)

    def train(self, *args: Any, **kwargs: Any) -> Any:
        """Distributed training of neural models (issue #19, Ray Train); not part of this engine yet."""
        raise NotImplementedError(f"the {self.kind} engine does not train models in a distributed way")
