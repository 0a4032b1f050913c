"""What distributed training needs to know about each neural model: encoders from merged statistics,
the batch encoding run by Ray Data, and one optimization step on a worker.

A recipe wraps an unfitted model whose ``schema_`` is set. On the driver, :meth:`Recipe.prepare`
fits the model's encoders from a merged :class:`~synthkit.engine.train_stats.EncoderStats` and
builds its networks (seeded, so every worker starts from the same weights); Ray Data tasks call
:meth:`Recipe.encode` on each batch of model-frame rows; each training worker calls
:meth:`Recipe.loss_module` (what DistributedDataParallel wraps), :meth:`Recipe.optimizers`,
:meth:`Recipe.step` and :meth:`Recipe.val_loss`. After training, the driver loads the weights back
into the model (they are the model's own modules), so the file it saves is the in-process format.

The models' in-process fits are the reference: the same encoders (fitted from aggregates instead of
the frame), the same networks, losses and optimizers; what changes is where rows come from.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from scipy.special import ndtri
from torch import nn

from synthkit.engine.train_stats import EncoderStats
from synthkit.errors import ConfigError
from synthkit.models.arm import (ARNet, average_decay, normal_columns, normal_features, ordinal_features, protection_defaults,
                                 small_table_schedule, tree_order)
from synthkit.models.base import Synthesizer
from synthkit.models.flow import GaussianizedColumns, RealNVP
from synthkit.transform.discretize import CategoricalCodec, Discretizer, NumericCodec
from synthkit.transform.encoders import CategoricalEncoder, NumericEncoder
from synthkit.transform.table import TableEncoder

__all__ = ["ArmRecipe", "FlowRecipe", "Recipe", "table_encoder_from_stats"]

log = logging.getLogger(__name__)


class _LikelihoodLoss(nn.Module):
    """``net.loss(batch)`` as a forward pass, so DistributedDataParallel sees (and syncs) it."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.loss(x)


class Recipe:
    """Base recipe: one module trained by likelihood (arm, flow); see the module docstring."""

    kinds: ClassVar[tuple[str, ...]] = ()
    dtype: ClassVar[torch.dtype] = torch.float32
    min_batch = 1  # the smallest batch a step can use
    select: Any = None  # rows of a raw batch to train on (None: all)
    learning_rate: float | None = None  # set by schedule() when it differs from the model's

    def __init__(self, model: Synthesizer) -> None:
        self.model = model

    # -- driver ---------------------------------------------------------------------------
    def prepare(self, stats: EncoderStats) -> None:
        raise NotImplementedError

    def weights(self) -> dict[str, nn.Module]:
        """The model's modules whose trained weights come back from the workers."""
        raise NotImplementedError

    def trained(self) -> dict[str, nn.Module]:
        """Every module training updates (the weights plus helpers such as a critic): checkpointed."""
        return self.weights()

    def finish(self, history: dict[str, Any]) -> None:
        """Set the fitted model's bookkeeping from the training history."""

    def schedule(self, n_train: int) -> tuple[int, int]:
        """(global batch size, epoch cap) for ``n_train`` training rows: the model's own settings."""
        if self.model.epochs is None:
            raise ConfigError(f"{self.model.name} on Ray needs a number of epochs")
        return int(self.model.batch_size), int(self.model.epochs)

    @property
    def min_steps(self) -> int:
        """Optimizer steps before early stopping may fire or the learning rate be halved."""
        return 0

    def to(self, device: torch.device) -> None:
        for module in self.trained().values():
            module.to(device)

    def wrap(self, module: nn.Module, wrap: Any) -> nn.Module:
        """``module`` wrapped for data parallelism by ``wrap`` (DistributedDataParallel)."""
        return wrap(module)

    # -- data -----------------------------------------------------------------------------
    def row_bytes(self, stats: EncoderStats) -> int:
        """Bytes of one encoded row (after :meth:`prepare`)."""
        return 8 * len(stats.columns)

    def encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    # -- worker ---------------------------------------------------------------------------
    @property
    def validation_fraction(self) -> float:
        return float(getattr(self.model, "validation_fraction", 0.0) or 0.0)

    @property
    def patience(self) -> int | None:
        return getattr(self.model, "patience", None) if self.validation_fraction else None

    def loss_module(self) -> nn.Module:
        return _LikelihoodLoss(next(iter(self.weights().values())))

    def optimizers(self, module: nn.Module) -> list[Any]:
        """Optimizers, then (optionally) a scheduler stepped on the validation loss."""
        lr = self.learning_rate if self.learning_rate is not None else self.model.learning_rate
        opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=self.model.weight_decay)
        return [opt, torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)]

    def step(self, module: nn.Module, optimizers: list[Any], x: torch.Tensor) -> dict[str, float]:
        opt = optimizers[0]
        loss = module(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"nll": float(loss.detach())}

    def after_step(self, step: int) -> None:
        """Called after the run's ``step``-th optimizer step (counted from 0, the same on every worker)."""

    def val_loss(self, module: nn.Module, x: torch.Tensor) -> float:
        """Mean loss over the rows of ``x`` (the caller weights it by rows across workers)."""
        return float(module(x))

    def after_validation(self, optimizers: list[Any], val: float) -> None:
        if len(optimizers) > 1:
            optimizers[-1].step(val)


class ArmRecipe(Recipe):
    """``arm``: the Discretizer from merged counts and values; tokens are int64."""

    kinds = ("arm",)
    dtype = torch.int64

    def prepare(self, stats: EncoderStats) -> None:

        m = self.model
        rare, clip = protection_defaults(m)
        first = list(dict.fromkeys(m.column_order or []))
        m.order_ = first + [c for c in stats.columns if c not in first]
        self.bounds: dict[str, tuple[float, float]] = {}
        codecs: list[Any] = []
        for name in m.order_:
            if stats.kind(name) == "numerical":
                values = stats.numeric_values(name)
                if clip > 0 and np.isfinite(values).any():
                    lo, hi = np.nanquantile(values, [clip, 1 - clip])
                    self.bounds[name] = (float(lo), float(hi))
                    values = np.where(np.isnan(values), np.nan, np.clip(values, lo, hi))
                codecs.append(NumericCodec.fit(name, values, m.bins_for(stats.n_rows)))
            else:
                codecs.append(CategoricalCodec.from_counts(name, stats.category_counts(name), stats.n_missing(name) > 0,
                                                           m.max_categories, rare, m.rare_strategy))
        m.discretizer_ = Discretizer(codecs)
        # the merged sketch's row sample (a seeded bottom-k of up to 20,000 rows, the same at any batching)
        # holds joint rows: the strong pairs are found on it as the in-memory fit finds them on its rows
        numerical = [codec.name for codec in codecs if isinstance(codec, NumericCodec)]
        sample = self._clipped(stats.sketch.sample)
        parents = None
        if m.uses_tree_prior(stats.n_rows):  # a small table: the sample holds every row, so the tree is the in-memory one
            m.order_, parents = tree_order(m.discretizer_, sample, first)
            m.discretizer_ = Discretizer([m.discretizer_.codec(c) for c in m.order_])
        m.normal_columns_ = normal_columns(sample, numerical, stats.n_rows)
        m.net_ = ARNet(m.discretizer_.sizes, *m.network_size(stats.n_rows), m.depth, m.dropout, ordinal_features(m.discretizer_),
                       normal_features(m.discretizer_, m.normal_columns_), prior_parents=parents)
        if parents is not None:  # its tables from every row (in memory: from the rows not kept for validation)
            m.net_.start_from_tree(torch.from_numpy(m.discretizer_.encode(sample[m.order_])))
        else:
            m.net_.start_from_counts([self._token_counts(stats, codec) for codec in codecs])
        # the in-memory fit's moving average of the weights: what is validated, kept at its best epoch,
        # checkpointed as the weights and returned (see train_likelihood_model); each worker keeps its own
        # copy, identical on every worker because the weights it averages are
        self.average = copy.deepcopy(m.net_).requires_grad_(False)
        self.decay = 0.0

    def _token_counts(self, stats: EncoderStats, codec: Any) -> torch.Tensor:
        """A column's token counts from the merged statistics (exact for categories, from the
        representative values for numbers), for the output biases' start as in memory."""
        name = codec.name
        if stats.kind(name) == "numerical":
            values = stats.numeric_values(name)
            if name in self.bounds:
                values = np.where(np.isnan(values), np.nan, np.clip(values, *self.bounds[name]))
            return torch.bincount(torch.from_numpy(codec.encode(values)), minlength=codec.size)
        counts = stats.category_counts(name)
        tokens = codec.encode(pd.Series(counts.index, dtype=object))
        out = np.bincount(tokens[tokens >= 0], weights=counts.to_numpy()[tokens >= 0], minlength=codec.size)
        if codec.missing_token >= 0:
            out[codec.missing_token] += stats.n_missing(name)
        return torch.from_numpy(out)

    def weights(self) -> dict[str, nn.Module]:
        return {"net": self.average}

    def trained(self) -> dict[str, nn.Module]:
        return {"net": self.average, "steps": self.model.net_}

    def loss_module(self) -> nn.Module:
        return _LikelihoodLoss(self.model.net_)  # the optimizer steps the network; the average follows it

    def schedule(self, n_train: int) -> tuple[int, int]:
        """The in-memory fit's: enough steps whatever the row count (the batch shrinks on a small table, the
        learning rate with it, and ``epochs=None`` grows the cap to fit ``min_steps``; see
        :func:`~synthkit.models.arm.small_table_schedule`), and the same weight average."""
        m = self.model
        batch, self.learning_rate, epochs = small_table_schedule(n_train, m.batch_size, m.learning_rate, m.epochs, m.min_steps)
        self.decay = average_decay(batch, n_train)
        return batch, epochs

    def after_step(self, step: int) -> None:
        """The exponential moving average of ``torch.optim.swa_utils.get_ema_multi_avg_fn`` (the in-memory
        fit's): the first step's weights, then ``decay * average + (1 - decay) * weights``.

        Written out rather than ``AveragedModel``: its update count lives in the model (a checkpoint
        would have to carry it beside the weights under other names), while the loop already knows
        the step, also after a resume."""
        with torch.no_grad():
            for mean, now in zip(self.average.parameters(), self.model.net_.parameters(), strict=True):
                if step == 0:
                    mean.copy_(now)
                else:
                    mean.lerp_(now, 1.0 - self.decay)

    def val_loss(self, module: nn.Module, x: torch.Tensor) -> float:
        with torch.no_grad():
            return float(self.average.loss(x))  # the average is judged, as in process

    @property
    def min_steps(self) -> int:
        return int(self.model.min_steps)

    def encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return self.model.discretizer_.encode(self._clipped(frame)[self.model.order_])

    def _clipped(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Model-frame rows with their numbers clipped to the tail bounds, as the in-memory fit sees them."""
        frame = frame.copy()
        for name, (lo, hi) in self.bounds.items():
            values = frame[name].to_numpy(dtype=float)
            frame[name] = np.where(np.isnan(values), np.nan, np.clip(values, lo, hi))
        return frame

    def finish(self, history: dict[str, Any]) -> None:
        self.model.net_.load_state_dict(self.average.state_dict())  # the average's best weights, as in process
        self.model.net_.eval()
        self.model.fit_info_ = {**_fit_info(history), "normal_features": self.model.normal_columns_,
                                "learning_rate": self.learning_rate, "weight_average_decay": self.decay,
                                "tree_prior": self.model.tree_edges()}


class FlowRecipe(Recipe):
    """``flow``: Gaussianized columns from merged statistics; batches are float32 normal scores."""

    kinds = ("flow",)

    def prepare(self, stats: EncoderStats) -> None:

        m = self.model
        marginals = []
        for name in stats.columns:
            if stats.kind(name) == "numerical":
                values = stats.numeric_values(name)
                present = values[~np.isnan(values)]
                marginals.append(GaussianizedColumns.numeric_marginal(name, present, stats.n_missing(name) / max(stats.n_rows, 1),
                                                                      m.n_quantiles))
            else:
                marginals.append(GaussianizedColumns.categorical_marginal(name, stats.category_counts(name),
                                                                          stats.n_missing(name)))
        m.columns_ = GaussianizedColumns(marginals)
        m.flow_ = RealNVP(len(marginals), m.n_layers, m.hidden, int(m.seed or 0))

    def weights(self) -> dict[str, nn.Module]:
        return {"flow": self.model.flow_}

    def encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:

        u, _ = self.model.columns_.encode(frame, rng)
        return ndtri(np.clip(u, 1e-6, 1 - 1e-6)).astype(np.float32)

    def finish(self, history: dict[str, Any]) -> None:
        self.model.flow_.eval()
        self.model.fit_info_ = _fit_info(history)


def _fit_info(history: dict[str, Any]) -> dict[str, Any]:
    """arm/flow's ``fit_info_`` (the keys of :func:`synthkit.models.arm.train_likelihood_model`)."""
    epochs = history["epochs"]
    vals = [e["val_loss"] for e in epochs if "val_loss" in e]
    return {"preprocess_seconds": history["preprocess_seconds"], "epochs": len(epochs),
            "train_seconds": history["seconds"], "seconds_per_epoch": history["seconds"] / max(len(epochs), 1),
            "stop_reason": history["stop_reason"], "best_epoch": history["best_epoch"],
            "best_validation_nll": min(vals) if vals else None, "workers": history["workers"],
            "engine": "ray", "rows_per_second": history["rows_per_second"], "steps": history["steps"],
            "batch_size": history["batch_size"]}


def table_encoder_from_stats(model: Any, stats: EncoderStats) -> Any:
    """gan/vae's :class:`TableEncoder` fitted column by column from merged statistics (as ``_prepare`` does in memory)."""

    rare, clip = model.protection()
    settings = TableEncoder(numeric=model.numeric_encoding, max_modes=model.max_modes, rare_min_count=rare,
                            rare_strategy=model.rare_strategy, clip_quantile=clip)
    rng = np.random.default_rng(model.seed)
    encoders: list[dict[str, Any]] = []
    for name in stats.columns:
        if stats.kind(name) == "numerical":
            enc: Any = NumericEncoder(name, settings.numeric, settings.max_modes, settings.clip_quantile,
                                      max_samples=settings.max_samples).fit(stats.numeric_values(name), rng)
        else:
            enc = CategoricalEncoder(name, rare, model.rare_strategy).fit_counts(stats.category_counts(name), stats.n_missing(name))
        encoders.append(enc.to_state())
    return TableEncoder.from_state({**settings.to_state(), "encoders": encoders})
