"""Synthetic rows or records that reproduce a real one are drawn again before a run writes them.

Honest draws can hit a unique real row or record by chance (tens of thousands of rows, a common
profile whose one wide-ranged number lands on a real value; an ICU stay of one step whose only
reading is a common pH value). The audit's own rules decide what counts
(:class:`~synthkit.audit.ReproducedRows`, :class:`~synthkit.audit.ReproducedEntities`); each
round checks only what it drew, and the audit still checks the result.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from synthkit.audit import DEFAULT_MIN_ROW_COLUMNS, ReproducedEntities, ReproducedRows
from synthkit.meta import TableMeta
from synthkit.models import Synthesizer

__all__ = ["REDRAWS", "redraw_reproduced_entities", "redraw_reproduced_rows"]

log = logging.getLogger(__name__)

REDRAWS = 5  # rounds of drawing again; each round leaves ~1/1000 of the last one's rows (Adult)
_LEFT = "the model may have memorized them, and the audit will report them"


def _round_seed(seed: int, round_: int) -> int:
    return int(np.random.SeedSequence([seed, round_]).generate_state(1)[0])


def redraw_reproduced_rows(model: Synthesizer, real: pd.DataFrame, table: TableMeta, frame: pd.DataFrame, seed: int,
                           conditions: dict[str, Any] | None = None) -> pd.DataFrame:
    """``frame`` with its rows that reproduce a unique row of ``real`` drawn again (``conditions`` kept)."""
    check = ReproducedRows(real, table)
    frame = frame.reset_index(drop=True)
    hit = check(frame)
    redrawn = 0
    for round_ in range(1, REDRAWS + 1):
        if not hit.any():
            break
        redrawn += int(hit.sum())
        fresh = model.sample(int(hit.sum()), seed=_round_seed(seed, round_), conditions=conditions)[list(frame.columns)]
        kept = int((~hit).sum())
        frame = pd.concat([frame[~hit], fresh], ignore_index=True)
        hit = np.concatenate([np.zeros(kept, dtype=bool), check(fresh)])
    if redrawn:
        log.info("drew %d synthetic row(s) again: they reproduced a unique real row", redrawn)
    if hit.any():
        log.warning("%d synthetic row(s) still reproduce a unique real row after %d rounds of drawing them again; %s",
                    int(hit.sum()), REDRAWS, _LEFT)
    return frame


def redraw_reproduced_entities(model: Synthesizer, real: pd.DataFrame, table: TableMeta, entity: str, time: str | None,
                               frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``frame`` with its entities drawn again where their whole record reproduces a unique record of
    ``real`` or one of their rows a unique row: the audit checks a sequence table by both rules, and
    an ICU stay's admission row (time 0, a man of 78, 94 kg, nothing else read) is one patient's.
    The new entities take the dropped ones' ids, so ids stay unique and synthetic."""
    records, rows = ReproducedEntities(real, table, entity, time, DEFAULT_MIN_ROW_COLUMNS), ReproducedRows(real, table)

    def check(drawn: pd.DataFrame) -> pd.Series:
        hit = records(drawn)
        row_hit = rows(drawn)
        return hit | hit.index.isin(drawn[entity].to_numpy()[row_hit]) if row_hit.any() else hit

    hit = check(frame)
    redrawn = 0
    for round_ in range(1, REDRAWS + 1):
        if not hit.any():
            break
        ids = hit.index[hit.to_numpy()]
        redrawn += len(ids)
        fresh = model.sample(len(ids), seed=_round_seed(seed, round_))[list(frame.columns)]
        fresh[entity] = ids.take(pd.factorize(fresh[entity])[0]).to_numpy()
        frame = pd.concat([frame[~frame[entity].isin(ids)], fresh], ignore_index=True)
        hit = check(fresh)
    if redrawn:
        log.info("drew %d synthetic entit(y/ies) again: they reproduced a unique real entity's whole record or row", redrawn)
    if hit.any():
        log.warning("%d synthetic entit(y/ies) still reproduce a unique real record or row after %d rounds of drawing them again; %s",
                    int(hit.sum()), REDRAWS, _LEFT)
    return frame
