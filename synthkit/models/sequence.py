"""``sequence``: synthetic entities with a static context and a variable-length event sequence.

Input is long format: one row per event, an entity column (patient, station), an optional time
column (numbers or datetimes; irregular spacing is fine) and per-entity constant ``context``
columns (age, sex, ICU type); every other column is an event value of any type, possibly missing.

Generation is two-stage, like the data: a flat synthesizer (``context_model``, the Gaussian copula
by default) draws each new entity's context together with its sequence length and start time, then
:class:`~synthkit.models.sequence_net.SequenceNet` writes the events conditioned on it. Time is
modelled as the gap to the previous event (so irregular sampling is learned, not just order), and
other datetime event columns as offsets from the event time (so a STOP never precedes its START).
Values drawn inside a bin, and integrated levels, are written at the places real readings are, in
their shares (whole beats; tenths of a degree with some stations' whole degrees; ozone in whole
µg/m³ with a few converted readings at four decimals): :class:`~synthkit.transform.resolution.Resolution`.

How long to train is decided on held-out entities (a tenth, when that is at least 50): their loss
per step is recorded every epoch (``history_``), and training stops once it has risen
``overfit_tolerance`` (5 %) above its best, or after ``epochs`` (default: 30 to 150) or
``max_minutes``. Stopping at the lowest held-out loss was measured and rejected: samples keep
getting more realistic well past it (benchmarks/results/sequence.md, v7).

After training, each column's output bias is tilted until the network's own draws keep the
training steps' token shares (:mod:`~synthkit.models.sequence_tilt`, ``tilt_rounds``): writing from
its own earlier steps instead of real ones, the network drifts (Beijing windows too calm and too
polluted), and the critics below would spend their choice undoing that.

Whole entities are then chosen by a critic (:mod:`~synthkit.models.sequence_critic`): after
training, boosted trees learn to tell the training entities' summaries (length, gaps, each number's
level, spread, jumps and how often it is read) from a draw of the model's own, and ``sample(n)``
draws ``critic_pool`` × ``n`` candidate entities and keeps ``n`` of them with probability
proportional to the critic's density ratio. ``critic_rounds`` critics are fitted in turn, each
against the choice the earlier ones make, and their ratios multiply. The network alone is
``critic_pool=1``. ``max_minutes`` bounds the whole fit: the network times one of its own draws
early in training and stops where the tilt's and the critics' draws, at that pace, still fit; no
draw for them starts once the budget is spent (the critic rounds after the later rounds' pool is
drawn reuse it, a few seconds each).

Unlike flat models, ``fit`` takes ``entity``/``time``/``context`` (or reads ``sequence_key`` /
``sequence_index`` from the metadata) and ``sample(n)`` returns ``n`` *entities* in long format;
hence ``protocol = SequenceSynthesizer`` (of :mod:`synthkit.models.base`): the contract tests check it as
a sequence model; ``tests/models/test_sequence.py`` checks what is specific to it.
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synthkit.errors import ConfigError, DataError
from synthkit.meta import ColumnMeta, Metadata, TableMeta
from synthkit.models.base import SequenceSynthesizer as SequenceProtocol
from synthkit.models.base import Synthesizer, _validate_n
from synthkit.models.fakes import fake_column
from synthkit.models.registry import create, get, register
from synthkit.models.sequence_critic import CriticRounds, EntityCritic, length_strata, resample
from synthkit.models.sequence_delta import STEP_SUFFIX, Integrator, build_integrator, level_inputs, write_as_steps
from synthkit.models.sequence_net import NORMAL_FEATURES, ColumnCodec, SequenceNet, position_features
from synthkit.models.sequence_panel import apply_derived, find_derived, find_static, find_time_linked, to_offsets
from synthkit.models.sequence_tilt import tilt_heads, token_counts
from synthkit.models.sequence_util import (check_columns, clock_grid, export_model, gather, import_model, into_window, on_grid, previous_observed,
                                           single_thread, strip, whole_numbers)
from synthkit.models.trainer import Trainer
from synthkit.profile import profile
from synthkit.transform.entity_summary import entity_features
from synthkit.transform.resolution import Resolution
from synthkit.transform.schema import TableSchema
from synthkit.utils.seeding import seed_everything

__all__ = ["LENGTH", "START", "SequenceSynthesizer", "export_model", "import_model"]

log = logging.getLogger(__name__)

LENGTH = "__length__"
START = "__start__"
_DELTA = "__delta__"
# Held-out entities decide how long to train. Their loss per step bottoms out early (ICU and Beijing,
# 1,000 entities: epoch 25-35) while the samples keep getting more realistic to a discriminator on
# held-out entities (Beijing 0.883 at the bottom, 0.817 after 150 epochs); training stops once that
# loss is 5 % above its best (overfit_tolerance), when the model is memorizing more than it learns.
DEFAULT_EPOCHS = 30  # epochs=None: without a validation set (fewer than MIN_VALIDATION held-out entities);
# with one, the least it trains: the guard can fire within a few epochs on small data, when the
# samples are still poor (a 182-person panel, 18 held out, stopped after 19 epochs: discriminator 0.681;
# trained 40 epochs on all 182: 0.643)
MAX_EPOCHS = 150  # epochs=None with one: the overfitting guard or max_minutes normally ends training first
# Fewer held-out entities than this: no validation set. On a 182-person yearly panel a tenth (18)
# was too few to judge by and too many to lose: discriminator 0.723 with it, 0.679 without.
MIN_VALIDATION = 50
# hidden and embedding widths of the network (hidden=None, embed=None): half as wide on fewer than
# SMALL_STEPS training steps, where the wider one learns single entities. On the 182-person wage
# panel (1,456 steps), 10 splits x 5 draws each: membership AUC by DCR / density ratio 0.547 / 0.549
# -> 0.537 / 0.537 (one draw per split had read 0.535-0.552 by luck of the draw), discriminator 0.617
# -> 0.612; 64 / 32 wide: 0.543 / 0.542, 0.617. On 250 ICU stays (~17,600 steps, the example
# pipeline, 3 seeds) half as wide cost fidelity for no privacy: discriminator 0.927 -> 0.946, lag-1
# 0.099 -> 0.121, membership AUC 0.526 -> 0.522, DCR share 0.550 -> 0.554 (sequence.md, v26). The
# threshold sits between the two (measured nowhere else).
WIDTHS = (96, 48)
SMALL_WIDTHS = (48, 24)
SMALL_STEPS = 5_000
# Fewer training entities than this: no critic, sampling is the network alone, as training has no
# validation set below the same size (MIN_VALIDATION held out). The critics' trees see every training
# entity's summaries; on a 182-person wage panel they bought 0.04-0.05 of discriminator for about 0.01
# of membership AUC, which sat on the 0.55 target (0.544-0.553 over 10 splits, v16-v17; the network
# alone 0.536 / 0.542 by DCR / density ratio). From 1,000 entities (ICU, Beijing) they cost no
# membership AUC (0.509 / 0.492 and 0.520 / 0.505) for 0.1-0.2 of discriminator.
MIN_CRITIC_ENTITIES = 500
# The critic chooses within fiftieths of the pool's lengths. With tenths it still picked the shortest
# of each: at a pool of 32, one-step ICU stays went from 3 in the network's draw (real: 4 in 994) to
# 15 chosen, the mean length from 69.9 to 68.8 (real 70.9); fiftieths keep 0-1 and 69.7 for the same
# discriminator (0.750 against 0.751, sequence.md v15).
LENGTH_STRATA = 50
# Candidates drawn per chunk of a critic's choice: each chunk draws them, chooses ``pool``-th of them
# and drops the rest, so memory follows this and neither n nor the pool (16,000 ICU stays, ~1.1 M
# rows; at the default pool of 32 a chunk writes 500 entities).
CHOICE_CANDIDATES = 16_000
# Share of ``max_minutes`` the network leaves for the critics when they will be fitted, so that the
# budget bounds the whole fit: the first round (a draw of as many entities as were trained on, then
# the trees) took ~25 s of ICU's 9-minute benchmark budget. The later rounds' pool (32 candidates per
# training entity, drawn once) adds about what sampling as many entities costs: ~80 s of ICU's draw
# on an idle core (the three rounds took 55 s with pools of 4, v13), so the critics get a fifth.
# The tilt before them (~35 s of ICU's budget, ~20 s of Beijing's) comes out of the same fifth.
# On ICU's 9-minute benchmark budget that fifth is short when the network trains to its share: the
# tilt, round 1 and the pool took ~140 s on a loaded core, and some seeds stop after 2 rounds
# (v18 seed 1). Timing the untrained network's draws to size the share was tried and not kept
# (v20): it misjudged the trained network's draws by up to a third. A share of 0.3 was not kept
# either (v21): on a slower machine the pool's draw outgrew it too, and the network lost 8 epochs.
# So the rounds that reuse the pool run once it is drawn (``_fit_critic``): ~20 s over the budget.
# The share is now only the network's stop until it has timed its own draws (TIMED_AT_EPOCH).
CRITIC_SHARE = 0.2
# Under ``max_minutes`` the network times one draw of the tilt's size (with the critics' summaries
# of it) after this epoch and moves its stop to leave what the draws after training would take at
# that pace (``_after_network_entities``): a fixed share cannot follow the machine (v21: the draws
# took 212 s of ICU's 9 minutes, the fifth reserved 108 s). A trained network's draw of 2,000
# entities overstated the pool's cost per entity by ~20 % (4.0 against 3.3 ms on ICU, 2.1 against
# 2.0 on Beijing). Batches of a few hundred overstated it by half or more, and so the timed draw
# is the tilt's 2,000. On ICU's 9-minute budget it predicted the pool's 118 s exactly (v22); with
# the critics' trees timed too (_critic_seconds, ~10 s) ICU's fits ended 518-545 s into 540
# (v22: 534-582; v21: 618 mean). What is left is the timed draw's own noise: 3.4-4.3 ms a stay
# across seeds on one idle machine, ±25 s of prediction (sequence.md, v23).
TIMED_AT_EPOCH = 2
# ... but the network keeps at least this share of ``max_minutes`` (from the fit's start): on a
# machine where the draws would take more, the pool and with it rounds 2 on are left out instead
MIN_NETWORK_SHARE = 0.5
# Entities a side of the critic fitted on the timed draw to time the critics' trees
# (``_critic_seconds``): under a few hundred, boosting's fixed costs would be scaled up as if per row
MIN_TIMED_CRITIC = 200
# Entities the network draws per round of its tilt (sequence_tilt): ~4 s of Beijing windows and ~6 s
# of ICU stays a round; shares over ~100,000 drawn steps barely move between draws. At most
# TILT_PER_ENTITY per training entity: on small data the shares to match are noisy at the training
# size anyway (and the test suite's hundred-stay fits drew 2,000 stays 7 times each: +4 minutes).
TILT_ENTITIES = 2_000
TILT_PER_ENTITY = 4


@register("sequence")
class SequenceSynthesizer(Synthesizer):
    """Context-then-sequence synthesizer for long-format data; see the module docstring."""

    protocol: ClassVar[type] = SequenceProtocol
    test_params: ClassVar[dict[str, Any]] = {"epochs": 2, "hidden": 32, "embed": 16, "n_bins": 16}

    def __init__(self, metadata: Metadata | None = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 entity: str | None = None, time: str | None = None, context: list[str] | None = None,
                 epochs: int | None = None, batch_size: int = 32, hidden: int | None = None, embed: int | None = None, n_bins: int = 50,
                 lr: float = 3e-3, max_length: int = 512, max_minutes: float | None = None,
                 validation_fraction: float = 0.1, overfit_tolerance: float = 0.05,
                 context_model: str = "copula", context_params: dict[str, Any] | None = None,
                 temperature: float = 1.0, panel: bool = True, fine: int = 16, latent: int | None = None,
                 smooth: bool = True, baseline: bool = True, entity_stats: bool = True, critic_pool: int = 32,
                 critic_rounds: int = 5, pace: bool = True, tilt_rounds: int = 6, normal_heads: bool = True) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.entity, self.time, self.context = entity, time, context
        # hidden / embed None: WIDTHS, or SMALL_WIDTHS on fewer than SMALL_STEPS steps (_widths)
        self.epochs, self.batch_size, self.hidden, self.embed, self.n_bins = epochs, batch_size, hidden, embed, n_bins
        self.lr, self.max_length, self.max_minutes = lr, max_length, max_minutes
        # held-out entities stop training once their loss has risen overfit_tolerance above its best;
        # epochs=None then trains up to MAX_EPOCHS (or max_minutes); see _fit_net
        self.validation_fraction, self.overfit_tolerance = validation_fraction, overfit_tolerance
        self.context_model, self.context_params, self.temperature = context_model, context_params, temperature
        self.panel = panel  # find static and time-linked columns (sequence_panel)
        # positions inside a bin; size of the per-entity latent (0: none; None: 16 for sequences of a
        # median 16 steps or more, none for short panels, where it cost 0.1 discriminator accuracy)
        self.fine, self.latent = fine, latent
        self.smooth = smooth  # smooth numeric channels written as step changes (sequence_delta)
        self.baseline = baseline  # ... seeing how far they are from the entity's running mean (Integrator)
        # every number's mean, moving average, typical move, share read and time since read, as
        # network inputs (SequenceNet.stats_features)
        self.entity_stats = entity_stats
        # with a time window, the time left to its end and the gap that fills it as inputs
        # (SequenceNet.pace_features): ICU gap KS 0.044 -> 0.032, discriminator unchanged (sequence.md, v14)
        self.pace = pace
        # candidate entities drawn per entity written, for the critics to choose among (1: no critic),
        # and how many critics, each fitted against the earlier ones' choice. ICU / Beijing, 1,000
        # entities, 3 seeds: no critic 0.872 / 0.809; one, pool 4: 0.812 / 0.763; three, pool 8:
        # 0.763 / 0.709; three, pool 16: 0.758 / 0.717, and on the same critics, 3-4 sampling seeds,
        # pool 16 beat pool 8 by 0.016 / 0.007 and pool 32 beat 16 by 0.018 / 0.003
        # (benchmarks/results/sequence.md, v12, v13, v15). Five rounds instead of three, on the same
        # tilted networks, 3 critic fits × 2 draws each: ICU 0.718 -> 0.705 (5 of 6 lower), Beijing
        # 0.702 -> 0.700 over 12 draws (v20). Rounds 4 and 5 reuse round 2's pool: ~5 s each. Under a
        # tight ``max_minutes`` the pool, and so rounds 2 on, are what is left out (see CRITIC_SHARE)
        self.critic_pool, self.critic_rounds = critic_pool, critic_rounds
        # rounds of tilting the trained network's output biases until its own draws keep the training
        # steps' token shares (sequence_tilt; 0: none). Beijing / ICU discriminator 0.712 / 0.753 ->
        # 0.699 / 0.722 on the same networks and critics refitted (sequence.md, v18)
        self.tilt_rounds = tilt_rounds
        # numeric heads add a normal distribution over their bins, whose centre and width come from
        # the head's hidden layer and the last reading's normal score (SequenceNet's ``normal``)
        self.normal_heads = normal_heads

    def _check_params(self) -> None:
        for name in ("fine", "latent", "tilt_rounds"):
            value = getattr(self, name)
            if value is None and name == "latent":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"sequence: {name} must be a non-negative integer, got {value!r}")
        for name in ("epochs", "batch_size", "hidden", "embed", "n_bins", "max_length", "critic_pool", "critic_rounds"):
            value = getattr(self, name)
            if value is None and name in ("epochs", "hidden", "embed"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"sequence: {name} must be a positive integer, got {value!r}")
        if not (isinstance(self.validation_fraction, (int, float)) and 0 <= self.validation_fraction < 0.5):
            raise ConfigError(f"sequence: validation_fraction must be in [0, 0.5), got {self.validation_fraction!r}")
        if not (isinstance(self.overfit_tolerance, (int, float)) and self.overfit_tolerance > 0):
            raise ConfigError(f"sequence: overfit_tolerance must be a positive number, got {self.overfit_tolerance!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ConfigError(f"sequence: lr must be a positive number, got {self.lr!r}")
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0):
            raise ConfigError(f"sequence: temperature must be a positive number, got {self.temperature!r}")
        get(self.context_model)  # unknown names fail here with the list of models

    # -- fit ---------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, entity: str | None = None, time: str | None = None,  # type: ignore[override]
            context: list[str] | None = None) -> SequenceSynthesizer:
        """Learn from long-format ``data``; the keys default to the constructor or the metadata."""
        started = monotonic()
        data = self._validate_input(data)
        seq = self.metadata.table() if self.metadata is not None else None
        self.entity_ = entity or self.entity or (seq.sequence_key if seq else None)
        self.time_ = time or self.time or (seq.sequence_index if seq else None)
        self.context_ = list(context if context is not None else self.context or [])
        self._check_params()
        check_columns(data, self.entity_, self.time_, self.context_)
        if self.metadata is None:
            self.metadata = profile(data)
        table = self.metadata.table().model_copy(deep=True)
        missing = [c for c in table.column_names if c not in data.columns]
        if missing:
            raise DataError(f"data does not match metadata: missing columns {missing}")
        data = data[table.column_names]
        observed = data
        table.column(self.entity_).kind = "id"  # regenerated per entity, never learned
        table.column(self.entity_).pii = "none"
        table.column(self.entity_).stats = {}  # no quantiles of real ids in the model file
        if self.time_ is not None and table.column(self.time_).kind not in ("numerical", "datetime") and whole_numbers(data[self.time_]):
            table.column(self.time_).kind, table.column(self.time_).subtype = "numerical", "integer"  # years, step numbers
        self.metadata = Metadata.single(table)
        if self.time_ is not None and table.column(self.time_).kind not in ("numerical", "datetime"):
            raise DataError(f"time column {self.time_!r} must hold numbers or datetimes, not {table.column(self.time_).kind}")
        data = self._find_panel(data, table)
        self.table_ = table
        self.schema_ = TableSchema.fit(data, table, tail_quantile=self.tail_quantile)
        for name in self.linked_:  # fitted on offsets: the values themselves are offset + slope * axis, unclipped
            self._spec(name).low = self._spec(name).high = None
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
        self.critic_columns_ = [c for c in observed.columns if c not in (self.entity_, self.time_)
                                and pd.api.types.is_numeric_dtype(observed[c]) and not pd.api.types.is_bool_dtype(observed[c])]
        with single_thread():
            counts = self._fit_net(ctx_frame, flat, lengths, started)
        self.fitted_ = True
        self.critic_ = None
        trained = monotonic()
        self._tilt(counts, len(lengths), started)
        self._fit_critic(observed, started)
        if "budget" in self.history_:
            self.history_["budget"]["after_network_seconds"] = round(monotonic() - trained, 1)
        self._sample_rng_ = np.random.default_rng(self.seed)
        return self

    def _critics_follow(self, n_entities: int) -> bool:
        """Whether critics are fitted after the network on ``n_entities`` training entities."""
        return self.critic_pool > 1 and n_entities >= MIN_CRITIC_ENTITIES

    def _summaries(self, frame: pd.DataFrame) -> pd.DataFrame:
        order = [self.entity_, self.time_] if self.time_ else [self.entity_]
        return entity_features(frame.sort_values(order, kind="stable"), self.entity_, self.time_, self.critic_columns_)

    def _after_network_entities(self, n_entities: int) -> int:
        """Entities the tilt and the critics draw after the network is trained on ``n_entities``:
        the tilt's rounds and its last look, the first critic round's draw and the later rounds' pool."""
        total = (self.tilt_rounds + 1) * self._tilt_size(n_entities) if self.tilt_rounds else 0
        if self._critics_follow(n_entities):
            total += n_entities + (self.critic_pool * n_entities if self.critic_rounds > 1 else 0)
        return total

    def _tilt_size(self, n_entities: int) -> int:
        return min(TILT_ENTITIES, TILT_PER_ENTITY * n_entities)

    def _network_stop(self, n_entities: int, started: float) -> float:
        """When (on the ``monotonic`` clock) the network stops so that the draws after it still fit
        in ``max_minutes``: one draw of the tilt's size, timed now, sets their pace (TIMED_AT_EPOCH)."""
        size = self._tilt_size(n_entities)
        rng = np.random.default_rng(None if self.seed is None else [self.seed, 3])
        self.net_.eval()
        timed = monotonic()
        summaries = self._summaries(self._draw(size, rng))
        per_entity = (monotonic() - timed) / size
        self.net_.train()
        trees = self._critic_seconds(summaries, n_entities)
        after = per_entity * self._after_network_entities(n_entities) + trees
        budget = 60.0 * float(self.max_minutes)  # called only under max_minutes (_fit_net)
        stop = started + max(budget - after, MIN_NETWORK_SHARE * budget)
        self.history_["budget"] = {"timed_entities": size, "ms_per_entity": round(1000 * per_entity, 3),
                                   "predicted_critic_seconds": round(trees, 1),
                                   "predicted_after_network_seconds": round(after, 1),
                                   "network_seconds_from_fit_start": round(stop - started, 1)}
        log.info("sequence: a draw takes %.1f ms an entity, the critics' trees %.0f s; the network stops %.0f s into the "
                 "fit, leaving %.0f s for the tilt and the critics", 1000 * per_entity, trees, stop - started, budget - (stop - started))
        return stop

    def _critic_seconds(self, summaries: pd.DataFrame, n_entities: int) -> float:
        """What the critics' trees will take after the network (their draws are timed apart): one
        critic fitted on the two halves of the timed draw's ``summaries``, scaled to ``critic_rounds``
        rounds of ``n_entities`` a side (boosting's cost follows the rows). Left out, they made
        ICU's fits overrun ``max_minutes`` by 4-8 % (~30 s of 9 minutes, sequence.md v22)."""
        half = len(summaries) // 2
        if not self._critics_follow(n_entities) or half < MIN_TIMED_CRITIC:
            return 0.0
        timed = monotonic()
        EntityCritic.fit(summaries.iloc[:half], summaries.iloc[half:], self.seed)
        return (monotonic() - timed) * self.critic_rounds * n_entities / half

    def _spent(self, started: float) -> bool:
        """Whether ``max_minutes`` has run out since the fit ``started`` (never without one)."""
        return self.max_minutes is not None and monotonic() - started > 60 * self.max_minutes

    def _fit_critic(self, observed: pd.DataFrame, started: float) -> None:
        """Rounds of boosted trees that tell the training entities' summaries from a draw of the
        network's (first round) or from the choice the earlier rounds make (each next round). No
        round that draws starts once ``max_minutes`` is spent (the network leaves them what it
        predicts they take, :meth:`_network_stop`); the rounds after the pool is drawn reuse it
        and run; without a first one, sampling is the network alone.

        Later rounds judge choices made from a pool as large as sampling's (``critic_pool`` per
        entity), drawn once and shared by them. Choices among 4 candidates, as rounds made before,
        correct less than sampling's among 32 do, so each later round learned a correction the
        sampling pool did not need, and the rounds overshot: on Beijing the chosen windows came out
        less polluted and windier than real ones (PM2.5 mean 65 against 79 real and 86 in the
        network's own draw; summaries' mean KS against held-out windows 0.055, discriminator 0.718
        over 9 draws). Rounds at the sampling pool keep them: KS 0.041 and 0.711 with the pool
        shared, 0.038 and 0.707 with a fresh pool per round, which costs one more draw of that size
        (benchmarks/results/sequence.md, v17). Round 3 then also chooses among the entities round 2
        was trained on, 1 in 32 of the pool."""
        n = int(observed[self.entity_].nunique())
        if not self._critics_follow(n):
            if self.critic_pool > 1:
                log.info("sequence: no critic under %d training entities (%d)", MIN_CRITIC_ENTITIES, n)
            return
        real = self._summaries(observed)
        self.critic_ = CriticRounds()
        pool: list[tuple[pd.DataFrame, int]] = []  # the later rounds' candidates, drawn when the second starts
        for round_ in range(self.critic_rounds):
            # the draws are the cost (ICU: round 1's ~10 s, the pool's ~90 s); a round on the pool already
            # drawn takes ~5 s, and leaving it out would waste the pool (v21)
            if not pool and self._spent(started):
                log.info("sequence: max_minutes spent; %d critic round(s) of %d", round_, self.critic_rounds)
                break
            rng = np.random.default_rng(None if self.seed is None else [self.seed, 1, round_])
            if round_:
                pool = pool or self._candidates(n, rng)
                drawn = pd.concat([summaries.loc[self._kept(summaries, size, rng)] for summaries, size in pool])
            else:
                drawn = pd.concat([self._summaries(self._draw(size, rng)) for size in _chunks(n, CHOICE_CANDIDATES)])
            self.critic_.critics.append(EntityCritic.fit(real, drawn, self.seed))
            log.info("sequence: critic round %d trained on %d entities a side (log-odds scaled by %.2f)",
                     round_ + 1, n, self.critic_.critics[-1].slope)
        if not self.critic_.critics:
            self.critic_ = None
            return
        self.history_["critic"] = {"entities_a_side": n, "calibration_slopes": [round(c.slope, 4) for c in self.critic_.critics],
                                   "pool": self.critic_pool}

    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` entities from the context model and the network, no critic."""
        return self._generate(self._draw_context(n, rng), rng, on_clock=True)

    def _draw_context(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` entities' contexts (static columns, length, start) from the context model, in model space."""
        ctx = self.context_model_.sample(n, seed=int(rng.integers(0, 2**31 - 1)))
        return self.context_model_.schema_.to_model_frame(ctx)

    def _find_panel(self, data: pd.DataFrame, table: TableMeta) -> pd.DataFrame:
        """Static and time-linked columns (:mod:`~synthkit.models.sequence_panel`) join the context;
        returns ``data`` sorted by entity and time, linked columns as per-entity offsets."""
        if self.time_ is not None:
            codes = pd.factorize(data[self.entity_], sort=False)[0]
            data = data.assign(_ent=codes).sort_values(["_ent", self.time_], kind="stable").drop(columns="_ent").reset_index(drop=True)
        self.static_, self.linked_, self.derived_ = [], {}, {}
        if not self.panel:
            return data
        free = [c.name for c in table.columns if c.name not in (self.entity_, self.time_, *self.context_)
                and c.kind not in ("id", "text") and c.pii == "none"]
        self.static_ = find_static(data, self.entity_, free)
        self.linked_ = find_time_linked(data, self.entity_, self.time_, [c for c in free if c not in self.static_])
        self.derived_ = find_derived(data, list(self.linked_), [c for c in free if c not in self.static_ and c not in self.linked_])
        if self.static_ or self.linked_:
            log.info("sequence: constant per entity %s; moving with time %s; derived %s", self.static_, sorted(self.linked_), sorted(self.derived_))
        self.context_ += self.static_ + list(self.linked_)
        return to_offsets(data, self.entity_, self.time_, self.linked_)

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
        steps: dict[str, Any] = {}
        previous = []  # per integrated channel, its level before each row (elapsed time, smooth channels)
        if self.time_:
            delta = np.diff(time, prepend=time[0])
            delta[first] = 0.0
            # strictly increasing times (one row per person and year) stay so: no two rows at one time
            self.min_gap_ = float(delta[~first].min()) if (~first).any() and (delta[~first] > 0).all() else 0.0
            steps[_DELTA] = delta
            previous.append(np.where(first, time, np.roll(time, 1)))  # the time before each step (the start at the first)
        for name in self.event_columns_:
            values = frame[name]
            steps[name] = (values - time if name in self.relative_columns_ else values).to_numpy()
        candidates = [n for n in self.event_columns_ if n not in self.relative_columns_ and self._spec(n).role == "numerical"]
        readings = {n: steps[n] for n in candidates}  # write_as_steps replaces the smooth ones by levels and steps
        self.delta_ = write_as_steps(steps, ent_codes, candidates if self.smooth else [], previous)
        # the places real readings are written at (an ozone reading in whole µg/m³, a few with four
        # decimals): integrated levels are written the same way (bins: in _fit_net, past exact values)
        self.resolutions_ = {n: Resolution.fit(readings[n]) for n in self.delta_}
        order = [c for name in steps if not name.endswith(STEP_SUFFIX) for c in (name, name + STEP_SUFFIX) if c in steps]
        self.baseline_ = bool(self.baseline and self.delta_)
        self.levels_before_ = level_inputs(previous, ent_codes)
        ctx = frame.loc[first, self.context_].reset_index(drop=True)
        ctx[LENGTH] = lengths.astype(float)
        if self.time_:
            ctx[START] = time[first]
        # the clock unit starts sit on (datetime axes; whole-number axes are rounded as integers)
        self.start_grid_ = clock_grid(time[first]) if self._clock() else 0.0
        return ctx, pd.DataFrame({c: steps[c] for c in order}), lengths

    def _event_columns(self, frame: pd.DataFrame) -> list[str]:
        """Categoricals first (codes before their values), then numbers; datetimes relative to time."""
        specs = [s for s in self.schema_.learned if s.name not in (self.time_, *self.context_)]
        self.relative_columns_ = [s.name for s in specs if s.kind == "datetime" and self.time_ is not None]
        cats = [s.name for s in specs if s.role == "categorical"]
        return cats + [s.name for s in specs if s.role != "categorical"]

    def _open_time_bounds(self) -> list[float] | None:
        """The observed time window [first, last], kept for :func:`~synthkit.models.sequence_util.into_window`; the time column and
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

    def _fit_net(self, ctx: pd.DataFrame, steps: pd.DataFrame, lengths: np.ndarray, started: float) -> list[np.ndarray]:
        """Train the network on the steps; returns its token columns' counts over all training steps.
        Under ``max_minutes`` (counted from the fit's ``started``) it stops where the draws after it
        still fit (:meth:`_network_stop`)."""
        self.context_codecs_ = {c: ColumnCodec.fit(ctx[c].to_numpy(), self._kind(c), min(self.n_bins, 20)) for c in ctx.columns}
        # integrated columns (levels, steps, gaps) have no repeat token: the running level needs a value per step
        integrated = {*self.delta_, *(c + STEP_SUFFIX for c in self.delta_), _DELTA}
        ent = np.repeat(np.arange(len(lengths)), lengths)
        self.step_codecs_ = {c: ColumnCodec.fit(steps[c].to_numpy(), self._kind(c), self.n_bins, self.fine, c not in integrated, ent)
                             for c in steps.columns}
        # values drawn inside a bin are written as the readings the bins hold are (a rain of 0 is an
        # exact token and a real reading already; the rest of the rain is mostly tenths)
        self.resolutions_.update({c: Resolution.fit(k.drawn_values(steps[c].to_numpy(dtype=float))) for c, k in self.step_codecs_.items()
                                  if k.n_bins and c not in integrated and c not in self.relative_columns_})
        ctx_tokens = torch.from_numpy(np.column_stack([self.context_codecs_[c].encode(ctx[c].to_numpy()) for c in ctx.columns]))
        coarse, fine = [], []
        for c, codec in self.step_codecs_.items():
            values = steps[c].to_numpy()
            previous = previous_observed(values, ent) if codec.repeat else None
            coarse.append(codec.encode(values, previous))
            if codec.fine:
                fine.append(codec.encode_fine(values, coarse[-1]))
        flat = torch.from_numpy(np.column_stack(coarse + fine))
        normal = {}
        for i, (c, codec) in enumerate(self.step_codecs_.items()):
            scores = codec.normal_scores(np.bincount(coarse[i], minlength=codec.vocab_size)) if self.normal_heads else None
            if scores is not None:
                normal[i] = scores
        self.normal_heads_ = [c for i, c in enumerate(self.step_codecs_) if i in normal]
        self.latent_ = self.latent if self.latent is not None else (16 if np.median(lengths) >= 16 else 0)
        self.hidden_, self.embed_ = self._widths(int(lengths.sum()))
        self.entity_stats_ = bool(self.entity_stats)
        gaps = steps[_DELTA].to_numpy(dtype=float) if _DELTA in steps else np.zeros(0)
        gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
        self.gap_unit_ = float(np.median(gaps)) if self.entity_stats_ and len(gaps) else 0.0  # a typical gap between events
        # not where every gap is the same (hourly windows, yearly panels): the pace is then a function
        # of the step's position, which the network already reads
        self.pace_ = bool(self.pace and len(np.unique(gaps)) > 1)
        self.net_ = self._build_net(normal)
        before, known, baseline = (torch.from_numpy(a) for a in self.levels_before_)
        levels = self.net_.integrator.features(before, known, baseline) if before.shape[1] else torch.zeros(len(flat), 0)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rng = np.random.default_rng(self.seed)
        train, val = self._split_entities(len(lengths), rng)
        chunks, val_chunks = self._length_buckets(train, lengths, rng), self._length_buckets(val, lengths, rng)
        lengths_t, offsets_t = torch.from_numpy(lengths), torch.from_numpy(offsets)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        epochs = self.epochs if self.epochs is not None else (MAX_EPOCHS if len(val) else DEFAULT_EPOCHS)
        minutes = None if self.max_minutes is None else self.max_minutes * (1 - CRITIC_SHARE if self._critics_follow(len(lengths)) else 1)
        trainer = Trainer(epochs=epochs, batch_size=1, max_minutes=minutes, grad_clip=1.0, device="cpu",
                          seed=self.seed, desc="sequence", overfit_tolerance=self.overfit_tolerance,
                          min_steps=DEFAULT_EPOCHS * len(chunks) if self.epochs is None else 0)

        def batch_loss(ents: torch.Tensor) -> torch.Tensor:
            steps_b, mask = gather(flat, offsets_t[ents], lengths_t[ents])
            levels_b, _ = gather(levels, offsets_t[ents], lengths_t[ents])
            pos = position_features(lengths_t[ents], steps_b.shape[1])
            return self.net_.loss(ctx_tokens[ents], steps_b, pos, mask, levels_b)

        def step(batch: torch.Tensor) -> dict[str, float]:
            loss = batch_loss(torch.from_numpy(chunks[int(batch[0])]))
            trainer.optimize(optimizer, loss)
            return {"loss": float(loss.detach())}

        def validate() -> float:
            """Loss per step on the held-out entities (the latent at its mean)."""
            self.net_.eval()
            with torch.no_grad():
                total = sum(float(batch_loss(torch.from_numpy(c))) * float(lengths[c].sum()) for c in val_chunks)
            self.net_.train()
            return total / float(lengths[val].sum())

        self.history_ = {}
        trainer_started = monotonic()

        def after_epoch(epoch: int) -> None:
            if epoch == TIMED_AT_EPOCH and self.max_minutes is not None and self._after_network_entities(len(lengths)):
                trainer.max_minutes = max(self._network_stop(len(lengths), started) - trainer_started, 1.0) / 60

        self.net_.train()
        history = trainer.run(n_rows=len(chunks), step=step, validate=validate if len(val) else None, modules=[self.net_],
                              after_epoch=after_epoch)
        self.history_ = {**self.history_, **history.to_dict(), "validation_entities": int(len(val))}
        self.net_.eval()
        return token_counts(flat.numpy(), self.net_.step_vocab)

    def _tilt(self, counts: list[np.ndarray], n_entities: int, started: float) -> None:
        """Tilt the network until its own draws keep the training steps' token shares
        (:mod:`~synthkit.models.sequence_tilt`); within ``max_minutes``, before the critics, which
        then judge the tilted network's draws. Each round draws ``TILT_ENTITIES`` entities, at most
        ``TILT_PER_ENTITY`` per training entity: the shares to match are the training entities' own,
        and a larger draw brings them no closer."""
        if not self.tilt_rounds:
            return
        if self._spent(started):
            log.info("sequence: max_minutes spent; no tilt")
            return
        rng = np.random.default_rng(None if self.seed is None else [self.seed, 2])
        size = self._tilt_size(n_entities)
        self.history_["tilt"] = tilt_heads(self.net_.heads, counts, lambda: self._network_draw(size, rng), self.tilt_rounds)
        log.info("sequence: tilted the network's token shares to the training ones (mean total variation %s)",
                 " -> ".join(f"{v:.3f}" for v in self.history_["tilt"]["total_variation"]))

    def _widths(self, steps: int) -> tuple[int, int]:
        """The network's hidden and embedding widths for ``steps`` training steps: given ones, else
        WIDTHS, or SMALL_WIDTHS under SMALL_STEPS."""
        default = SMALL_WIDTHS if steps < SMALL_STEPS else WIDTHS
        return self.hidden or default[0], self.embed or default[1]

    def _split_entities(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation entity indices; no validation set below MIN_VALIDATION held-out
        entities, where its loss would be too noisy to stop on (training then runs ``epochs``)."""
        n_val = int(round(self.validation_fraction * n))
        if n_val < MIN_VALIDATION:
            return np.arange(n), np.zeros(0, dtype=np.int64)
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _length_buckets(self, entities: np.ndarray, lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """Batches of entities of similar length (little padding is computed), ties broken at random."""
        by_length = entities[np.lexsort((rng.random(len(entities)), lengths[entities]))]
        return [by_length[i : i + self.batch_size] for i in range(0, len(by_length), self.batch_size)]

    def _build_net(self, normal: dict[int, np.ndarray] | None = None) -> SequenceNet:
        """The network for the fitted codecs: a token column per step column, then a fine-position
        column per binned number (vocabulary ``fine`` + "not binned"); ``normal``: the normal heads'
        scores by token column (a loaded model's come with its weights)."""
        codecs = list(self.step_codecs_.values())
        if normal is None:
            names = list(self.step_codecs_)
            normal = {names.index(c): np.zeros((0, NORMAL_FEATURES)) for c in getattr(self, "normal_heads_", [])}
        fines = [k for k in codecs if k.fine]
        stats = [i for i, (c, k) in enumerate(self.step_codecs_.items())  # numbers that take more than one value, not the gaps
                 if c != _DELTA and k.kind == "numerical" and len(k.exact) + k.n_bins > 1] if self.entity_stats_ else []
        return SequenceNet([k.vocab_size for k in self.context_codecs_.values()],
                           [k.vocab_size for k in codecs] + [k.fine + 1 for k in fines], self.hidden_, self.embed_,
                           [[k.missing_token if k.has_missing else -1, k.repeat_token] for k in codecs] + [[k.fine] for k in fines],
                           [k.ranks() for k in codecs] + [[i / k.fine for i in range(k.fine)] + [0.0] for k in fines],
                           latent=self.latent_, integrator=self._integrator(), repeat_tokens=[k.repeat_token for k in codecs] + [-1] * len(fines),
                           entity_stats=stats, gap_unit=getattr(self, "gap_unit_", 0.0), pace=getattr(self, "pace_", False),
                           normal=normal)

    def _clock(self) -> float:
        """A day in the time axis' model units (seconds) on a datetime axis; 0 otherwise (no time of day)."""
        return 86400.0 if self.time_ and self._spec(self.time_).kind == "datetime" else 0.0

    def _integrator(self) -> Integrator:
        window = getattr(self, "window_", None) if self.time_ else None
        return build_integrator(self.step_codecs_, _DELTA if self.time_ else None, window, getattr(self, "min_gap_", 0.0),
                                self.delta_, self._clock(), getattr(self, "baseline_", False))

    def _decode_steps(self, flat: np.ndarray, ent: np.ndarray, rng: np.random.Generator, levels: np.ndarray,
                      observed: np.ndarray) -> dict[str, np.ndarray]:
        """Step values from tokens: bins at their fine position, repeats as the entity's previous
        observation, smooth channels as the network's integrated levels where observed."""
        out, j = {}, len(self.step_codecs_)
        first_smooth = int(self.time_ is not None)
        resolutions = self._resolutions()
        for d, name in enumerate(self.delta_, start=first_smooth):
            written = resolutions[name].apply(levels[:, d], rng, ent) if name in resolutions else levels[:, d]
            out[name] = np.where(observed[:, d], written, np.nan)
        for i, (c, codec) in enumerate(self.step_codecs_.items()):
            fine = None
            if codec.fine:
                fine, j = flat[:, j], j + 1
            if c in self.delta_ or c.endswith(STEP_SUFFIX):
                continue
            values = codec.decode(flat[:, i], rng, fine)
            if c in resolutions:
                drawn = codec.drawn(flat[:, i])
                values[drawn] = resolutions[c].apply(values[drawn], rng, ent[drawn])
            if codec.repeat:
                repeat = flat[:, i] == codec.repeat_token
                if repeat.any():
                    values[repeat] = pd.Series(values).groupby(ent, sort=False).ffill().to_numpy()[repeat]
            out[c] = values
        return out

    def _resolutions(self) -> dict[str, Resolution]:
        """Per column, the places its drawn values are written at (a file saved before: one grid)."""
        if hasattr(self, "resolutions_"):
            return self.resolutions_
        return {c: Resolution.from_grid(g) for c, g in getattr(self, "value_grids_", {}).items() if g}

    def _kind(self, name: str) -> str:
        if name in (LENGTH, START, _DELTA) or name in self.relative_columns_ or name.endswith(STEP_SUFFIX):
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
        if self.critic_ is None:
            return self._draw(n, rng)
        return self._chosen(n, rng)

    def _chosen(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """The rows of ``n`` entities the critics choose among ``critic_pool`` × ``n`` drawn,
        ``CHOICE_CANDIDATES`` candidates at a time. Each draw numbers its entities afresh, so beyond
        one chunk the chosen entities get new ids, unique across chunks."""
        parts = [self._choose(self._draw(size * self.critic_pool, rng), size, rng) for size in self._choice_chunks(n)]
        if len(parts) == 1:
            return parts[0]
        rows = pd.concat(parts, ignore_index=True)
        codes, offset = [], 0
        for part_rows in parts:
            codes.append(pd.factorize(part_rows[self.entity_], sort=False)[0] + offset)
            offset += int(part_rows[self.entity_].nunique())
        ids = self._entity_ids(next(s for s in self.schema_.regenerated if s.name == self.entity_), offset, rng)
        rows[self.entity_] = pd.Series(ids.to_numpy()[np.concatenate(codes)]).astype(rows[self.entity_].dtype)
        return rows

    def _choice_chunks(self, n: int) -> list[int]:
        """How many of ``n`` chosen entities each chunk of at most ``CHOICE_CANDIDATES`` candidates yields."""
        return _chunks(n, max(1, CHOICE_CANDIDATES // self.critic_pool))

    def _choose(self, pool: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """The rows of ``n`` of the ``pool``'s entities the critics choose."""
        return pool[pool[self.entity_].isin(self._kept(self._summaries(pool), n, rng))].reset_index(drop=True)

    def _kept(self, summaries: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.Index:
        """Ids of the ``n`` candidates (rows of ``summaries``) the critics fitted so far choose."""
        # lengths keep the context model's distribution: the critic tells a long stay's summaries apart
        # more surely than a short one's, and chose short stays (ICU: length KS 0.04 -> 0.10 unstratified)
        strata = length_strata(summaries["length"].to_numpy(dtype=float), LENGTH_STRATA)
        return summaries.index[resample(self.critic_.log_ratio(summaries), n, rng, strata)]

    def _candidates(self, n: int, rng: np.random.Generator) -> list[tuple[pd.DataFrame, int]]:
        """Summaries of ``critic_pool`` × ``n`` drawn entities, in the chunks sampling would draw them
        (see :meth:`_chosen`), each with the number of entities to choose from it. Only summaries
        are kept: 32,000 ICU stays would be 2.2 M rows."""
        return [(self._summaries(self._draw(size * self.critic_pool, rng)), size) for size in self._choice_chunks(n)]

    def sample_for(self, context: pd.DataFrame, lengths: np.ndarray, starts: np.ndarray | None = None,
                   seed: int | None = None) -> pd.DataFrame:
        """Sequences for given entities: ``context`` rows (user values of the context columns),
        their ``lengths`` and, with a time column, ``starts`` in model units (seconds since 1970 for
        datetimes). Entities with length 0 get no rows. The relational model builds on this. No critic
        chooses here: each entity is the caller's, drawn once."""
        self._require_fitted()
        lengths = np.asarray(lengths, dtype=np.int64)
        if len(lengths) != len(context):
            raise DataError(f"sample_for: {len(lengths)} lengths for {len(context)} context rows")
        found = [*self.static_, *self.linked_]  # found in the data, not named by the caller: drawn here
        missing = [c for c in self.context_ if c not in context.columns and c not in found]
        if missing:
            raise DataError(f"sample_for: context is missing columns {missing}")
        if self.time_ and starts is None:
            raise DataError("sample_for: this model has a time column; give starts")
        rng = self._rng(seed)
        given = [c for c in self.context_ if c in context.columns]
        sub = TableSchema([self._spec(c) for c in given])
        ctx = sub.to_model_frame(context[given].reset_index(drop=True)) if given else pd.DataFrame(index=range(len(lengths)))
        drawn = [c for c in self.context_ if c not in given]
        if drawn:
            extra = self._draw_context(len(context), rng)
            ctx = ctx.assign(**{c: extra[c].to_numpy() for c in drawn})[self.context_]
        ctx[LENGTH] = np.clip(lengths, 0, self.max_length).astype(float)
        if self.time_:
            ctx[START] = np.asarray(starts, dtype=float)
        return self._generate(ctx, rng)

    def _rng(self, seed: int | None) -> np.random.Generator:
        if seed is None:
            seed = int(self._sample_rng_.integers(0, 2**31 - 1))
        seed_everything(int(seed))
        return np.random.default_rng(seed)

    def _network_draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The token steps (steps, token columns) of ``n`` entities the context model and the network draw."""
        return self._write(self._draw_context(n, rng), rng, on_clock=True)[1]

    def _write(self, ctx: pd.DataFrame, rng: np.random.Generator, on_clock: bool) -> tuple[np.ndarray, ...]:
        """The network's steps for model-space ``ctx`` rows, entity after entity: (lengths, tokens,
        integrated levels, whether observed). Puts drawn starts on the clock grid in ``ctx``."""
        grid = self._start_grid(on_clock)
        lengths = np.clip(np.round(np.nan_to_num(ctx[LENGTH].to_numpy(dtype=float), nan=1.0)), 0, self.max_length).astype(np.int64)
        ctx_tokens = torch.from_numpy(np.column_stack([k.encode(ctx[c].to_numpy()) for c, k in self.context_codecs_.items()]))
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        if grid:  # before writing: the network reads the time of day from it
            ctx[START] = on_grid(np.nan_to_num(ctx[START].to_numpy(dtype=float)), grid)
        with single_thread():
            start = torch.from_numpy(np.nan_to_num(ctx[START].to_numpy(dtype=float))) if self.time_ else None
            tokens, levels, observed = self.net_.generate(ctx_tokens, torch.from_numpy(np.maximum(lengths, 1)), generator,
                                                          float(self.temperature), start)
        if (lengths == 0).any():  # the network wrote one step for them (it needs one to start)
            kept = np.repeat(lengths > 0, np.maximum(lengths, 1))
            return lengths, tokens.numpy()[kept], levels.numpy()[kept], observed.numpy()[kept]
        return lengths, tokens.numpy(), levels.numpy(), observed.numpy()

    def _start_grid(self, on_clock: bool) -> float:
        """The clock unit drawn starts sit on (0: none; caller-given starts are kept as they are)."""
        return float(getattr(self, "start_grid_", 0.0)) if self.time_ and on_clock else 0.0

    def _generate(self, ctx: pd.DataFrame, rng: np.random.Generator, on_clock: bool = False) -> pd.DataFrame:
        """Entities for model-space ``ctx`` rows. ``on_clock``: starts drawn here (not given by a
        caller, as the relational model's shifted dates are) are put on the clock unit of the real ones."""
        n, grid = len(ctx), self._start_grid(on_clock)
        lengths, flat, levels, observed = self._write(ctx, rng, on_clock)
        ent = np.repeat(np.arange(n), lengths)
        first = np.concatenate([[0], np.cumsum(lengths)[:-1]])[lengths > 0]
        steps = self._decode_steps(flat, ent, rng, levels, observed)
        out: dict[str, Any] = {}
        if self.time_:
            delta = np.maximum(np.nan_to_num(steps.pop(_DELTA), nan=0.0), getattr(self, "min_gap_", 0.0))
            delta[first] = 0.0
            cum = np.cumsum(delta)
            offsets = cum - np.repeat(cum[first], lengths[lengths > 0])
            start = np.nan_to_num(ctx[START].to_numpy(dtype=float))
            integer = self._spec(self.time_).integer
            if integer:  # whole years / step numbers: whole starts, whole gaps
                start, offsets = np.round(start), np.round(offsets)
            # starts are on the clock unit the real ones sit on (midnight, the hour); entities that fit
            # the window move back whole units instead of being compressed off the grid
            start, offsets = into_window(getattr(self, "window_", None), integer or bool(grid), start, offsets, ent, rng)
            out[self.time_] = on_grid(start, grid, down=True)[ent] + offsets
        for name in self.context_:
            out[name] = ctx[name].to_numpy()[ent]
        if self.linked_:
            step = np.arange(len(ent)) - np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
            for name, rule in self.linked_.items():
                axis = out[self.time_] if rule["axis"] == "time" else step
                out[name] = np.asarray(out[name], dtype=float) + float(rule["slope"]) * axis
        for name, values in steps.items():
            out[name] = values + out[self.time_] if name in self.relative_columns_ else values
            if name in getattr(self, "ends_", {}):
                out[name] = np.where(out[name] > self.ends_[name], np.nan, out[name])
        apply_derived(out, self.derived_)
        frame = pd.DataFrame(out, index=pd.RangeIndex(len(ent)))[[s.name for s in self.schema_.learned]]
        regenerated: dict[str, pd.Series] = {}
        for spec in self.schema_.regenerated:
            if spec.name == self.entity_:
                regenerated[spec.name] = self._entity_ids(spec, n, rng).iloc[ent].reset_index(drop=True)
            else:
                regenerated[spec.name] = fake_column(spec.kind, spec.pii, len(ent), rng, spec.extra)
        return self.schema_.from_model_frame(frame, regenerated)

    @staticmethod
    def _entity_ids(spec: Any, n: int, rng: np.random.Generator) -> pd.Series:
        """``n`` fake entity ids, all different and none missing: one per entity, never a real id."""
        return fake_column(spec.kind, spec.pii, n, rng, {**spec.extra, "unique": True, "missing_share": 0.0})

    # -- state -------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        ctx_doc, ctx_tensors = export_model(self.context_model_)
        state = {
            "entity": self.entity_, "time": self.time_, "context": self.context_,
            "event_columns": self.event_columns_, "relative_columns": self.relative_columns_,
            "context_codecs": {c: k.to_state() for c, k in self.context_codecs_.items()},
            "step_codecs": {c: k.to_state() for c, k in self.step_codecs_.items()},
            "context_model": ctx_doc, "history": self.history_, "window": getattr(self, "window_", None),
            "ends": getattr(self, "ends_", {}), "static": self.static_, "linked": self.linked_, "derived": self.derived_,
            "min_gap": getattr(self, "min_gap_", 0.0), "latent": self.latent_, "widths": [self.hidden_, self.embed_], "entity_stats": self.entity_stats_, "gap_unit": getattr(self, "gap_unit_", 0.0),
            "pace": self.pace_,
            "resolutions": {c: r.to_state() for c, r in self._resolutions().items()},
            "delta": self.delta_, "baseline": getattr(self, "baseline_", False), "start_grid": getattr(self, "start_grid_", 0.0),
            "critic_columns": self.critic_columns_, "normal_heads": getattr(self, "normal_heads_", []),
        }
        tensors = {f"net.{k}": v for k, v in self.net_.state_dict().items()}
        tensors.update({f"context.{k}": v for k, v in ctx_tensors.items()})
        if self.critic_ is not None:
            state["critics"], critic_tensors = self.critic_.to_state()
            tensors.update(critic_tensors)
        return state, tensors

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.entity_, self.time_, self.context_ = state["entity"], state["time"], list(state["context"])
        self.event_columns_, self.relative_columns_ = list(state["event_columns"]), list(state["relative_columns"])
        self.context_codecs_ = {c: ColumnCodec.from_state(s) for c, s in state["context_codecs"].items()}
        self.step_codecs_ = {c: ColumnCodec.from_state(s) for c, s in state["step_codecs"].items()}
        self.history_ = state.get("history", {})
        self.window_, self.ends_ = state.get("window"), dict(state.get("ends") or {})
        self.static_, self.linked_ = list(state.get("static") or []), dict(state.get("linked") or {})
        self.derived_, self.min_gap_ = dict(state.get("derived") or {}), float(state.get("min_gap") or 0.0)
        self.latent_ = int(state.get("latent") or 0)
        # saved before the widths followed the data: the constructor's, 96 and 48 then
        self.hidden_, self.embed_ = state.get("widths") or (self.hidden or WIDTHS[0], self.embed or WIDTHS[1])
        self.entity_stats_ = bool(state.get("entity_stats", False))  # saved before the entity stats input: without it
        self.gap_unit_ = float(state.get("gap_unit") or 0.0)
        self.pace_ = bool(state.get("pace", False))  # saved before the pace input: without it
        if "resolutions" in state:
            self.resolutions_ = {c: Resolution.from_state(r) for c, r in state["resolutions"].items()}
        else:  # saved with one grid per column (or, before that, none)
            self.value_grids_ = {c: float(g) for c, g in (state.get("value_grids") or {}).items()}
        self.delta_ = {k: [float(x) for x in v] for k, v in (state.get("delta") or {}).items()}
        self.baseline_ = bool(state.get("baseline", False))  # saved before the baseline input: without it
        self.start_grid_ = float(state.get("start_grid") or 0.0)  # saved before starts kept their clock unit: none
        self.context_model_ = import_model(state["context_model"], strip(tensors, "context."))
        self.normal_heads_ = list(state.get("normal_heads") or [])  # saved before the normal heads: none
        self.net_ = self._build_net()
        self.net_.load_state_dict(strip(tensors, "net."))
        self.net_.eval()
        self.critic_columns_ = list(state.get("critic_columns") or [])  # saved before the critic: none
        self.critic_ = None
        if state.get("critics"):
            self.critic_ = CriticRounds.from_state(state["critics"], tensors)
        elif state.get("critic"):  # saved with a single critic, before rounds
            self.critic_ = CriticRounds([EntityCritic.from_state(state["critic"], tensors)])


def _chunks(n: int, size: int) -> list[int]:
    """``n`` split into parts of at most ``size`` (one part when ``n`` fits)."""
    return [size] * (n // size) + ([n % size] if n % size or n == 0 else [])
