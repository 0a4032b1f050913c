"""The DP path of the shared neural synthesizers: DP code domains as softmax groups, DP-SGD, state.

A neural model normally fits a :class:`~synthkit.transform.TableEncoder` on the raw data (category
sets, GMM modes, numeric ranges): reads outside any budget. With DP on, :class:`DPNeuralMixin`
replaces that encoder by the :class:`~synthkit.privacy.preprocess.DPDiscretizer` release (a
``preprocessing_share`` of the budget, or public ``bounds`` / ``categories``): every column becomes
one softmax group over its released codes (categories that cleared the DP threshold, numeric
quantile bins of a noisy histogram, a missing cell), so the network's input and output space is
a DP output. Training runs :func:`~synthkit.privacy.dpsgd.train_dp_sgd` (Poisson sampling,
per-row clipping, Gaussian noise, a hard budget stop; opacus is imported only here, at fit time).

The model file then holds only the discretizer release, the decoder/generator weights (a DP
output) and the guarantee; exact training losses stay in memory.

A model mixes this in before its neural base and calls, from ``_fit``: :meth:`_dp_prepare` (the
one-hot training matrix), :meth:`_dp_train` with its networks and per-row loss, then samples with
:meth:`_dp_sample` (or :meth:`_dp_sample_codes` + :meth:`_dp_decode`), and saves with :meth:`_dp_neural_state`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthkit.errors import ConfigError
from synthkit.models.chunked import map_chunks
from synthkit.models.dp import DPModelMixin
from synthkit.models.nn_base import SpanLayout
from synthkit.models.params import DPParams
from synthkit.models.trainer import resolve_device
from synthkit.privacy.accounting import PrivacyLedger, cdp_rho
from synthkit.privacy.preprocess import DPDiscretizer
from synthkit.transform.encoders import Span

__all__ = ["DPNeuralMixin", "code_spans"]

log = logging.getLogger(__name__)


def code_spans(discretizer: DPDiscretizer) -> list[Span]:
    """One softmax span per released column, in the discretizer's column order."""
    spans, start = [], 0
    for name, size in zip(discretizer.names, discretizer.sizes):
        spans.append(Span(column=name, start=start, width=int(size), activation="softmax", role="category"))
        start += int(size)
    return spans


class DPNeuralMixin(DPModelMixin):
    """DP-SGD for a :class:`~synthkit.models.nn_base.NeuralSynthesizer` (see the module docstring).

    A model takes ``privacy: DPParams | None`` in its constructor and stores it with
    ``self._set_param_group("privacy", privacy, flat, self.param_defaults)``: the fields of
    :class:`~synthkit.models.params.DPParams` (``dp``, ``epsilon``, ``delta``, ``max_grad_norm``,
    ``noise_multiplier``, ``n_bins``, ``bounds``, ``categories``, ``preprocessing_share``) become
    flat attributes, beside the neural ones (``epochs``, ``batch_size``, ``max_minutes``,
    ``patience``, ``validation_fraction``, ``device``, ``seed``).
    """

    param_groups: ClassVar[dict[str, type]] = {"privacy": DPParams}
    dp_mechanism: ClassVar[str] = "dp-sgd"
    dp_accountant: ClassVar[str] = "RDP (opacus) + zCDP preprocessing"

    dp: bool | None
    max_grad_norm: float
    noise_multiplier: float | None
    preprocessing_share: float
    layout_: Any
    device_: torch.device

    @property
    def dp_params(self) -> DPParams:
        """The differential-privacy settings as one object (built from the flat attributes)."""
        return self._param_group("privacy")  # type: ignore[attr-defined]

    @property
    def dp_enabled(self) -> bool:
        return bool(self.dp) if self.dp is not None else self.epsilon is not None

    def _check_dp_neural_params(self) -> None:
        if self.dp is not None and not isinstance(self.dp, bool):
            raise ConfigError(f"dp must be true, false or None (on when epsilon is given), got {self.dp!r}")
        if not self.dp_enabled:
            if self.epsilon is not None:
                raise ConfigError("epsilon is given but dp=False; drop one of them")
            given = [k for k in ("noise_multiplier", "bounds", "categories") if getattr(self, k) is not None]
            if given:
                raise ConfigError(f"{', '.join(given)} only apply with differential privacy (give epsilon=... or dp=True)")
            return
        self._check_dp_params()
        try:
            import opacus  # noqa: F401
        except ImportError:
            raise ConfigError(f"{type(self).__name__} with differential privacy needs opacus: "
                              "pip install synthkit[dp]") from None
        for name in ("max_grad_norm",):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{name} must be a positive number, got {value!r}")
        if self.noise_multiplier is not None and (isinstance(self.noise_multiplier, bool)
                                                  or not isinstance(self.noise_multiplier, (int, float))
                                                  or not self.noise_multiplier > 0):
            raise ConfigError(f"noise_multiplier must be a positive number or None (calibrated), got {self.noise_multiplier!r}")
        if isinstance(self.preprocessing_share, bool) or not isinstance(self.preprocessing_share, (int, float)) \
                or not 0 < self.preprocessing_share < 1:
            raise ConfigError(f"preprocessing_share must be in (0, 1), got {self.preprocessing_share!r}")
        if self.epochs is None:
            raise ConfigError("DP training needs epochs (the noise is calibrated for a planned number of steps); "
                              "max_minutes can only shorten it")
        if getattr(self, "grad_clip", None) is not None:
            raise ConfigError("grad_clip clips the batch gradient; with differential privacy each row's gradient is "
                              "clipped to max_grad_norm instead: drop grad_clip")
        if self.patience is not None or self.validation_fraction:
            raise ConfigError("early stopping (patience / validation_fraction) reads a validation loss on real rows "
                              "outside the privacy budget; it cannot be used with differential privacy")

    # -- fit ------------------------------------------------------------------------------
    def _dp_seed(self) -> int:
        return 0 if self.seed is None else int(self.seed)

    def _dp_prepare(self, frame: pd.DataFrame) -> tuple[PrivacyLedger | None, torch.Tensor, np.ndarray, np.random.Generator]:
        """Open the ledger, release the code domains; (ledger, one-hot matrix, codes, rng)."""
        numerical, categorical = self.schema_.numerical_names, self.schema_.categorical_names
        ledger, rng = self._dp_open(len(frame), lambda d, *args: d.fit(frame, numerical, categorical, *args))
        codes = self.discretizer_.encode(frame, rng)
        x = self._dp_one_hot(torch.from_numpy(codes))
        return ledger, x.to(self.device_), codes, rng

    def _dp_open(self, n_rows: int, fit: Callable[..., Any]) -> tuple[PrivacyLedger | None, np.random.Generator]:
        """Open the ledger for ``n_rows`` rows and release the code domains with ``fit`` (see
        :meth:`~synthkit.models.dp.DPModelMixin._dp_release`: a frame here, merged counts on a cluster)."""
        rng = np.random.default_rng(self._dp_seed())
        self.device_ = resolve_device(self.device)
        ledger = self._dp_begin(n_rows)
        rho_pre = None if ledger is None else self.preprocessing_share * cdp_rho(ledger.epsilon, ledger.conversion_delta)
        self._dp_release(fit, rho_pre, ledger, rng)
        self.layout_ = SpanLayout(code_spans(self.discretizer_), self.device_)
        return ledger, rng

    def _dp_one_hot(self, codes: torch.Tensor) -> torch.Tensor:
        """(n, columns) int64 codes → the (n, layout width) one-hot rows the networks read."""
        starts = torch.tensor(np.concatenate([[0], np.cumsum(self.discretizer_.sizes)[:-1]]), dtype=torch.int64)
        x = torch.zeros((len(codes), self.layout_.dim), device=codes.device)
        x.scatter_(1, codes + starts.to(codes.device)[None, :], 1.0)
        return x

    def _dp_record(self, ledger: PrivacyLedger | None, noise_multiplier: float, steps: int, stop_reason: str,
                   losses: list[float]) -> None:
        """Keep what a DP-SGD run did (its steps are already charged to ``ledger``) and the guarantee."""
        self.noise_multiplier_ = noise_multiplier
        self.steps_ = steps
        self.stop_reason_ = stop_reason
        # mean loss per 50 steps, for diagnostics only: exact losses on real rows, NOT DP, never saved
        self.loss_history_ = [float(np.mean(losses[i:i + 50])) for i in range(0, len(losses), 50)]
        self._dp_finish(ledger)

    def _dp_train(self, ledger: PrivacyLedger | None, module: nn.Module, optimizer: torch.optim.Optimizer,
                  per_row_loss: Callable[[nn.Module, torch.Tensor], torch.Tensor], n_rows: int,
                  rng: np.random.Generator, after_step: Callable[[], None] | None = None) -> None:
        """DP-SGD on ``module`` (every network that sees real rows); records the spend.

        ``after_step``: a GAN's generator update after every critic step (post-processing)."""
        from synthkit.privacy.dpsgd import train_dp_sgd  # needs opacus (optional extra [dp])

        run = train_dp_sgd(module, optimizer, ledger, per_row_loss, n_rows, int(self.batch_size), int(self.epochs),
                           float(self.max_grad_norm), self.noise_multiplier, self._dp_seed(), rng,
                           max_seconds=None if self.max_minutes is None else 60.0 * float(self.max_minutes),
                           after_step=after_step)
        self._dp_record(ledger, run.noise_multiplier, run.steps, run.stop_reason, run.losses)

    # -- sample ---------------------------------------------------------------------------
    def _dp_sample(self, n: int, rng: np.random.Generator, latent_dim: int,
                   network: Callable[[torch.Tensor], torch.Tensor], chunk: int) -> pd.DataFrame:
        """``n`` rows: standard-normal codes through ``network``, one draw per released column, decoded.

        Chunks run on parallel threads with their own seeds (:mod:`synthkit.models.chunked`).
        """
        dev = self.device_

        def draw(rows: int, seed: int) -> np.ndarray:
            gen = torch.Generator(device=dev).manual_seed(seed)
            z = torch.randn(rows, latent_dim, generator=gen, device=dev)
            return self._dp_sample_codes(network(z), gen)

        codes = map_chunks(n, chunk, int(rng.integers(0, 2**62)), draw, parallel=dev.type == "cpu")
        return self._dp_decode(np.concatenate(codes), rng)

    def _dp_sample_codes(self, logits: torch.Tensor, generator: torch.Generator) -> np.ndarray:
        """(n, columns) codes drawn from each column's softmax (Gumbel-max, :meth:`SpanLayout.draw_codes`)."""
        return self.layout_.draw_codes(logits, generator)[1]

    def _dp_decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        frame = self.discretizer_.decode(codes, rng)
        return frame[[s.name for s in self.schema_.learned]]

    # -- state ----------------------------------------------------------------------------
    def _dp_neural_state(self) -> dict[str, Any]:
        # the training losses are computed on real rows without noise: they stay in memory, never in the file
        return {**self._dp_state(), "noise_multiplier": self.noise_multiplier_, "steps": self.steps_,
                "stop_reason": self.stop_reason_}

    def _set_dp_neural_state(self, state: dict[str, Any]) -> None:
        self._set_dp_state(state)
        self.noise_multiplier_ = float(state["noise_multiplier"])
        self.steps_ = int(state["steps"])
        self.stop_reason_ = str(state["stop_reason"])
        self.loss_history_ = []
        self.device_ = resolve_device(self.device)
        self.layout_ = SpanLayout(code_spans(self.discretizer_), self.device_)
