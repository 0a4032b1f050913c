"""The DP-SGD loop every Ray Train worker runs for a DP model (``TorchTrainer(train_worker_dp, ...)``).

Poisson subsampling over the whole table, realized shard by shard: worker *r* numbers the rows of
its shard in stream order (the shard and its order are fixed by content and seed), and row *i*
joins the batch of step *t* with probability q, independently of every other row and step: its
steps inside a window [t0, t1) are a Bernoulli(q) process drawn as geometric gaps from a hash of
(seed, r, window, i, draw). Every row of the table lives in exactly one shard, so each step's
global batch is a Poisson sample of the table, whatever the number of workers. A window's batches
are gathered in one pass over the shard (only the sampled rows are kept) and stepped in order.

A step: per-row gradients (``torch.func``: ``vmap`` of ``grad``, in chunks) clipped to norm C and
summed on each worker; one all-reduce of the sums; the same N(0, σ²C²) noise added on every worker
(drawn from a generator seeded by the step, so it is added once to the global sum); division by
the expected batch q·N; the optimizer step. Workers stay in lockstep without waiting on data: all
take the same planned steps, an empty local batch contributes zeros.

After every window rank 0 checkpoints the weights, the optimizer state and the loop state (steps
taken; no losses — exact losses on real rows are not DP). A restarted group resumes after the last
checkpoint and replays the interrupted window with the same batches and noise.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.func import functional_call, grad, vmap

from synthkit.engine.train_memory import MemoryWatch, peak_memory_per_rank
from synthkit.engine.train_loop import _LOOP, _OPTIM, _WEIGHTS, _load, _maybe_fail, _worker_setup, report_epoch

__all__ = ["clipped_gradient_sum", "poisson_window", "train_worker_dp"]

log = logging.getLogger(__name__)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_CHUNK = 256  # rows per vmap call: bounds the per-row gradients held at once


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on uint64 arrays: a counter-based hash (wraps modulo 2^64 by design)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _geometric(keys: np.ndarray, q: float) -> np.ndarray:
    """Gaps ≥ 1 with P(k) = (1-q)^(k-1) q, one per hash in ``keys``."""
    u = ((keys >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)
    return 1 + np.floor(np.log(u) / math.log1p(-q)).astype(np.int64)


def poisson_window(seed: int, rank: int, rows: np.ndarray, window: int, t0: int, t1: int, q: float) -> tuple[np.ndarray, np.ndarray]:
    """(step, row) pairs: the steps in [t0, t1) whose Poisson batch holds each of ``rows`` (uint64 stream positions)."""
    n = len(rows)
    if q >= 1.0:  # every row in every step
        return np.repeat(np.arange(t0, t1), n), np.tile(np.arange(n), t1 - t0)
    base = _mix(rows.astype(np.uint64) ^ _chain(seed, rank, window))
    idx = np.arange(n)
    pos = t0 - 1 + _geometric(_mix(base), q)
    steps, which = [], []
    draw = 0
    while len(idx):
        keep = pos < t1
        idx, pos = idx[keep], pos[keep]
        steps.append(pos)
        which.append(idx)
        draw += 1
        pos = pos + _geometric(_mix(base[idx] ^ _chain(draw)), q)
    return np.concatenate(steps), np.concatenate(which)


def clipped_gradient_sum(recipe: Any, module: torch.nn.Module, names: list[str], x: torch.Tensor, noise: torch.Tensor,
                         max_norm: float) -> list[torch.Tensor]:
    """Σ over rows of each row's gradient scaled to norm ≤ ``max_norm`` (opacus' clip factor)."""
    params = {n: p.detach() for n, p in module.named_parameters() if n in names}
    total = [torch.zeros_like(params[n]) for n in names]

    def one(p: dict[str, torch.Tensor], xi: torch.Tensor, zi: torch.Tensor) -> torch.Tensor:
        return recipe.row_loss(lambda *a: functional_call(module, p, a), xi[None], zi[None])[0]

    per_row = vmap(grad(one), in_dims=(None, 0, 0), randomness=getattr(recipe, "randomness", "error"))
    for start in range(0, len(x), _CHUNK):
        grads = per_row(params, x[start:start + _CHUNK], noise[start:start + _CHUNK])
        norms = torch.sqrt(sum(grads[n].flatten(1).pow(2).sum(1) for n in names))
        factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for i, n in enumerate(names):
            total[i] += torch.einsum("b,b...->...", factor, grads[n])
    return total


def _chain(*parts: int) -> np.uint64:
    """One 64-bit hash of an ordered tuple of non-negative integers (each part re-mixed with the running hash)."""
    key = np.zeros(1, dtype=np.uint64)
    for part in parts:
        key = _mix(key ^ np.uint64(part))
    return key[0]


def _seeded(seed: int, *parts: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(_chain(seed, *parts) % np.uint64(2**62)))


def _gather_window(shard: Any, plan: dict[str, Any], seed: int, rank: int, window: int, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
    """One pass over the shard: the codes of the rows sampled for steps [t0, t1), sorted by step; step starts."""
    steps, codes = [], []
    position = 0
    for batch in shard.iter_batches(batch_size=16_384, batch_format="numpy"):
        x = batch["x"]
        rows = np.arange(position, position + len(x), dtype=np.uint64)
        position += len(x)
        at, which = poisson_window(seed, rank, rows, window, t0, t1, plan["q"])
        steps.append(at)
        codes.append(x[which])
    at = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
    order = np.argsort(at, kind="stable")
    width = codes[0].shape[1] if codes else 0
    gathered = np.concatenate(codes)[order] if codes else np.zeros((0, width), dtype=np.int64)
    bounds = np.searchsorted(at[order], np.arange(t0, t1 + 1), side="left")
    return gathered, bounds


def train_worker_dp(config: dict[str, Any]) -> None:
    """Ray Train entry point of DP training; ``config["dp"]`` is the plan of :func:`synthkit.engine.train_dp.dp_prepare`."""
    import ray.train

    plan, seed = config["dp"], int(config["seed"])
    recipe, rank, world, device = _worker_setup(config)
    watch = MemoryWatch()
    module = recipe.dp_module()
    names = [n for n, p in module.named_parameters() if p.requires_grad]
    params = [dict(module.named_parameters())[n] for n in names]
    optimizer = recipe.dp_optimizer(params)
    optimizers = [optimizer, *recipe.extra_optimizers()]
    trained = recipe.trained()
    loop: dict[str, Any] = {"epoch": 0, "steps": 0, "rows_seen": 0, "seconds": 0.0, "step_seconds": 0.0,
                            "stop_reason": "epochs", "done": False, "epochs": [], "best_epoch": None}
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            _load(trained, torch.load(Path(folder) / _WEIGHTS, map_location="cpu", weights_only=True), "trained")
            for opt, state in zip(optimizers, torch.load(Path(folder) / _OPTIM, weights_only=True)):
                opt.load_state_dict(state)
            loop = json.loads((Path(folder) / _LOOP).read_text())
        log.info("rank %d resumes after window %d (%d DP steps taken)", rank, loop["epoch"], loop["steps"])
    shard = ray.train.get_dataset_shard(f"train_{rank}")
    budget = 60.0 * config["max_minutes"] if config.get("max_minutes") else math.inf
    total, window = int(plan["steps"]), int(plan["window"])
    scale, sigma_c = 1.0 / plan["expected_batch"], plan["sigma"] * plan["max_grad_norm"]
    start = time.perf_counter() - loop["seconds"]
    for m in trained.values():
        m.train()
    while not loop["done"] and loop["epoch"] * window < total:
        w = loop["epoch"]
        t0, t1 = w * window, min(total, (w + 1) * window)
        began = time.perf_counter()
        codes, bounds = _gather_window(shard, plan, seed, rank, w, t0, t1)
        rows = taken = 0
        for t in range(t0, t1):
            in_time = time.perf_counter() - start <= budget or loop["steps"] + taken == 0
            flag = torch.tensor([float(in_time)], device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            if float(flag.cpu()[0]) == 0:
                loop["stop_reason"], loop["done"] = "time", True
                break
            batch = torch.from_numpy(codes[bounds[t - t0]:bounds[t - t0 + 1]]).to(device)
            torch.manual_seed(int(_chain(seed, 4, t, rank) % np.uint64(2**62)))  # e.g. a critic's dropout masks
            x, aux = recipe.step_inputs(batch, _seeded(seed, 1, t, rank))
            sums = clipped_gradient_sum(recipe, module, names, x, aux, plan["max_grad_norm"]) \
                if len(x) else [torch.zeros_like(p) for p in params]
            flat = torch.cat([s.reshape(-1) for s in sums] + [torch.tensor([float(len(batch))], device=device)])
            dist.all_reduce(flat)
            gen = _seeded(seed, 2, t)  # the same noise on every worker: added once to the global sum
            offset = 0
            for p in params:
                size = p.numel()
                g = flat[offset:offset + size].view_as(p)
                if sigma_c > 0:
                    g = g + torch.normal(0.0, sigma_c, size=tuple(p.shape), generator=gen).to(device)
                p.grad = g * scale
                offset += size
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            torch.manual_seed(int(_chain(seed, 5, t) % np.uint64(2**62)))  # the same on every worker
            recipe.after_step(_seeded(seed, 3, t))  # post-processing of the DP step, identical on every worker
            rows += int(flat[-1].item())
            taken += 1
            _maybe_fail(config, w, taken, rank)
        loop["step_seconds"] += time.perf_counter() - began
        memory = peak_memory_per_rank(watch, world, device, dist)
        loop["peak_rss_mb"], loop["peak_memory_mb"] = memory["rss"], memory
        loop["steps"] += taken
        loop["rows_seen"] += rows
        loop["epoch"] = w + 1
        loop["seconds"] = time.perf_counter() - start
        loop["epochs"].append({"epoch": float(w + 1), "steps": float(loop["steps"]), "seconds": loop["seconds"]})
        loop["done"] = loop["done"] or loop["epoch"] * window >= total
        report_epoch({"window": loop["epoch"], "dp_steps": loop["steps"]}, rank, loop, trained, None, optimizers)
    watch.stop()
