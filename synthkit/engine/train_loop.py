"""The training loop every Ray Train worker runs (``TorchTrainer(train_worker, ...)``).

Each worker streams its own shard (``get_dataset_shard(f"train_{rank}")``: a deterministic share of
the rows, so a seed and a worker count give the same weights), steps the recipe's loss under
DistributedDataParallel (gradients all-reduced; the global batch is split across workers, so one
and two workers take the same number of equally sized steps), and in lockstep with the others:

- ends an epoch as soon as any worker's shard is exhausted, and stops training after the first step
  past ``max_minutes`` on any worker (one all-reduce of two flags per step, so no worker waits forever
  in a collective the others have left);
- computes the validation loss over the ``val`` dataset split across workers (sums all-reduced), on
  which early stopping, the learning-rate schedule and best-weight restoring decide identically;
- checkpoints after every epoch: rank 0 writes the trained modules, optimizer states and the best
  weights as tensors (``torch.save``; loaded with ``weights_only=True``) and the loop state as JSON
  into a Ray Train checkpoint. After a failure Ray restarts the workers, which resume from the last
  checkpoint: epochs are reseeded from (seed, epoch, rank), so a resumed run repeats exactly what
  an uninterrupted one would have done.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from synthkit.engine.train_memory import MemoryWatch, peak_memory_per_rank

__all__ = ["load_checkpoint_weights", "train_worker"]

log = logging.getLogger(__name__)
_WEIGHTS, _OPTIM, _LOOP = "weights.pt", "optim.pt", "loop.json"
VAL_BATCH = 1024  # validation rows per forward pass: arm's activations for 4,096 rows were a ~140 MB peak


def _state(modules: dict[str, torch.nn.Module], prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{name}.{k}": v.detach().cpu().clone() for name, m in modules.items() for k, v in m.state_dict().items()}


def _load(modules: dict[str, torch.nn.Module], tensors: dict[str, torch.Tensor], prefix: str) -> bool:
    found = False
    for name, module in modules.items():
        head = f"{prefix}.{name}."
        sub = {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
        if sub:
            module.load_state_dict(sub)
            found = True
    return found


def load_checkpoint_weights(path: str | Path, modules: dict[str, torch.nn.Module]) -> dict[str, Any]:
    """Load a checkpoint's trained weights into ``modules`` (on the driver); returns the loop state."""
    path = Path(path)
    tensors = torch.load(path / _WEIGHTS, map_location="cpu", weights_only=True)
    _load(modules, tensors, "trained")
    return json.loads((path / _LOOP).read_text())


def report_epoch(metrics: dict[str, Any], rank: int, loop: dict[str, Any], trained: dict[str, torch.nn.Module],
                 best: dict[str, torch.Tensor] | None, optimizers: list[Any]) -> None:
    """Report an epoch; rank 0 attaches its checkpoint, written into a temporary folder.

    ``ray.train.report`` copies the folder into the run's storage before it returns (its default,
    synchronous upload), so the folder is removed right after: no epoch leaves files in the
    machine's temporary directory (a long run would otherwise leave one folder of weights per epoch).
    """
    import ray.train
    from ray.train import Checkpoint

    if rank != 0:
        ray.train.report(metrics, checkpoint=None)
        return
    with tempfile.TemporaryDirectory(prefix="synthkit-ckpt-") as name:
        folder = Path(name)
        torch.save({**_state(trained, "trained"), **(best or {})}, folder / _WEIGHTS)
        torch.save([o.state_dict() for o in optimizers], folder / _OPTIM)
        (folder / _LOOP).write_text(json.dumps(loop))
        ray.train.report(metrics, checkpoint=Checkpoint.from_directory(str(folder)))


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    return (int(seed) * 1_000_003 + epoch * 1009 + rank) % 2**62


def _maybe_fail(config: dict[str, Any], epoch: int, step: int, rank: int) -> None:
    """Fault injection for tests: SIGKILL this worker once at (epoch, step) of ``rank``."""
    fail = config.get("fail_at")
    if fail and (fail["epoch"], fail["step"], fail["rank"]) == (epoch, step, rank) and not os.path.exists(fail["marker"]):
        Path(fail["marker"]).write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)


def _worker_setup(config: dict[str, Any]) -> tuple[Any, int, int, torch.device]:
    """The recipe on this worker's device, its rank and the group size (every Ray Train entry point starts so)."""
    import ray.train
    import ray.train.torch

    recipe = config["recipe"]
    ctx = ray.train.get_context()
    torch.set_num_threads(int(config["threads"]))
    device = ray.train.torch.get_device()
    recipe.to(device)
    return recipe, ctx.get_world_rank(), ctx.get_world_size(), device


def train_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point; ``config`` holds the recipe and loop settings (see :func:`synthkit.engine.train.fit_on_ray`)."""
    import ray.train

    recipe, rank, world, device = _worker_setup(config)
    watch = MemoryWatch()
    module = recipe.loss_module()
    ddp_args = {"device_ids": [device.index]} if device.type == "cuda" else {}

    def ddp(m: torch.nn.Module) -> torch.nn.Module:
        # empty parameters (arm's hidden stack at depth 0) never get gradients: DDP must not wait for them
        empty = [name for name, p in m.named_parameters() if p.numel() == 0]
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(m, empty)
        return DistributedDataParallel(m, **ddp_args)

    wrapped = recipe.wrap(module, ddp)
    optimizers = recipe.optimizers(module)
    trained, weights = recipe.trained(), recipe.weights()
    bf16 = device.type == "cuda" and bool(torch.cuda.is_bf16_supported()) and config.get("precision", "auto") != "float32"

    loop: dict[str, Any] = {"epoch": 0, "best": math.inf, "best_epoch": None, "waited": 0, "epochs": [], "steps": 0,
                            "rows_seen": 0, "seconds": 0.0, "step_seconds": 0.0, "stop_reason": "epochs", "done": False}
    best_state: dict[str, torch.Tensor] | None = None
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            tensors = torch.load(Path(folder) / _WEIGHTS, map_location="cpu", weights_only=True)
            _load(trained, tensors, "trained")
            best_state = {k: v for k, v in tensors.items() if k.startswith("best.")} or None
            for opt, state in zip(optimizers, torch.load(Path(folder) / _OPTIM, weights_only=True)):
                opt.load_state_dict(state)
            loop = json.loads((Path(folder) / _LOOP).read_text())
        log.info("rank %d resumes after epoch %d", rank, loop["epoch"])

    shard = ray.train.get_dataset_shard(f"train_{rank}")
    val_shard = ray.train.get_dataset_shard("val") if recipe.validation_fraction else None
    local_batch = max(1, int(config["batch_size"]) // world)
    budget = 60.0 * config["max_minutes"] if config.get("max_minutes") else math.inf
    patience = recipe.patience if val_shard is not None else None
    start = time.perf_counter() - loop["seconds"]
    epochs = int(config["epochs"])
    min_steps = int(config.get("min_steps", 0))  # early stopping and the rate's halving wait for them (as in process)
    while not loop["done"] and loop["epoch"] < epochs:
        epoch = loop["epoch"]
        seed = _epoch_seed(config["seed"], epoch, rank)
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        for m in trained.values():
            m.train()
        batches = iter(shard.iter_torch_batches(batch_size=local_batch, dtypes=recipe.dtype, device="cpu",
                                                local_shuffle_buffer_size=config["shuffle_buffer"],
                                                local_shuffle_seed=seed % 2**31))
        sums: dict[str, float] = {}
        steps = rows = 0
        out_of_time = False
        epoch_start = None
        while True:
            batch = next(batches, None)
            if epoch_start is None:  # throughput from the first batch on: the pipeline's start-up is not streaming
                epoch_start = time.perf_counter()
            if batch is not None and len(batch["x"]) < (recipe.min_batch if steps == 0 else local_batch):
                batch = None  # the epoch's last partial batch is dropped (as the in-process Trainer does)
            # as the in-process Trainer: training stops after the first step past the budget (so at least one step)
            in_time = time.perf_counter() - start <= budget or loop["steps"] + steps == 0
            flags = torch.tensor([float(batch is not None), float(in_time)], device=device)
            dist.all_reduce(flags, op=dist.ReduceOp.MIN)
            flags = flags.cpu()
            if flags[1] == 0:
                out_of_time = True
            if flags[0] == 0 or out_of_time:
                break
            x = batch["x"].to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                losses = recipe.step(wrapped, optimizers, x)
            recipe.after_step(loop["steps"] + steps)
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + value
            steps += 1
            rows += len(x)
            _maybe_fail(config, epoch, steps, rank)
        loop["step_seconds"] += time.perf_counter() - epoch_start  # streaming + steps, without validation
        counts = torch.tensor([float(rows)], device=device)
        dist.all_reduce(counts)
        counts = counts.cpu()
        loop["steps"] += steps
        loop["rows_seen"] += int(counts[0])
        if steps:
            record: dict[str, float] = {"epoch": float(epoch + 1), "seconds": time.perf_counter() - start}
            record.update({k: v / steps for k, v in sums.items()})
            if val_shard is not None:
                val = _validate(recipe, module, val_shard, device, dist)
                record["val_loss"] = val
                if loop["steps"] >= min_steps:  # as in process: a noisy small validation set must not halve the rate early
                    recipe.after_validation(optimizers, val)
                if val < loop["best"] - config["min_delta"]:
                    loop["best"], loop["waited"], loop["best_epoch"] = val, 0, epoch + 1
                    if patience is not None:
                        best_state = _state(weights, "best")
                else:
                    loop["waited"] += 1
            loop["epochs"].append(record)
        memory = peak_memory_per_rank(watch, world, device, dist)  # after validation: its peak counts too
        loop["peak_rss_mb"], loop["peak_memory_mb"] = memory["rss"], memory
        loop["epoch"] = epoch + 1
        loop["seconds"] = time.perf_counter() - start
        if out_of_time:
            loop["stop_reason"], loop["done"] = "time", True
        elif patience is not None and loop["waited"] >= patience and loop["steps"] >= min_steps:
            loop["stop_reason"], loop["done"] = "early_stopping", True
        elif steps == 0:
            loop["done"] = True
        if loop["done"] or loop["epoch"] >= epochs:
            if best_state is not None and loop["best_epoch"] != loop["epoch"]:
                _load(weights, best_state, "best")
            best_state = None
            loop["done"] = True
        metrics = {"epoch": loop["epoch"], **{k: v for k, v in loop["epochs"][-1].items() if k != "epoch"}} if loop["epochs"] else {}
        report_epoch(metrics, rank, loop, trained, best_state, optimizers)
    watch.stop()


def _validate(recipe: Any, module: torch.nn.Module, shard: Any, device: torch.device, dist: Any) -> float:
    """Mean validation loss over every worker's part of the ``val`` dataset (row-weighted, all-reduced)."""
    for m in recipe.trained().values():
        m.eval()
    total = torch.zeros(2, dtype=torch.float64, device=device)
    with torch.no_grad():
        for batch in shard.iter_torch_batches(batch_size=VAL_BATCH, dtypes=recipe.dtype, device="cpu"):
            x = batch["x"].to(device)
            total += torch.tensor([recipe.val_loss(module, x) * len(x), len(x)], dtype=torch.float64, device=device)
    dist.all_reduce(total)
    total = total.cpu()
    for m in recipe.trained().values():
        m.train()
    return float(total[0] / total[1]) if total[1] > 0 else math.inf
