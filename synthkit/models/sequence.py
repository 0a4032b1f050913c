"""``sequence``: synthetic entities with a static context and a variable-length event sequence.

Input is long format: one row per event, an entity column (patient, station), an optional time
column (numbers or datetimes; irregular spacing is fine) and per-entity constant ``context``
columns (age, sex, ICU type); every other column is an event value of any type, possibly missing.

Generation is two-stage, like the data: a flat synthesizer (``context_model``, the Gaussian copula
by default) draws each new entity's context together with its sequence length and start time, then
:class:`~synthkit.models.sequence_net.SequenceNet` writes the events conditioned on it. Time is
modelled as the gap to the previous event (so irregular sampling is learned, not just order), and
other datetime event columns as offsets from the event time (so a STOP never precedes its START).

Unlike flat models, ``fit`` takes ``entity``/``time``/``context`` (or reads ``sequence_key`` /
``sequence_index`` from the metadata) and ``sample(n)`` returns ``n`` *entities* in long format;
hence ``contract_skip``: the flat-table contract tests do not apply, ``tests/models/test_sequence.py``
checks the same promises for this shape.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synthkit.errors import ConfigError, DataError
from synthkit.meta import ColumnMeta, Metadata, TableMeta
from synthkit.models.base import Synthesizer, _validate_n
from synthkit.models.fakes import fake_column
from synthkit.models.registry import create, get, register
from synthkit.models.sequence_net import ColumnCodec, SequenceNet, position_features
from synthkit.models.trainer import Trainer
from synthkit.profile import profile
from synthkit.transform.schema import TableSchema
from synthkit.utils.seeding import seed_everything

__all__ = ["LENGTH", "START", "SequenceSynthesizer", "export_model", "import_model"]

log = logging.getLogger(__name__)

LENGTH = "__length__"
START = "__start__"
_DELTA = "__delta__"


@register("sequence")
class SequenceSynthesizer(Synthesizer):
    """Context-then-sequence synthesizer for long-format data; see the module docstring."""

    contract_skip: ClassVar[bool] = True
    test_params: ClassVar[dict[str, Any]] = {"epochs": 2, "hidden": 32, "embed": 16, "n_bins": 16}

    def __init__(self, metadata: Metadata | None = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 entity: str | None = None, time: str | None = None, context: list[str] | None = None,
                 epochs: int = 30, batch_size: int = 32, hidden: int = 96, embed: int = 48, n_bins: int = 50,
                 lr: float = 3e-3, max_length: int = 512, max_minutes: float | None = None,
                 context_model: str = "copula", context_params: dict[str, Any] | None = None,
                 temperature: float = 1.0) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.entity, self.time, self.context = entity, time, context
        self.epochs, self.batch_size, self.hidden, self.embed, self.n_bins = epochs, batch_size, hidden, embed, n_bins
        self.lr, self.max_length, self.max_minutes = lr, max_length, max_minutes
        self.context_model, self.context_params, self.temperature = context_model, context_params, temperature

    def _check_params(self) -> None:
        for name in ("epochs", "batch_size", "hidden", "embed", "n_bins", "max_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"sequence: {name} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ConfigError(f"sequence: lr must be a positive number, got {self.lr!r}")
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0):
            raise ConfigError(f"sequence: temperature must be a positive number, got {self.temperature!r}")
        get(self.context_model)  # unknown names fail here with the list of models

    # -- fit ---------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, entity: str | None = None, time: str | None = None,  # type: ignore[override]
            context: list[str] | None = None) -> SequenceSynthesizer:
        """Learn from long-format ``data``; the keys default to the constructor or the metadata."""
        data = self._validate_input(data)
        seq = self.metadata.table() if self.metadata is not None else None
        self.entity_ = entity or self.entity or (seq.sequence_key if seq else None)
        self.time_ = time or self.time or (seq.sequence_index if seq else None)
        self.context_ = list(context if context is not None else self.context or [])
        self._check_params()
        self._check_columns(data)
        if self.metadata is None:
            self.metadata = profile(data)
        table = self.metadata.table().model_copy(deep=True)
        missing = [c for c in table.column_names if c not in data.columns]
        if missing:
            raise DataError(f"data does not match metadata: missing columns {missing}")
        data = data[table.column_names]
        table.column(self.entity_).kind = "id"  # regenerated per entity, never learned
        table.column(self.entity_).pii = "none"
        table.column(self.entity_).stats = {}  # no quantiles of real ids in the model file
        self.metadata = Metadata.single(table)
        if self.time_ is not None and table.column(self.time_).kind not in ("numerical", "datetime"):
            raise DataError(f"time column {self.time_!r} must hold numbers or datetimes, not {table.column(self.time_).kind}")
        self.table_ = table
        self.schema_ = TableSchema.fit(data, table, tail_quantile=self.tail_quantile)
        learned = {s.name for s in self.schema_.learned}
        self.context_ = [c for c in self.context_ if c in learned]
        frame = self.schema_.to_model_frame(data)
        ent_codes, _ = pd.factorize(data[self.entity_], sort=False)
        self.n_training_rows_ = len(data)
        if self.seed is not None:
            seed_everything(self.seed)
        ctx_frame, flat, lengths = self._prepare(frame, ent_codes)
        self.window_ = self._open_time_bounds()
        self._fit_context(ctx_frame)
        with single_thread():
            self._fit_net(ctx_frame, flat, lengths)
        self._sample_rng_ = np.random.default_rng(self.seed)
        self.fitted_ = True
        return self

    def _check_columns(self, data: pd.DataFrame) -> None:
        if self.entity_ is None:
            raise DataError("sequence: name the entity column (fit(..., entity='id') or metadata sequence_key)")
        for role, col in [("entity", self.entity_), ("time", self.time_)] + [("context", c) for c in self.context_]:
            if col is not None and col not in data.columns:
                raise DataError(f"sequence: {role} column {col!r} is not in the data; columns: {list(data.columns)}")
        if data[self.entity_].isna().any():
            raise DataError(f"sequence: entity column {self.entity_!r} has missing values")
        if self.time_ is not None and data[self.time_].isna().any():
            raise DataError(f"sequence: time column {self.time_!r} has missing values")
        if self.context_:
            varying = data.groupby(self.entity_, sort=False)[self.context_].nunique(dropna=False).max()
            bad = sorted(varying[varying > 1].index)
            if bad:
                raise DataError(f"sequence: context columns {bad} change within an entity; they must be constant per {self.entity_!r}")
        if len(set(data.columns) - {self.entity_, self.time_, *self.context_}) == 0 and self.time_ is None:
            raise DataError("sequence: no event columns and no time column: nothing to model per step")

    def _prepare(self, frame: pd.DataFrame, ent_codes: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
        """Per-entity context frame, flat sorted step frame (model space) and lengths."""
        time = frame[self.time_].to_numpy(dtype=float) if self.time_ else np.zeros(len(frame))
        order = np.lexsort((time, ent_codes))
        frame, ent_codes, time = frame.iloc[order].reset_index(drop=True), ent_codes[order], time[order]
        pos = pd.Series(ent_codes).groupby(ent_codes).cumcount().to_numpy()
        if (pos >= self.max_length).any():
            log.warning("sequence: %d entities are longer than max_length=%d; their tails are not learned",
                        len(np.unique(ent_codes[pos >= self.max_length])), self.max_length)
            keep = pos < self.max_length
            frame, ent_codes, time, pos = frame[keep].reset_index(drop=True), ent_codes[keep], time[keep], pos[keep]
        first = pos == 0
        lengths = np.bincount(ent_codes)
        self.event_columns_ = self._event_columns(frame)
        steps = pd.DataFrame(index=frame.index)
        if self.time_:
            delta = np.diff(time, prepend=time[0])
            delta[first] = 0.0
            steps[_DELTA] = delta
        for name in self.event_columns_:
            values = frame[name]
            steps[name] = values - time if name in self.relative_columns_ else values
        ctx = frame.loc[first, self.context_].reset_index(drop=True)
        ctx[LENGTH] = lengths.astype(float)
        if self.time_:
            ctx[START] = time[first]
        return ctx, steps, lengths

    def _event_columns(self, frame: pd.DataFrame) -> list[str]:
        """Categoricals first (codes before their values), then numbers; datetimes relative to time."""
        specs = [s for s in self.schema_.learned if s.name not in (self.time_, *self.context_)]
        self.relative_columns_ = [s.name for s in specs if s.kind == "datetime" and self.time_ is not None]
        cats = [s.name for s in specs if s.role == "categorical"]
        return cats + [s.name for s in specs if s.role != "categorical"]

    def _open_time_bounds(self) -> list[float] | None:
        """The observed time window [first, last], kept for :meth:`_into_window`; the time column and
        the datetime columns measured from it lose their decode clip. Clipping at the raw extremes
        piles every overshooting event onto the latest real timestamp (on Synthea a third of the
        synthetic encounters sat on one real patient's visit time, down to the second, and with a
        common code and value that reproduced that patient's unique rows). Times are built from a
        start plus learned gaps, so they need no clip below; above, entities are fitted into the
        window instead. An end date that may be missing (a condition's STOP) and falls past its
        observed end is the not-yet-ended case, so it becomes missing (``ends_``)."""
        self.ends_: dict[str, float] = {}
        if self.time_ is None:
            return None
        spec = self._spec(self.time_)
        window = None if spec.low is None or spec.high is None else [float(spec.low), float(spec.high)]
        for name in (self.time_, *self.relative_columns_):
            column = self._spec(name)
            if name != self.time_ and column.nullable and column.high is not None:
                self.ends_[name] = float(column.high)
            column.low = column.high = None
        return window

    def _into_window(self, start: np.ndarray, offsets: np.ndarray, ent: np.ndarray, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Starts and per-event offsets of entities that would run past the window's end, compressed
        so the entity ends at a random point of the last tenth of its room (order, count and relative
        spacing kept; the end itself is never hit exactly). Starts beyond the end move just inside."""
        if not getattr(self, "window_", None) or len(start) == 0:
            return start, offsets
        low, high = self.window_
        width = high - low
        if width <= 0:
            return start, offsets
        late = start >= high
        if late.any():
            start = start.copy()
            start[late] = high - width * rng.uniform(0.001, 0.01, int(late.sum()))
        span = np.zeros(len(start))
        np.maximum.at(span, ent, offsets)
        over = (start + span > high) & (span > 0)
        if not over.any():
            return start, offsets
        scale = np.ones(len(start))
        scale[over] = (high - start[over]) * rng.uniform(0.9, 1.0, int(over.sum())) / span[over]
        return start, offsets * scale[ent]

    def _fit_context(self, ctx: pd.DataFrame) -> None:
        columns = []
        for name in ctx.columns:
            numeric = name in (LENGTH, START) or self._spec(name).role == "numerical"
            columns.append(ColumnMeta(name=name, kind="numerical" if numeric else "categorical",
                                      subtype="integer" if name == LENGTH else None))
        meta = Metadata.single(TableMeta(name="context", columns=columns))
        model = create(self.context_model, metadata=meta, seed=self.seed, **(self.context_params or {}))
        self.context_model_ = model.fit(ctx)

    def _spec(self, name: str) -> Any:
        return next(s for s in self.schema_.columns if s.name == name)

    def _fit_net(self, ctx: pd.DataFrame, steps: pd.DataFrame, lengths: np.ndarray) -> None:
        self.context_codecs_ = {c: ColumnCodec.fit(ctx[c].to_numpy(), self._kind(c), min(self.n_bins, 20)) for c in ctx.columns}
        self.step_codecs_ = {c: ColumnCodec.fit(steps[c].to_numpy(), self._kind(c), self.n_bins) for c in steps.columns}
        ctx_tokens = torch.from_numpy(np.column_stack([self.context_codecs_[c].encode(ctx[c].to_numpy()) for c in ctx.columns]))
        flat = torch.from_numpy(np.column_stack([self.step_codecs_[c].encode(steps[c].to_numpy()) for c in steps.columns]))
        self.net_ = SequenceNet([k.vocab_size for k in self.context_codecs_.values()],
                                [k.vocab_size for k in self.step_codecs_.values()], self.hidden, self.embed,
                                [k.missing_token if k.has_missing else -1 for k in self.step_codecs_.values()],
                                [k.ranks() for k in self.step_codecs_.values()])
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        # length buckets: entities of similar length share a batch, so little padding is computed
        jitter = np.random.default_rng(self.seed).random(len(lengths))
        by_length = np.lexsort((jitter, lengths))
        chunks = [by_length[i : i + self.batch_size] for i in range(0, len(by_length), self.batch_size)]
        lengths_t, offsets_t = torch.from_numpy(lengths), torch.from_numpy(offsets)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        trainer = Trainer(epochs=self.epochs, batch_size=1, max_minutes=self.max_minutes, grad_clip=1.0,
                          device="cpu", seed=self.seed, desc="sequence")

        def step(batch: torch.Tensor) -> dict[str, float]:
            ents = torch.from_numpy(chunks[int(batch[0])])
            steps_b, mask = _gather(flat, offsets_t[ents], lengths_t[ents])
            pos = position_features(lengths_t[ents], steps_b.shape[1])
            loss = self.net_.loss(ctx_tokens[ents], steps_b, pos, mask)
            trainer.optimize(optimizer, loss)
            return {"loss": float(loss.detach())}

        self.net_.train()
        self.history_ = trainer.run(n_rows=len(chunks), step=step, modules=[self.net_]).to_dict()
        self.net_.eval()

    def _kind(self, name: str) -> str:
        if name in (LENGTH, START, _DELTA) or name in self.relative_columns_:
            return "numerical"
        return "categorical" if self._spec(name).role == "categorical" else "numerical"

    # -- sample ------------------------------------------------------------------------
    def sample(self, n: int, seed: int | None = None, conditions: dict[str, Any] | None = None) -> pd.DataFrame:
        """``n`` new entities in long format (their rows sorted by entity, then time)."""
        self._require_fitted()
        if conditions:
            raise ConfigError("sequence: conditions are not supported; use sample_for(context, lengths) instead")
        n = _validate_n(n)
        rng = self._rng(seed)
        ctx = self.context_model_.sample(n, seed=int(rng.integers(0, 2**31 - 1)))
        ctx = self.context_model_.schema_.to_model_frame(ctx)
        return self._generate(ctx, rng)

    def sample_for(self, context: pd.DataFrame, lengths: np.ndarray, starts: np.ndarray | None = None,
                   seed: int | None = None) -> pd.DataFrame:
        """Sequences for given entities: ``context`` rows (user values of the context columns),
        their ``lengths`` and, with a time column, ``starts`` in model units (seconds since 1970 for
        datetimes). Entities with length 0 get no rows. The relational model builds on this."""
        self._require_fitted()
        lengths = np.asarray(lengths, dtype=np.int64)
        if len(lengths) != len(context):
            raise DataError(f"sample_for: {len(lengths)} lengths for {len(context)} context rows")
        missing = [c for c in self.context_ if c not in context.columns]
        if missing:
            raise DataError(f"sample_for: context is missing columns {missing}")
        if self.time_ and starts is None:
            raise DataError("sample_for: this model has a time column; give starts")
        rng = self._rng(seed)
        sub = TableSchema([self._spec(c) for c in self.context_])
        ctx = sub.to_model_frame(context.reset_index(drop=True)) if self.context_ else pd.DataFrame(index=range(len(lengths)))
        ctx[LENGTH] = np.clip(lengths, 0, self.max_length).astype(float)
        if self.time_:
            ctx[START] = np.asarray(starts, dtype=float)
        return self._generate(ctx, rng)

    def _rng(self, seed: int | None) -> np.random.Generator:
        if seed is None:
            seed = int(self._sample_rng_.integers(0, 2**31 - 1))
        seed_everything(int(seed))
        return np.random.default_rng(seed)

    def _generate(self, ctx: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        n = len(ctx)
        lengths = np.clip(np.round(np.nan_to_num(ctx[LENGTH].to_numpy(dtype=float), nan=1.0)), 0, self.max_length).astype(np.int64)
        ctx_tokens = torch.from_numpy(np.column_stack([k.encode(ctx[c].to_numpy()) for c, k in self.context_codecs_.items()]))
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        with single_thread():
            tokens = self.net_.generate(ctx_tokens, torch.from_numpy(np.maximum(lengths, 1)), generator, float(self.temperature))
        valid = np.arange(tokens.shape[1])[None, :] < lengths[:, None]
        flat = tokens.numpy()[valid]
        ent = np.repeat(np.arange(n), lengths)
        first = np.concatenate([[0], np.cumsum(lengths)[:-1]])[lengths > 0]
        steps = {c: k.decode(flat[:, i], rng) for i, (c, k) in enumerate(self.step_codecs_.items())}
        out: dict[str, Any] = {}
        if self.time_:
            delta = np.maximum(np.nan_to_num(steps.pop(_DELTA), nan=0.0), 0.0)
            delta[first] = 0.0
            cum = np.cumsum(delta)
            offsets = cum - np.repeat(cum[first], lengths[lengths > 0])
            start, offsets = self._into_window(np.nan_to_num(ctx[START].to_numpy(dtype=float)), offsets, ent, rng)
            out[self.time_] = start[ent] + offsets
        for name in self.context_:
            out[name] = ctx[name].to_numpy()[ent]
        for name, values in steps.items():
            out[name] = values + out[self.time_] if name in self.relative_columns_ else values
            if name in getattr(self, "ends_", {}):
                out[name] = np.where(out[name] > self.ends_[name], np.nan, out[name])
        frame = pd.DataFrame(out, index=pd.RangeIndex(len(ent)))[[s.name for s in self.schema_.learned]]
        regenerated: dict[str, pd.Series] = {}
        for spec in self.schema_.regenerated:
            if spec.name == self.entity_:
                ids = fake_column(spec.kind, spec.pii, n, rng, {**spec.extra, "unique": True, "missing_share": 0.0})
                regenerated[spec.name] = ids.iloc[ent].reset_index(drop=True)
            else:
                regenerated[spec.name] = fake_column(spec.kind, spec.pii, len(ent), rng, spec.extra)
        return self.schema_.from_model_frame(frame, regenerated)

    # -- state -------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        ctx_doc, ctx_tensors = export_model(self.context_model_)
        state = {
            "entity": self.entity_, "time": self.time_, "context": self.context_,
            "event_columns": self.event_columns_, "relative_columns": self.relative_columns_,
            "context_codecs": {c: k.to_state() for c, k in self.context_codecs_.items()},
            "step_codecs": {c: k.to_state() for c, k in self.step_codecs_.items()},
            "context_model": ctx_doc, "history": self.history_, "window": getattr(self, "window_", None),
            "ends": getattr(self, "ends_", {}),
        }
        tensors = {f"net.{k}": v for k, v in self.net_.state_dict().items()}
        tensors.update({f"context.{k}": v for k, v in ctx_tensors.items()})
        return state, tensors

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.entity_, self.time_, self.context_ = state["entity"], state["time"], list(state["context"])
        self.event_columns_, self.relative_columns_ = list(state["event_columns"]), list(state["relative_columns"])
        self.context_codecs_ = {c: ColumnCodec.from_state(s) for c, s in state["context_codecs"].items()}
        self.step_codecs_ = {c: ColumnCodec.from_state(s) for c, s in state["step_codecs"].items()}
        self.history_ = state.get("history", {})
        self.window_, self.ends_ = state.get("window"), dict(state.get("ends") or {})
        self.context_model_ = import_model(state["context_model"], _strip(tensors, "context."))
        self.net_ = SequenceNet([k.vocab_size for k in self.context_codecs_.values()],
                                [k.vocab_size for k in self.step_codecs_.values()], self.hidden, self.embed,
                                [k.missing_token if k.has_missing else -1 for k in self.step_codecs_.values()],
                                [k.ranks() for k in self.step_codecs_.values()])
        self.net_.load_state_dict(_strip(tensors, "net."))
        self.net_.eval()


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One torch thread for the step-by-step recurrence: its matrices are small, so thread
    synchronisation costs more than it saves (measured 7x slower with 2 threads on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _gather(flat: torch.Tensor, offsets: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded [B, T, K] steps and [B, T] mask of the entities starting at ``offsets``."""
    t_max = int(lengths.max())
    t = torch.arange(t_max).unsqueeze(0)
    mask = t < lengths.unsqueeze(1)
    index = torch.where(mask, offsets.unsqueeze(1) + t, torch.zeros_like(t))
    return flat[index], mask.float()


def _strip(tensors: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def export_model(model: Synthesizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fitted flat synthesizer as (JSON document, tensors), for nesting inside another model file."""
    state, tensors = model._get_state()
    doc = {"model": model.name, "params": model.get_params(), "metadata": model.metadata.to_dict() if model.metadata else None,
           "schema": model.schema_.to_state(), "state": state, "n_training_rows": int(model.n_training_rows_)}
    return doc, tensors


def import_model(doc: dict[str, Any], tensors: dict[str, Any]) -> Synthesizer:
    """Inverse of :func:`export_model` (no pickle: the tensors come from ``weights_only`` loading)."""
    metadata = Metadata.from_dict(doc["metadata"]) if doc.get("metadata") else None
    model = get(doc["model"])(metadata=metadata, **dict(doc.get("params") or {}))
    model.table_ = metadata.table() if metadata else None  # type: ignore[assignment]
    model.schema_ = TableSchema.from_state(doc["schema"])
    model.n_training_rows_ = int(doc.get("n_training_rows", 0))
    model._set_state(doc.get("state") or {}, tensors)
    model._sample_rng_ = np.random.default_rng(model.seed)
    model.fitted_ = True
    return model
