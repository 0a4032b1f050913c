"""Shared base of the neural synthesizers (``gan``, ``vae``): encoder, trainer, activations, state.

A subclass builds its networks from ``self.encoder_`` (a fitted :class:`TableEncoder`) and
``self.layout_`` (a :class:`SpanLayout` that activates and scores network outputs group by group
without Python loops over columns), trains them with ``self._trainer()`` and declares which
modules sampling needs (:meth:`NeuralSynthesizer._sampling_modules`); saving and loading are
then generic: the encoder state and the loss history go to JSON, the module ``state_dict``s to
``weights.pt``.

Privacy defaults (documented in the model docstrings): when the table has PII columns (they are
regenerated, so the learned columns are "PII-adjacent" quasi-identifiers), ``rare_min_count=None``
becomes 10 and ``clip_quantile=None`` becomes 0.005 — categories seen fewer than 10 times are
never stored or reproduced (``rare_strategy="drop"``) and numeric tails are clipped to the 0.5 %
and 99.5 % quantiles. Without PII columns they become 1 and 0 (off).
"""

from __future__ import annotations

import functools
import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthkit.errors import ConfigError, ModelFileError
from synthkit.models.base import Synthesizer
from synthkit.models.params import NeuralParams
from synthkit.models.trainer import Trainer, TrainingHistory, resolve_device
from synthkit.transform.encoders import Span
from synthkit.transform.table import TableEncoder

__all__ = ["PII_CLIP_QUANTILE", "PII_RARE_MIN_COUNT", "NeuralSynthesizer", "SpanLayout", "check_precision", "fast_bf16",
           "uses_bf16"]

log = logging.getLogger(__name__)

PII_RARE_MIN_COUNT = 10
PII_CLIP_QUANTILE = 0.005


class SpanLayout:
    """Vectorized per-span activations and losses over an encoded matrix.

    Softmax groups of different widths are handled together through a (dim, groups) membership
    matrix: per-group sums and their broadcast back to positions are products with it, so every
    group is activated, sampled or scored in a few whole-batch operations, without padding and
    without the scatter/gather/index passes (and their slow backward) of a segment formulation.
    The products only ever add one non-zero term per output, so they are exact.
    """

    def __init__(self, spans: list[Span], device: torch.device | str = "cpu") -> None:
        self.spans = spans
        self.dim = spans[-1].stop if spans else 0
        groups = [s for s in spans if s.activation == "softmax"]
        self.value_index = torch.tensor([s.start for s in spans if s.activation == "tanh"], dtype=torch.long, device=device)
        self.group_roles = [s.role for s in groups]
        self.n_groups = len(groups)
        self.softmax_spans = [(s.start, s.stop) for s in groups]
        member = torch.zeros((self.dim, len(groups)))
        # (2 * groups, dim): row g holds each position's index within group g, row groups + g a 1 per
        # position of group g; times the one-hot of each group's maxima it gives codes and tie counts
        weights = torch.zeros((2 * len(groups), self.dim))
        for g, span in enumerate(groups):  # once per column at construction, not per row
            member[span.start:span.stop, g] = 1.0
            weights[g, span.start:span.stop] = torch.arange(span.width, dtype=torch.float32)
            weights[len(groups) + g, span.start:span.stop] = 1.0
        self.member = member.to(device)
        self.member_t = member.t().contiguous().to(device)
        self.outside = (member.sum(1) == 0).to(device)  # positions in no group (the tanh scalars)
        self.code_weights = weights.to(device)

    def log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        """(batch, dim) log-probabilities within each softmax group; 0 at the scalar positions."""
        with torch.no_grad():  # any per-group constant keeps exp() in range; the group maximum is the usual one
            top = torch.stack([logits[:, a:b].amax(dim=1) for a, b in self.softmax_spans], dim=1)
        with torch.autocast(logits.device.type, enabled=False):  # float32 products: they must stay exact
            shifted = (logits - top @ self.member_t).masked_fill(self.outside, 0.0)
            return shifted - torch.log(torch.exp(shifted) @ self.member) @ self.member_t

    def activate(self, logits: torch.Tensor, tau: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """tanh on scalars; softmax on groups (Gumbel-softmax with temperature ``tau`` if given)."""
        if not self.n_groups:
            return torch.tanh(logits)
        x = logits if tau is None else (logits + _gumbel(logits.shape, generator, logits.device)) / tau
        return torch.where(self.outside, torch.tanh(logits), torch.exp(self.log_softmax(x)))

    def draw_codes(self, logits: torch.Tensor, generator: torch.Generator | None = None,
                   draw: bool = True, transposed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(tanh of the scalars (n, scalars), one Gumbel-max draw per softmax group (n, groups)), as numpy.

        For :meth:`TableEncoder.reverse_codes`: the wide activated matrix is never handed over, and
        the draws happen where the sampler runs (in its chunk's thread). ``logits`` (n, dim), or
        (dim, n) with ``transposed=True`` (what a last layer computed as ``W @ h.T`` gives), is
        overwritten. ``draw=False`` takes each group's argmax instead of a draw.

        The maxima are found in the (dim, n) layout, where a group is a block of whole rows and its
        maximum an elementwise pass across them; torch's ``argmax`` over a handful of adjacent
        columns runs row by row and cost five times more. Positions come from one product of the
        maxima's one-hot with :attr:`code_weights`; rows with a tie (or NaN) fall back to argmax.
        """
        cols = logits if transposed else logits.t().contiguous()
        n = cols.shape[1]
        values = torch.tanh(cols[self.value_index]).t() if len(self.value_index) else cols[:0].t()
        if not self.n_groups:
            return values.cpu().numpy(), np.zeros((n, 0), dtype=np.int64)
        if draw:  # Gumbel-max: logits - log(-log U), in place (fresh temporaries cost more than the logs)
            cols.sub_(torch.rand(cols.shape, generator=generator, device=cols.device).log_().neg_().log_())
        hits = torch.empty_like(cols)
        hits[self.value_index] = 0.0
        for start, stop in self.softmax_spans:
            block = cols[start:stop]
            torch.eq(block, block.amax(dim=0), out=hits[start:stop])
        counted = self.code_weights @ hits
        codes = counted[: self.n_groups].to(torch.int64)
        unclear = (counted[self.n_groups:] != 1).any(dim=0).nonzero()[:, 0]
        if len(unclear):  # ties have probability ~0 with continuous noise, but must not give a wrong code
            codes[:, unclear] = torch.stack([cols[start:stop, unclear].argmax(dim=0) for start, stop in self.softmax_spans])
        return values.cpu().numpy(), codes.t().cpu().numpy()

    def group_cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(batch, groups) cross-entropy of each softmax group against one-hot ``target`` (full width)."""
        with torch.autocast(logits.device.type, enabled=False):
            return -(self.log_softmax(logits) * target) @ self.member

    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(batch,) summed cross-entropy over the groups where ``target`` (full width) is one-hot.

        Groups whose target slice is all zero contribute nothing, which is how the GAN scores only
        the conditioned column; target values at the scalar positions are ignored.
        """
        return -(self.log_softmax(logits) * target).sum(dim=1)


def _gumbel(shape: tuple[int, ...] | torch.Size, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Standard Gumbel noise -log(-log U) (two logs of a uniform: faster than torch's exponential_)."""
    u = torch.rand(shape, generator=generator, device=device).clamp_(1e-20, 1.0)
    return -torch.log(-torch.log(u).clamp_max_(-1e-20))


class NeuralSynthesizer(Synthesizer):
    """Common parameters and plumbing of the neural models (see the module docstring)."""

    default_learning_rate = 1e-3
    param_groups: ClassVar[dict[str, type]] = {"neural": NeuralParams}
    #: this model's defaults for flat keys of its parameter objects (e.g. ``{"epochs": 100}``)
    param_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 neural: NeuralParams | None = None, **flat: Any) -> None:
        """``neural`` or its flat keys (``epochs=...``); see :mod:`synthkit.models.params`."""
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self._set_param_group("neural", neural, flat, self.param_defaults)
        if flat:
            raise TypeError(f"{type(self).__name__} got unexpected parameters: {', '.join(sorted(flat))}")

    @property
    def neural_params(self) -> NeuralParams:
        """The training/encoding settings as one object (built from the flat attributes)."""
        return self._param_group("neural")

    # -- parameters ------------------------------------------------------------------
    def _check_params(self) -> None:
        self._trainer()  # validates epochs, batch_size, max_minutes, patience, grad_clip, device
        if self.learning_rate is not None and not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ConfigError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if not (isinstance(self.validation_fraction, (int, float)) and 0.0 <= self.validation_fraction < 0.5):
            raise ConfigError(f"validation_fraction must be in [0, 0.5), got {self.validation_fraction!r}")
        if self.numeric_encoding not in ("gmm", "quantile"):
            raise ConfigError(f"numeric_encoding must be 'gmm' or 'quantile', got {self.numeric_encoding!r}")
        if not isinstance(self.max_modes, int) or not 1 <= self.max_modes <= 50:
            raise ConfigError(f"max_modes must be an integer in [1, 50], got {self.max_modes!r}")
        if self.rare_min_count is not None and (not isinstance(self.rare_min_count, int) or self.rare_min_count < 1):
            raise ConfigError(f"rare_min_count must be an integer >= 1 or None, got {self.rare_min_count!r}")
        if self.clip_quantile is not None and not (isinstance(self.clip_quantile, (int, float)) and 0 <= self.clip_quantile < 0.5):
            raise ConfigError(f"clip_quantile must be in [0, 0.5) or None, got {self.clip_quantile!r}")
        if self.rare_strategy not in ("drop", "resample"):
            raise ConfigError(f"rare_strategy must be 'drop' or 'resample', got {self.rare_strategy!r}")

    @property
    def lr(self) -> float:
        return float(self.learning_rate if self.learning_rate is not None else self.default_learning_rate)

    def _trainer(self, desc: str | None = None) -> Trainer:
        patience = self.patience
        return Trainer(epochs=self.epochs, batch_size=self.batch_size, max_minutes=self.max_minutes, patience=patience,
                       grad_clip=self.grad_clip, device=self.device, seed=self.seed, desc=desc or self.name)

    def protection(self) -> tuple[int, float]:
        """Effective (rare_min_count, clip_quantile): stricter by default when the table has PII."""
        has_pii = any(spec.pii != "none" for spec in self.schema_.columns)
        rare = self.rare_min_count if self.rare_min_count is not None else (PII_RARE_MIN_COUNT if has_pii else 1)
        clip = self.clip_quantile if self.clip_quantile is not None else (PII_CLIP_QUANTILE if has_pii else 0.0)
        return rare, float(clip)

    # -- shared fit steps -------------------------------------------------------------
    def _prepare(self, frame: pd.DataFrame) -> torch.Tensor:
        """Fit the encoder and layout; return the encoded training matrix on the device."""
        rare, clip = self.protection()
        self.encoder_ = TableEncoder(numeric=self.numeric_encoding, max_modes=self.max_modes, rare_min_count=rare,
                                     rare_strategy=self.rare_strategy, clip_quantile=clip)
        self.encoder_.fit(frame, self.schema_.numerical_names, self.schema_.categorical_names, seed=self.seed)
        self.device_ = resolve_device(self.device)
        self.layout_ = SpanLayout(self.encoder_.spans, self.device_)
        rng = np.random.default_rng(self.seed)
        matrix = self.encoder_.transform(frame, rng)
        return torch.from_numpy(matrix).to(self.device_)

    def _split(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation row indices (validation only when early stopping needs it)."""
        fraction = self.validation_fraction or (0.1 if self.patience is not None else 0.0)
        order = np.random.default_rng(self.seed).permutation(n)
        n_val = round(n * fraction) if n >= 20 else 0
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _record(self, history: TrainingHistory) -> None:
        self.loss_history_ = history.epochs
        self.training_seconds_ = history.seconds
        self.training_rows_per_second_ = history.rows_per_second
        self.stop_reason_ = history.stop_reason

    # -- subclass hooks -----------------------------------------------------------------
    def _sampling_modules(self) -> dict[str, nn.Module]:
        """Modules whose weights sampling needs (saved to ``weights.pt``)."""
        raise NotImplementedError

    def _build_modules(self, extra: dict[str, Any]) -> None:
        """Create the sampling modules (untrained) from ``self.encoder_`` and ``extra`` state."""
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        """Model-specific JSON state (shapes, conditional-vector frequencies)."""
        return {}

    # -- state ---------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        state = {"encoder": self.encoder_.to_state(), "extra": self._extra_state(),
                 "loss_history": self.loss_history_, "stop_reason": self.stop_reason_}
        return state, self._sampling_tensors()

    def _sampling_tensors(self) -> dict[str, Any]:
        """``{"<module>.<parameter>": tensor}`` of every sampling module (what ``weights.pt`` holds)."""
        return {f"{name}.{key}": value for name, module in self._sampling_modules().items()
                for key, value in module.state_dict().items()}

    def _load_sampling_weights(self, tensors: dict[str, Any]) -> None:
        """Load :meth:`_sampling_tensors` output into freshly built sampling modules (eval mode, on the device)."""
        for name, module in self._sampling_modules().items():
            prefix = f"{name}."
            sub = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            try:
                module.load_state_dict(sub)
            except RuntimeError as exc:
                raise ModelFileError(f"weights of {name!r} do not fit the {self.name} network: {str(exc).splitlines()[0]}") from None
            module.to(self.device_).eval()

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.encoder_ = TableEncoder.from_state(state["encoder"])
        self.device_ = resolve_device(self.device)
        self.layout_ = SpanLayout(self.encoder_.spans, self.device_)
        self.loss_history_ = state.get("loss_history", [])
        self.stop_reason_ = state.get("stop_reason", "")
        self._build_modules(state.get("extra", {}))
        self._load_sampling_weights(tensors)

    def _adam(self, params: Any, **kwargs: Any) -> torch.optim.Adam:
        """Adam with the fused kernel where torch has one (several times fewer kernel launches)."""
        return torch.optim.Adam(params, lr=self.lr, fused=self.device_.type in ("cpu", "cuda"), **kwargs)

    def _use_bf16(self, precision: str) -> bool:
        """Whether ``precision`` ("auto" | "float32" | "bfloat16") means bfloat16 on this device."""
        return uses_bf16(precision, self.device_)


def check_precision(name: str, precision: object) -> None:
    """A clear error unless ``precision`` is "auto", "float32" or "bfloat16"."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise ConfigError(f"{name} must be 'auto', 'float32' or 'bfloat16', got {precision!r}")


def uses_bf16(precision: str, device: torch.device) -> bool:
    """Whether ``precision`` means bfloat16 on ``device``: "bfloat16", or "auto" where bfloat16 is fast."""
    return precision == "bfloat16" or (precision == "auto" and fast_bf16(device))


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 matrix products are fast here: CUDA with bf16, or a CPU with AMX tiles."""
    return _fast_bf16(device.type)


@functools.lru_cache(maxsize=4)
def _fast_bf16(device_type: str) -> bool:
    if device_type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            return "amx_bf16" in handle.read(1_000_000)
    except OSError:  # not Linux: stay with float32
        return False
