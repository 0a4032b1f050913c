"""One training loop for every neural synthesizer: epochs or a time budget, early stopping, seeds.

A model supplies a ``step(batch_index) -> {loss name: value}`` function that does its own
forward/backward work (a GAN runs two optimizers, a VAE one) and calls :meth:`Trainer.optimize`
for the zero-grad / backward / gradient-clip / step sequence. The trainer owns the rest, once:

    trainer = Trainer(epochs=300, batch_size=500, max_minutes=5, patience=20, seed=0)
    history = trainer.run(n_rows=len(x), step=my_step, validate=my_val_loss, modules=[net])
    model.loss_history_ = history.epochs          # list of {"epoch", "seconds", <losses>, "val_loss"?}

- batches: each epoch is a seeded permutation of ``range(n_rows)`` cut into ``batch_size``
  chunks (the last partial chunk dropped unless it is the only one), as int64 tensors on CPU;
- time budget: with ``max_minutes`` training stops after the first step past the budget (the
  budget can replace ``epochs``: pass ``epochs=None``); it is read at every step, so an
  ``after_epoch(epoch)`` callback may revise it (the sequence model does once it has timed its
  own draws, which follow training within the same budget);
- early stopping: with ``validate`` and ``patience``, training stops after ``patience`` epochs
  without an improvement of ``min_delta``, but never before ``min_steps`` optimizer steps (a small
  table has few batches per epoch, and a noisy validation loss would otherwise stop it after a few
  dozen steps); the best weights of ``modules`` are restored at the end;
- overfitting guard: with ``validate`` and ``overfit_tolerance``, training stops once the
  validation loss has risen that share above its best, not before ``min_steps``; nothing is
  restored (for a model whose samples keep improving after its held-out likelihood bottoms out,
  but that must not go on memorizing);
- progress: a bar per epoch with the latest losses (quiet in CI, see ``synthkit.utils.progress``);
- device: ``"auto"`` picks CUDA when present, else CPU (:func:`resolve_device`).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from synthkit.errors import ConfigError
from synthkit.utils.progress import progress

__all__ = ["Trainer", "TrainingHistory", "resolve_device"]

log = logging.getLogger(__name__)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA if available else CPU; anything else is validated by torch."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device {device!r} is not valid: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for CUDA but no CUDA device is available")
    return resolved


@dataclass
class TrainingHistory:
    """What happened during :meth:`Trainer.run` (JSON-friendly)."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str = "epochs"  # "epochs" | "time" | "early_stopping" | "overfitting"
    best_epoch: int | None = None
    seconds: float = 0.0
    steps: int = 0
    rows_seen: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows_seen / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "stop_reason": self.stop_reason, "best_epoch": self.best_epoch,
                "seconds": self.seconds, "steps": self.steps, "rows_seen": self.rows_seen}


class Trainer:
    """Loop settings shared by neural models; see the module docstring for the protocol."""

    def __init__(self, epochs: int | None = 100, batch_size: int = 500, max_minutes: float | None = None,
                 patience: int | None = None, min_delta: float = 0.0, grad_clip: float | None = None,
                 device: str | torch.device = "auto", seed: int | None = 0, desc: str = "training",
                 min_steps: int = 0, overfit_tolerance: float | None = None) -> None:
        if epochs is None and max_minutes is None:
            raise ConfigError("give epochs or max_minutes (or both) to bound training")
        if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1):
            raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if max_minutes is not None and not (isinstance(max_minutes, (int, float)) and max_minutes > 0):
            raise ConfigError(f"max_minutes must be a positive number, got {max_minutes!r}")
        if patience is not None and (not isinstance(patience, int) or patience < 1):
            raise ConfigError(f"patience must be a positive integer, got {patience!r}")
        if not isinstance(min_steps, int) or isinstance(min_steps, bool) or min_steps < 0:
            raise ConfigError(f"min_steps must be an integer >= 0, got {min_steps!r}")
        if overfit_tolerance is not None and not (isinstance(overfit_tolerance, (int, float)) and overfit_tolerance > 0):
            raise ConfigError(f"overfit_tolerance must be a positive number, got {overfit_tolerance!r}")
        if grad_clip is not None and not (isinstance(grad_clip, (int, float)) and grad_clip > 0):
            raise ConfigError(f"grad_clip must be a positive number, got {grad_clip!r}")
        self.epochs = epochs
        self.batch_size = batch_size
        self.max_minutes = max_minutes
        self.patience = patience
        self.min_delta = min_delta
        self.min_steps = min_steps
        self.overfit_tolerance = overfit_tolerance
        self.grad_clip = grad_clip
        self.device = resolve_device(device)
        self.seed = seed
        self.desc = desc

    def batches(self, n_rows: int, generator: torch.Generator) -> list[torch.Tensor]:
        """One epoch of row-index batches (seeded permutation)."""
        perm = torch.randperm(n_rows, generator=generator)
        if n_rows <= self.batch_size:
            return [perm]
        full = n_rows // self.batch_size
        return list(perm[: full * self.batch_size].view(full, self.batch_size))

    def optimize(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor,
                 parameters: Iterable[nn.Parameter] | None = None) -> None:
        """zero_grad → backward → clip gradients (if ``grad_clip``) → step."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            params = parameters if parameters is not None else [p for g in optimizer.param_groups for p in g["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        optimizer.step()

    def run(self, n_rows: int, step: Callable[[torch.Tensor], Mapping[str, float]],
            validate: Callable[[], float] | None = None, modules: Sequence[nn.Module] = (),
            after_epoch: Callable[[int], None] | None = None) -> TrainingHistory:
        """Train until ``epochs``, the time budget or early stopping; returns the history.
        ``after_epoch`` is called with the epoch's number after its validation, before the stops."""
        if n_rows < 1:
            raise ConfigError("cannot train on 0 rows")
        generator = torch.Generator()
        generator.manual_seed(0 if self.seed is None else int(self.seed))
        if self.seed is not None:
            torch.manual_seed(int(self.seed))
        history = TrainingHistory()
        total = self.epochs if self.epochs is not None else None
        best, best_state, waited = math.inf, None, 0
        start = time.perf_counter()
        bar = progress(total=total, desc=self.desc, unit="epoch")
        epoch = 0
        try:
            while total is None or epoch < total:
                sums: dict[str, float] = {}
                batches = self.batches(n_rows, generator)
                out_of_time = False
                for batch in batches:
                    losses = step(batch)
                    for key, value in losses.items():
                        sums[key] = sums.get(key, 0.0) + float(value)
                    history.steps += 1
                    history.rows_seen += len(batch)
                    if self.max_minutes is not None and time.perf_counter() - start > 60.0 * self.max_minutes:
                        out_of_time = True
                        break
                epoch += 1
                record: dict[str, float] = {"epoch": float(epoch), "seconds": time.perf_counter() - start}
                record.update({k: v / max(len(batches), 1) for k, v in sums.items()})
                if validate is not None:
                    val = float(validate())
                    record["val_loss"] = val
                    if val < best - self.min_delta:
                        best, waited, history.best_epoch = val, 0, epoch
                        if self.patience is not None and modules:
                            best_state = [copy.deepcopy(m.state_dict()) for m in modules]
                    else:
                        waited += 1
                history.epochs.append(record)
                if after_epoch is not None:
                    after_epoch(epoch)
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k not in ("epoch", "seconds")})
                if out_of_time:
                    history.stop_reason = "time"
                    log.info("%s: time budget of %.3g min reached after %d epochs", self.desc, self.max_minutes, epoch)
                    break
                if (self.overfit_tolerance is not None and validate is not None and math.isfinite(best)
                        and record["val_loss"] > abs(best) * self.overfit_tolerance + best and history.steps >= self.min_steps):
                    history.stop_reason = "overfitting"
                    log.info("%s: stopped after %d epochs: validation loss %.4g is %.0f %% above its best %.4g (epoch %s)",
                             self.desc, epoch, record["val_loss"], 100 * self.overfit_tolerance, best, history.best_epoch)
                    break
                if (self.patience is not None and validate is not None and waited >= self.patience
                        and history.steps >= self.min_steps):
                    history.stop_reason = "early_stopping"
                    log.info("%s: early stopping after %d epochs (best epoch %s)", self.desc, epoch, history.best_epoch)
                    break
        finally:
            bar.close()
        if best_state is not None and history.best_epoch != epoch:
            for module, state in zip(modules, best_state):
                module.load_state_dict(state)
        history.seconds = time.perf_counter() - start
        return history
