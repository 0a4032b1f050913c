"""The contract every synthesizer keeps: three small protocols over one base class.

- :class:`Synthesizer` (one table): ``fit(df)``, ``sample(n) -> DataFrame``; also the base class
  whose bookkeeping (parameters, seeds, save/load without pickle) every model inherits.
- :class:`SequenceSynthesizer` (entities with time-ordered events, long format):
  ``fit(long_df, entity=, time=, context=)``, ``sample(n_entities) -> DataFrame``.
- :class:`MultiTableSynthesizer` (tables linked by keys): ``fit(Dataset)``, ``sample(n) -> Dataset``.

A model declares the protocol it keeps with the class attribute ``protocol``; the registry lists
models per protocol (``available(protocol=...)``) and ``tests/models/test_contract.py`` runs that
protocol's checks over each of them. Parameters follow scikit-learn: ``get_params``/``set_params``
and :func:`clone` (an unfitted copy with the same parameters); learned state ends in ``_``.

The base class does the bookkeeping once (scikit-learn style): the constructor only stores keyword
arguments; ``fit`` validates input, profiles it if no metadata was given, maps it to the model frame
(:class:`~synthkit.transform.TableSchema`) and calls the subclass hook ``_fit``; ``sample`` validates
``n``, calls ``_sample``, regenerates PII/id/text columns and restores dtypes; ``save``/``load`` write
``model.json`` (params, metadata, schema, JSON state) plus ``weights.pt`` (tensors only, loaded with
``weights_only=True``) and check a SHA-256 checksum, so loading never unpickles.

Subclasses implement ``_fit(frame)``, ``_sample(n, rng) -> frame`` and, when they hold tensors or
state, ``_get_state() -> (json_state, tensors)`` and ``_set_state(json_state, tensors)``.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import io
import json
import logging
import math
from pathlib import Path
from dataclasses import fields
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import torch

from synthkit import __version__
from synthkit.errors import ConfigError, DataError, ModelError, ModelFileError, NotFittedError, SynthkitError
from synthkit.io.dataset import Dataset
from synthkit.meta import Metadata, TableMeta
from synthkit.models import signing
from synthkit.models.constraints import constraints_from_state, enforce, fit_constraints
from synthkit.models.fakes import fake_column
from synthkit.models.registry import get
from synthkit.profile import profile
from synthkit.transform.schema import TableSchema
from synthkit.utils.atomic import write_bytes, write_text
from synthkit.utils.seeding import seed_everything

__all__ = ["MAX_SAMPLE_ROWS", "MODEL_FORMAT_VERSION", "MultiTableSynthesizer", "SequenceSynthesizer", "Synthesizer",
           "clone"]

log = logging.getLogger(__name__)

MODEL_FORMAT_VERSION = 1
MAX_SAMPLE_ROWS = 1_000_000_000
MAX_REJECTION_DRAWS = 20_000_000  # rows a conditioned sample may draw by rejection (tens of seconds at most models' rates)
UNSEEN_AFTER_DRAWS = 50_000  # draws without a single match after which a condition is taken as unseen
REJECTION_BATCH = 1_000_000  # rows drawn at once by rejection sampling (memory: one batch and the kept rows)
_MODEL_JSON = "model.json"
_WEIGHTS = "weights.pt"
_ALLOWED_TOP_KEYS = {
    "format", "format_version", "synthkit_version", "model", "params", "metadata", "schema", "state",
    "weights_sha256", "state_sha256", "fit_info", "constraints",
}


class Synthesizer:
    """One table in, one table out; the base class of all synthesizers (see the module docstring)."""

    name: ClassVar[str] = "base"
    #: the protocol this model keeps: Synthesizer, SequenceSynthesizer or MultiTableSynthesizer
    protocol: ClassVar[type]
    #: constructor arguments that are parameter objects (dataclasses) whose fields are flat parameters
    param_groups: ClassVar[dict[str, type]] = {}
    #: fast constructor settings used by the contract tests (few epochs, small networks)
    test_params: ClassVar[dict[str, Any]] = {}
    #: whether ``_sample`` accepts ``conditions`` natively (else rejection sampling is used)
    native_conditions: ClassVar[bool] = False

    def __init__(self, metadata: Metadata | None = None, seed: int | None = 0, tail_quantile: float = 0.0) -> None:
        self.metadata = metadata
        self._given_metadata = metadata  # what clone() passes on: fit may fill in self.metadata
        self.seed = seed
        self.tail_quantile = tail_quantile

    # -- parameters (scikit-learn style) ------------------------------------------------
    @classmethod
    def _param_groups(cls) -> dict[str, type]:
        groups: dict[str, type] = {}
        for klass in reversed(cls.__mro__):
            groups.update(klass.__dict__.get("param_groups", {}))
        return groups

    @classmethod
    def _param_names(cls) -> list[str]:
        """Flat parameter names: constructor arguments, with parameter objects expanded to their fields."""
        groups = cls._param_groups()
        names: list[str] = []
        for klass in cls.__mro__:
            if klass is object:
                continue
            sig = inspect.signature(klass.__init__)
            for p in sig.parameters.values():
                if p.name in ("self", "metadata") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    continue
                expanded = [f.name for f in fields(groups[p.name])] if p.name in groups else [p.name]
                names.extend(n for n in expanded if n not in names)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments (except metadata) as flat keys, JSON-friendly (YAML ``model.params``).

        ``deep`` is accepted for scikit-learn compatibility; nested settings are plain dicts."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Synthesizer:
        """Change parameters (flat keys); learned state (``*_``) is kept, so fit again to use them.

        The new values go through the constructor once, so derived settings follow them."""
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise ConfigError(f"unknown parameters {unknown} for model {self.name!r}; "
                              f"parameters: {', '.join(self._param_names())}")
        fresh = type(self)(metadata=self._given_metadata, **{**self.get_params(), **params})
        for key, value in vars(fresh).items():
            if not key.endswith("_") and key not in ("metadata", "_given_metadata"):
                setattr(self, key, value)
        return self

    def _set_param_group(self, arg: str, given: Any, flat: dict[str, Any], defaults: dict[str, Any]) -> None:
        """Store the fields of parameter object ``arg`` as flat attributes.

        Fields come from ``given`` (an instance of the group's dataclass) or, field by field, from
        the flat keyword arguments in ``flat`` (popped) over ``defaults`` over the dataclass defaults."""
        group = self._param_groups()[arg]
        names = [f.name for f in fields(group)]
        mine = {k: flat.pop(k) for k in names if k in flat}
        if given is not None:
            if not isinstance(given, group):
                raise ConfigError(f"{arg} must be a {group.__name__}, got {type(given).__name__}")
            if mine:
                raise ConfigError(f"{sorted(mine)} given both as parameters and inside {arg}=; give them once")
            values = {k: getattr(given, k) for k in names}
        else:
            values = {**{k: getattr(group(), k) for k in names}, **{k: v for k, v in defaults.items() if k in names}, **mine}
        for k in names:
            setattr(self, k, values[k])

    def _param_group(self, arg: str) -> Any:
        """The parameter object ``arg`` built from the current flat attributes."""
        group = self._param_groups()[arg]
        return group(**{f.name: getattr(self, f.name) for f in fields(group)})

    # -- fit ---------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, constraints: list[Any] | None = None) -> Synthesizer:
        """Learn the distribution of ``data``; returns self.

        ``constraints`` (see :mod:`synthkit.models.constraints`) are rules every sampled row keeps.
        """
        data = self._validate_input(data)
        if self.metadata is None:
            self.metadata = profile(data)
        self.table_: TableMeta = self.metadata.table()
        missing = [c for c in self.table_.column_names if c not in data.columns]
        extra = [c for c in data.columns if c not in self.table_.column_names]
        if missing or extra:
            raise DataError(f"data does not match metadata: missing columns {missing}, unexpected columns {extra}")
        data = data[self.table_.column_names]
        self.schema_ = TableSchema.fit(data, self.table_, tail_quantile=self.tail_quantile)
        frame = self.schema_.to_model_frame(data)
        for name in frame.columns:
            if frame[name].isna().all():
                log.info("column %r is entirely missing; it will be sampled as missing", name)
        self._check_params()

        self.constraints_, self.constraint_report_ = fit_constraints(constraints, frame, self.schema_)
        if self.seed is not None:
            seed_everything(self.seed)
        self.n_training_rows_ = len(data)
        self._fit(frame)
        self._sample_rng_ = np.random.default_rng(self.seed)
        self.fitted_ = True
        return self

    def _validate_input(self, data: Any) -> pd.DataFrame:
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"fit expects a pandas DataFrame, got {type(data).__name__}")
        if data.shape[1] == 0:
            raise DataError("cannot fit on a table with no columns")
        if len(data) == 0:
            raise DataError("cannot fit on an empty table (0 rows)")
        if data.columns.duplicated().any():
            dupes = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
            raise DataError(f"duplicate column names: {dupes}")
        data = data.copy()
        data.columns = [str(c) for c in data.columns]
        return data.reset_index(drop=True)

    def _check_params(self) -> None:
        """Subclasses validate their hyper-parameters here (raise ConfigError)."""

    # -- sample ------------------------------------------------------------------------
    def sample(self, n: int, seed: int | None = None, conditions: dict[str, Any] | None = None) -> pd.DataFrame:
        """``n`` synthetic rows with the training columns and dtypes.

        ``seed`` makes the call reproducible; without it, successive calls continue one random
        stream seeded by the model's ``seed`` (so a script is reproducible end to end).
        ``conditions`` maps columns to a required value (or a list of allowed values).
        """
        self._require_fitted()
        n = _validate_n(n)
        if seed is None:
            seed = int(self._sample_rng_.integers(0, 2**31 - 1))
        rng = np.random.default_rng(seed)
        seed_everything(seed)
        wanted = self._normalize_conditions(conditions) if conditions else None

        def draw(k: int, r: np.random.Generator) -> pd.DataFrame:
            frame = self._sample_with_conditions(k, r, wanted) if wanted else self._sample(k, r)
            return self.schema_.write_at_resolution(frame, r, keep=wanted or ())  # before constraints are checked

        constraints = getattr(self, "constraints_", None)
        if constraints:
            frame = enforce(constraints, draw, n, rng, schema=self.schema_)
        else:
            frame = draw(n, rng)
        regenerated = {
            spec.name: fake_column(spec.kind, spec.pii, n, rng, spec.extra) for spec in self.schema_.regenerated
        }
        return self.schema_.from_model_frame(frame, regenerated)  # it resets a non-default index itself

    def _normalize_conditions(self, conditions: Any) -> dict[str, list[Any]]:
        """Conditions as column -> allowed model-frame values; malformed ones are refused at once."""
        if not isinstance(conditions, dict):
            raise DataError(f"conditions must map column names to values, got {type(conditions).__name__}")
        learned = {spec.name: spec for spec in self.schema_.learned}
        out: dict[str, list[Any]] = {}
        for column, wanted in conditions.items():
            if column not in learned:
                raise DataError(f"cannot condition on {column!r}: not a learned column of this model")
            values = list(wanted) if isinstance(wanted, (list, tuple, set)) else [wanted]
            if not values:
                raise DataError(f"condition on {column!r} allows no value (empty list)")
            if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in values):
                raise DataError(f"condition on {column!r} asks for a missing value; conditions need concrete values")
            if learned[column].role == "categorical":
                out[column] = [str(v) for v in values]
            else:
                try:
                    out[column] = [float(v) for v in values]
                except (TypeError, ValueError):
                    raise DataError(f"condition on numerical column {column!r} needs numbers, got {values!r}") from None
                if not np.isfinite(out[column]).all():
                    raise DataError(f"condition on numerical column {column!r} needs finite numbers, got {values!r}")
        return out

    def _sample_with_conditions(self, n: int, rng: np.random.Generator, conditions: dict[str, list[Any]]) -> pd.DataFrame:
        """Rejection sampling: draw batches, keep rows meeting every condition, give up clearly.

        The effort follows the measured match rate: drawing goes on while the rows still wanted
        could be met within :data:`MAX_REJECTION_DRAWS` draws at a generous reading of the rate
        seen so far (about its 95 % upper bound, so a few unlucky batches do not end it), and stops,
        saying how many draws it would need, as soon as they could not. A condition the model never
        produces in the first :data:`UNSEEN_AFTER_DRAWS` draws (an unseen category, say) is refused
        at once. Why not a fixed number of draws per row: 50 per row refused a class of 1.3 %
        (Adult's doctorates, 5,000 rows) that a few seconds more would have met.
        """
        if self.native_conditions:
            return self._sample(n, rng, conditions=conditions)  # type: ignore[call-arg]
        kept: list[pd.DataFrame] = []
        have, drawn, batch = 0, 0, min(max(1000, 2 * n), REJECTION_BATCH)
        while True:
            batch = min(batch, MAX_REJECTION_DRAWS - drawn)
            frame = self._sample(batch, rng)
            drawn += batch
            mask = np.ones(len(frame), dtype=bool)
            for column, values in conditions.items():
                mask &= frame[column].isin(values).to_numpy()
            kept.append(frame[mask])
            have += int(mask.sum())
            if have >= n:
                return pd.concat(kept, ignore_index=True).iloc[:n]
            if have == 0 and drawn >= UNSEEN_AFTER_DRAWS:
                break
            # stop only when even a generous rate (about a 95 % upper bound on few matches) cannot finish
            generous = (have + 2.0 * np.sqrt(have) + 3.0) / drawn
            if drawn + (n - have) / generous > MAX_REJECTION_DRAWS:
                break
            rate = max(have, 1) / drawn
            batch = int(min(max(batch, (n - have) / rate * 1.2), REJECTION_BATCH))
        needs = (f"; {n:,} rows would need about {n * drawn / have:,.0f} draws, over the limit of "
                 f"{MAX_REJECTION_DRAWS:,}") if have else ""
        raise ModelError(
            f"could not generate {n} rows meeting the conditions on {sorted(conditions)} "
            f"({have} of {drawn:,} draws matched{needs}); the condition is unseen or too rare for this model "
            "(ask for fewer rows, or use arm or bayesnet, which condition without rejection)"
        )

    def _require_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"the {self.name} model is not fitted; call fit(data) first")

    # -- subclass hooks ----------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        raise NotImplementedError

    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """JSON-serializable state and a flat dict of tensors (torch) for ``weights.pt``."""
        return {}, {}

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        """Inverse of ``_get_state``."""

    # -- save / load -------------------------------------------------------------------
    def save(self, path: str | Path, key: bytes | str | None = None) -> Path:
        """Write the model to directory ``path`` (``model.json`` + ``weights.pt``); no pickle.

        With a signing ``key`` (or ``$SYNTHKIT_MODEL_KEY``) a ``model.sig`` HMAC is written too
        (:mod:`synthkit.models.signing`): checksums detect damage, the signature forgery.
        """
        self._require_fitted()
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ModelFileError(f"cannot save model to {path}: it exists and is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        state, tensors = self._get_state()
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, buffer)
        weights = buffer.getvalue()
        doc = {
            "format": "synthkit-model",
            "format_version": MODEL_FORMAT_VERSION,
            "synthkit_version": __version__,
            "model": self.name,
            "params": self.get_params(),
            "metadata": self.metadata.to_dict() if self.metadata else None,
            "schema": self.schema_.to_state(),
            "state": state,
            "fit_info": {"n_training_rows": self.n_training_rows_},
            "constraints": [c.to_state() for c in getattr(self, "constraints_", [])],
            "weights_sha256": hashlib.sha256(weights).hexdigest(),
        }
        doc = json.loads(json.dumps(doc, allow_nan=False, default=_json_default))  # canonical JSON types
        doc["state_sha256"] = _content_sha256(doc)
        write_bytes(path / _WEIGHTS, weights)
        write_text(path / _MODEL_JSON, json.dumps(doc, indent=1, allow_nan=False, default=_json_default))
        signing.sign(path, key)
        return path

    @classmethod
    def load(cls, path: str | Path, key: bytes | str | None = None) -> Synthesizer:
        """Load a model saved by :meth:`save`; refuses tampered, foreign or newer files.

        With a signing ``key`` (or ``$SYNTHKIT_MODEL_KEY``) only a folder signed with it loads.
        """
        path = Path(path)
        doc_path, weights_path = path / _MODEL_JSON, path / _WEIGHTS
        if not doc_path.is_file() or not weights_path.is_file():
            raise ModelFileError(f"{path} is not a synthkit model folder (needs {_MODEL_JSON} and {_WEIGHTS})")
        signing.verify(path, key)  # before a byte of the model is parsed
        try:
            doc = json.loads(doc_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ModelFileError(f"{doc_path} is not valid JSON: {str(exc)[:200]}") from None
        if not isinstance(doc, dict) or doc.get("format") != "synthkit-model":
            raise ModelFileError(f"{doc_path} is not a synthkit model file")
        extra = set(doc) - _ALLOWED_TOP_KEYS
        if extra:
            raise ModelFileError(f"{doc_path} has unexpected keys {sorted(extra)}; refusing a foreign or tampered file")
        if doc.get("format_version") != MODEL_FORMAT_VERSION:
            raise ModelFileError(f"model format version {doc.get('format_version')} is not supported (expected {MODEL_FORMAT_VERSION})")
        weights = weights_path.read_bytes()
        if hashlib.sha256(weights).hexdigest() != doc.get("weights_sha256"):
            raise ModelFileError(f"{weights_path} does not match its checksum; the model file was changed or damaged")
        try:
            content_ok = _content_sha256(doc) == doc.get("state_sha256")
        except (TypeError, ValueError):
            content_ok = False
        if not content_ok:
            raise ModelFileError(f"{doc_path} does not match its checksum; the model file was changed or damaged")
        try:
            model_cls = get(str(doc.get("model")))
        except SynthkitError as exc:
            raise ModelFileError(f"{path}: {exc}") from None
        if cls is not Synthesizer and not issubclass(model_cls, cls):
            raise ModelFileError(f"{path} holds a {doc['model']!r} model, not a {cls.name!r} model")
        try:
            tensors = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for corrupt or pickled payloads
            raise ModelFileError(f"cannot read weights from {weights_path}: {str(exc).splitlines()[0]}") from None
        try:
            model = _restore(model_cls, doc, tensors)
        except SynthkitError as exc:
            raise ModelFileError(f"{path}: the model file is damaged or foreign ({exc})") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as exc:
            raise ModelFileError(f"{path}: the model file is damaged or foreign ({type(exc).__name__}: {str(exc)[:200]})") from None
        model._sample_rng_ = np.random.default_rng(model.seed)
        model.fitted_ = True
        return model


Synthesizer.protocol = Synthesizer


@runtime_checkable
class SequenceSynthesizer(Protocol):
    """Entities with a static context and a time-ordered event sequence, in long format.

    ``fit`` takes one row per event: an ``entity`` column, an optional ``time`` column and
    per-entity constant ``context`` columns (defaults: constructor, then metadata
    ``sequence_key``/``sequence_index``). ``sample(n)`` returns ``n`` new *entities* (all their
    rows) with the training columns and dtypes. Models also keep the base class's
    ``save``/``load``/``get_params``/``set_params``.
    """

    name: ClassVar[str]

    def fit(self, data: pd.DataFrame, entity: str | None = None, time: str | None = None,
            context: list[str] | None = None) -> Any: ...

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame: ...

    def save(self, path: str | Path) -> Path: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...


@runtime_checkable
class MultiTableSynthesizer(Protocol):
    """Tables linked by primary/foreign keys: ``fit(Dataset)``, ``sample(n) -> Dataset``.

    ``sample(n)`` makes ``n`` rows of the root table and their children (or ``scale`` times the
    real root size); the returned :class:`~synthkit.io.Dataset` carries the training keys and
    relationships, with fresh keys and no orphans.
    """

    name: ClassVar[str]

    def fit(self, data: Dataset) -> Any: ...

    def sample(self, n: int | None = None, seed: int | None = None, scale: float | None = None) -> Dataset: ...

    def save(self, path: str | Path) -> Path: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...


def clone(model: Synthesizer) -> Synthesizer:
    """An unfitted copy of ``model`` with the same parameters (deep copies) and given metadata."""
    if not isinstance(model, Synthesizer):
        raise ConfigError(f"clone expects a synthkit model, got {type(model).__name__}")
    params = copy.deepcopy(model.get_params())
    given = model._given_metadata
    return type(model)(metadata=given.model_copy(deep=True) if given is not None else None, **params)


def _content_sha256(doc: dict[str, Any]) -> str:
    """Checksum over everything that shapes the model except the checksums themselves."""
    covered = {k: v for k, v in doc.items() if k not in ("weights_sha256", "state_sha256")}
    return hashlib.sha256(json.dumps(covered, sort_keys=True, allow_nan=False).encode()).hexdigest()


def _restore(model_cls: type[Synthesizer], doc: dict[str, Any], tensors: dict[str, Any]) -> Synthesizer:
    """Rebuild a fitted model from a checked model document and its tensors."""
    metadata = Metadata.from_dict(doc["metadata"]) if doc.get("metadata") else None
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        raise TypeError("params is not a mapping")
    unknown = set(params) - set(model_cls._param_names())
    if unknown:
        raise ValueError(f"unknown parameters {sorted(unknown)} for model {model_cls.name!r}")
    model = model_cls(metadata=metadata, **params)
    model.table_ = metadata.table() if metadata else None  # type: ignore[assignment]
    model.schema_ = TableSchema.from_state(doc["schema"])
    model.n_training_rows_ = int(doc.get("fit_info", {}).get("n_training_rows", 0))
    model._set_state(doc.get("state") or {}, tensors)
    model.constraints_ = constraints_from_state(doc.get("constraints") or [])
    return model


def _validate_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) and not (isinstance(n, float) and n.is_integer()):
        raise DataError(f"number of rows must be a whole number, got {n!r}")
    n = int(n)
    if n <= 0:
        raise DataError(f"number of rows must be positive, got {n}")
    if n > MAX_SAMPLE_ROWS:
        raise DataError(f"number of rows {n} exceeds the limit of {MAX_SAMPLE_ROWS}; sample in chunks")
    return n


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        f = float(value)
        if math.isfinite(f):
            return f
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
