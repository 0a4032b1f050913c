"""What every DP synthesizer shares: budget parameters, a public-only schema, DP preprocessing.

The base :class:`~synthkit.models.base.Synthesizer` derives its ``TableSchema`` from the data
(numeric clip bounds are quantiles, integer-ness and regeneration hints are read from values) and
stores the metadata it was given (profiled missing shares, cardinalities, row count). A DP model
must not publish those, so :meth:`DPModelMixin._dp_begin` replaces them before anything is
learned or stored: the schema keeps only public facts (names, kinds, dtypes, PII classes, the
integer subtype) and gets its numeric bounds from the DP release; the stored metadata drops every
data statistic except the ``public_bounds`` / ``public_categories`` a user declared. No
``ColumnSpec`` field computed from values survives, so the base's read is discarded, not published.

Public knowledge a user may supply (not charged to the budget):
- ``bounds={"age": [17, 90]}`` or ``ColumnMeta.stats["public_bounds"] = [17, 90]``
- ``categories={"sex": ["Female", "Male"]}`` or ``ColumnMeta.stats["public_categories"] = [...]``
Column kinds are part of the public schema; when the metadata is profiled from the training data
itself, that (small) read is outside the guarantee, so pass metadata for a formal guarantee.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthkit.errors import ConfigError
from synthkit.meta import Metadata
from synthkit.privacy.accounting import PrivacyLedger, default_delta, validate_budget
from synthkit.privacy.preprocess import DPDiscretizer
from synthkit.transform.schema import _category_key

__all__ = ["PUBLIC_STATS_KEYS", "DPModelMixin"]

log = logging.getLogger(__name__)

PUBLIC_STATS_KEYS = ("public_bounds", "public_categories")


class DPModelMixin:
    """Mix into a :class:`Synthesizer` subclass; call the ``_dp_*`` helpers from ``_fit``."""

    dp_mechanism: ClassVar[str] = ""
    dp_accountant: ClassVar[str] = ""

    epsilon: float | None
    delta: float | None
    bounds: dict[str, list[float]] | None
    categories: dict[str, list[str]] | None
    n_bins: int
    metadata: Metadata | None
    schema_: Any
    table_: Any

    def _check_dp_params(self) -> None:
        validate_budget(self.epsilon, self.delta)
        if not isinstance(self.n_bins, int) or isinstance(self.n_bins, bool) or not 2 <= self.n_bins <= 1000:
            raise ConfigError(f"n_bins must be an integer in [2, 1000], got {self.n_bins!r}")
        for name, pair in (self.bounds or {}).items():
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(v, (int, float)) for v in pair)
                    and math.isfinite(pair[0]) and math.isfinite(pair[1]) and pair[0] <= pair[1]):
                raise ConfigError(f"bounds[{name!r}] must be [low, high] with finite low <= high, got {pair!r}")
        for name, cats in (self.categories or {}).items():
            if not isinstance(cats, (list, tuple)) or not cats:
                raise ConfigError(f"categories[{name!r}] must be a non-empty list of category values, got {cats!r}")

    # -- public knowledge ---------------------------------------------------------------
    def _public_bounds(self) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for col in self.table_.columns:
            given = (self.bounds or {}).get(col.name, col.stats.get("public_bounds"))
            if given is not None:
                if not (isinstance(given, (list, tuple)) and len(given) == 2):
                    raise ConfigError(f"public bounds of column {col.name!r} must be [low, high], got {given!r}")
                out[col.name] = (float(given[0]), float(given[1]))
        unknown = sorted(set(self.bounds or {}) - set(self.table_.column_names))
        if unknown:
            raise ConfigError(f"bounds given for unknown columns {unknown}")
        return out

    def _public_categories(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for col in self.table_.columns:
            given = (self.categories or {}).get(col.name, col.stats.get("public_categories"))
            if given is not None:
                out[col.name] = [_category_key(v) for v in given]
        unknown = sorted(set(self.categories or {}) - set(self.table_.column_names))
        if unknown:
            raise ConfigError(f"categories given for unknown columns {unknown}")
        return out

    def _public_integer(self) -> dict[str, bool]:
        """Integer-ness from the schema (dtype or declared subtype), never from the values."""
        out = {}
        for spec in self.schema_.learned:
            if spec.role == "numerical" and spec.kind == "numerical":
                meta = self.table_.column(spec.name)
                out[spec.name] = spec.dtype.lower().startswith(("int", "uint")) or meta.subtype == "integer"
        return out

    # -- the DP fit steps -----------------------------------------------------------------
    def _dp_begin(self, n_rows: int) -> PrivacyLedger | None:
        """Scrub data-derived metadata/schema fields; open the ledger (None when ``epsilon`` is None)."""
        self._publicize()
        for constraint in getattr(self, "constraints_", None) or []:
            if constraint.to_state().get("type") == "fixed_combinations":
                raise ConfigError("a fixed_combinations constraint stores the category combinations seen in the training "
                                  "data, outside the privacy budget; it cannot be used with a DP model")
        if self.epsilon is None:
            log.warning("%s: epsilon=None — trained WITHOUT differential privacy (reference run)", type(self).__name__)
            return None
        delta = float(self.delta) if self.delta is not None else default_delta(n_rows)
        ledger = PrivacyLedger(epsilon=float(self.epsilon), delta=delta)
        categorical = set(self.schema_.categorical_names)
        if categorical - set(self._public_categories()):
            ledger.reserve_delta(delta / 2, "thresholds of category sets without a public list")
        return ledger

    def _dp_discretize(self, frame: pd.DataFrame, rho: float | None, ledger: PrivacyLedger | None,
                       rng: np.random.Generator) -> np.ndarray:
        """Release the code domains with ``rho`` (charged to ``ledger``); return the training codes."""
        numerical, categorical = self.schema_.numerical_names, self.schema_.categorical_names
        disc = self._dp_release(lambda d, *args: d.fit(frame, numerical, categorical, *args), rho, ledger, rng)
        return disc.encode(frame, rng)

    def _dp_release(self, fit: Callable[..., Any], rho: float | None, ledger: PrivacyLedger | None,
                    rng: np.random.Generator) -> DPDiscretizer:
        """A new :class:`DPDiscretizer` released by ``fit(discretizer, rho, threshold δ, rng, public bounds,
        public categories, integer)`` (its ``fit`` on a frame, or ``fit_tallies`` on merged counts)."""
        disc = DPDiscretizer(n_bins=self.n_bins)
        fit(disc, rho if ledger is not None else None, ledger.delta_reserved if ledger is not None else 0.0, rng,
            self._public_bounds(), self._public_categories(), self._public_integer())
        if ledger is not None and rho is not None:
            ledger.charge_rho(rho, f"DP preprocessing of {len(disc.names)} columns (domains + 1-way counts)")
        self.discretizer_ = disc
        for spec in self.schema_.learned:
            if spec.role == "numerical":
                released = disc.spec(spec.name)
                spec.low, spec.high = released.get("low"), released.get("high")
        return disc

    def _dp_finish(self, ledger: PrivacyLedger | None) -> None:
        self.privacy_guarantee_ = None if ledger is None else ledger.guarantee(self.dp_mechanism, self.dp_accountant)
        if ledger is not None:
            log.info("%s: (ε=%.4g, δ=%.3g)-DP, ε spent %.4g", type(self).__name__, ledger.epsilon, ledger.delta,
                     self.privacy_guarantee_["epsilon_spent"])

    def _publicize(self) -> None:
        """Drop every data-derived field from the schema and the metadata the model will store."""
        integer = self._public_integer()
        for spec in self.schema_.columns:
            spec.nullable = False
            spec.low = spec.high = None
            if spec.role == "numerical":
                spec.integer = bool(integer.get(spec.name, False))
                spec.extra.pop("resolution", None)  # the shares of decimal places are the data's, not public
            elif spec.role == "regenerate":
                spec.extra = {"format": "integer" if spec.dtype.lower().startswith(("int", "uint")) else "string"}
        doc = self.metadata.to_dict() if self.metadata is not None else None
        if doc is not None:
            for table in doc["tables"].values():
                table["n_rows"] = None
                for col in table["columns"]:
                    col["missing_share"], col["cardinality"] = 0.0, None
                    col["stats"] = {k: v for k, v in col.get("stats", {}).items() if k in PUBLIC_STATS_KEYS}
            self.metadata = Metadata.from_dict(doc)
            self.table_ = self.metadata.table()

    # -- state helpers ----------------------------------------------------------------------
    def _dp_state(self) -> dict[str, Any]:
        return {"privacy_guarantee": self.privacy_guarantee_, "discretizer": self.discretizer_.to_state()}

    def _set_dp_state(self, state: dict[str, Any]) -> None:
        self.privacy_guarantee_ = state.get("privacy_guarantee")
        self.discretizer_ = DPDiscretizer.from_state(state["discretizer"])
