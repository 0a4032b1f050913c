"""``evaluate()``: fidelity, privacy and utility of synthetic data in one JSON-ready result.

The result's ``scores`` dict *is* ``metrics.json`` (layout in ``docs/metrics.md``): the report and
the pipeline read it, never the internals. A metric that cannot be computed is ``null`` with the
reason in its family's ``skipped`` dict, so nothing is silently left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import synthkit
from synthkit.errors import EvaluationError
from synthkit.evaluate import detection, fidelity, privacy, schema, utility
from synthkit.evaluate.encoding import MixedEncoder
from synthkit.evaluate.inputs import Prepared, prepare, split_holdout
from synthkit.evaluate.schema import SCHEMA_VERSION
from synthkit.evaluate.stats import fnum, knn, openmp_single
from synthkit.evaluate.verdict import THRESHOLDS, privacy_verdict
from synthkit.meta import Metadata
from synthkit.utils.jsonfile import read_json
from synthkit.utils.atomic import write_json
from synthkit.utils.progress import progress

__all__ = ["FAMILIES", "SCHEMA_VERSION", "Evaluation", "evaluate"]

log = logging.getLogger(__name__)

FAMILIES = ("fidelity", "privacy", "utility")


class Evaluation:
    """Scores of one evaluation; ``scores`` is exactly the content of ``metrics.json``."""

    def __init__(self, scores: dict[str, Any]) -> None:
        self.scores = scores

    @property
    def verdict(self) -> str:
        """The privacy verdict (``pass``/``warn``/``fail``), or ``"not evaluated"``."""
        priv = self.scores.get("privacy") or {}
        return str(priv.get("verdict") or "not evaluated")

    def to_json(self, path: str | Path) -> Path:
        return write_json(path, self.scores)

    @classmethod
    def from_json(cls, path: str | Path) -> Evaluation:
        path = Path(path)
        scores = read_json(path, "metrics file", EvaluationError)
        if not isinstance(scores, dict) or "schema_version" not in scores:
            raise EvaluationError(f"{path} is not a synthkit metrics.json (no schema_version)")
        if not isinstance(scores["schema_version"], int) or scores["schema_version"] > SCHEMA_VERSION:
            raise EvaluationError(f"{path} has metrics schema {scores['schema_version']!r}, newer than this synthkit ({SCHEMA_VERSION})")
        schema.validate_metrics(scores, what=str(path))
        return cls(scores)

    def __repr__(self) -> str:
        fid = (self.scores.get("fidelity") or {}).get("score")
        util = (self.scores.get("utility") or {}).get("score")
        return f"Evaluation(fidelity={fid}, utility={util}, verdict={self.verdict!r})"


def empty_family(family: str, reason: str) -> dict[str, Any]:
    """A family's required keys (from the schema) with nulls and the reason, so readers never miss a key."""
    out = schema.layout(family)
    if "thresholds" in out:
        out["thresholds"] = THRESHOLDS
    return {**out, "skipped": {family: reason}}


def _check_options(prep: Prepared, target: str | None, sensitive: Sequence[str] | None, qis: Sequence[str] | None,
                   families: Sequence[str]) -> None:
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise EvaluationError(f"unknown metric families {unknown}; choose from {list(FAMILIES)}")
    known = set(prep.kinds) | set(prep.excluded)
    if target is not None:
        if target not in known:
            raise EvaluationError(f"target column {target!r} is not in the real data")
        meta = prep.table.column(target)
        if meta.kind in ("id", "text") or meta.is_pii:
            raise EvaluationError(f"target column {target!r} is {meta.kind if not meta.is_pii else 'PII'}; it cannot be predicted")
    for name, cols in (("sensitive_columns", sensitive), ("quasi_identifiers", qis)):
        missing = [c for c in (cols or []) if c not in known]
        if missing:
            raise EvaluationError(f"{name} names columns not in the real data: {missing}")


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    metadata: Metadata | None = None,
    target: str | None = None,
    seed: int = 0,
    sensitive_columns: Sequence[str] | None = None,
    quasi_identifiers: Sequence[str] | None = None,
    max_rows: int = 20_000,
    families: Sequence[str] = FAMILIES,
    entity: str | None = None,
) -> Evaluation:
    """Compare ``synthetic`` with the ``real`` rows it was fitted on (and an unseen ``holdout``).

    Without a holdout the privacy family is skipped (nothing unseen to compare with) and utility
    tests on a 30% split of ``real``, which the model may have seen (recorded in ``test_set``).
    Each input is subsampled to ``max_rows`` (sizes reported in ``meta``) to bound time and memory.
    OpenMP code (gradient boosting, neighbour search) runs single-threaded: see ``openmp_single``.
    ``entity`` names the column whose rows belong together (a patient's encounters, an ICU stay's
    events) when train and holdout were split by it: the membership attack then splits its
    reference and non-member rows by entity too, comparing like with like.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EvaluationError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed) % 2**32  # numpy and scikit-learn take 32-bit seeds
    with openmp_single():
        return _evaluate(real, synthetic, holdout, metadata, target, seed, sensitive_columns, quasi_identifiers,
                         max_rows, families, entity)


def _evaluate(
    real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None, metadata: Metadata | None,
    target: str | None, seed: int, sensitive_columns: Sequence[str] | None, quasi_identifiers: Sequence[str] | None,
    max_rows: int, families: Sequence[str], entity: str | None = None,
) -> Evaluation:
    t_start = time.perf_counter()
    prep = prepare(real, synthetic, holdout, metadata, max_rows=max_rows, seed=seed, entity=entity)
    families = tuple(families)
    _check_options(prep, target, sensitive_columns, quasi_identifiers, families)
    seconds: dict[str, float] = {"prepare": 0.0}
    scores: dict[str, Any] = {"schema_version": SCHEMA_VERSION}

    enc = MixedEncoder(prep.kinds).fit(prep.train if prep.holdout is None else pd.concat([prep.train, prep.holdout]))
    xt, xs = enc.transform(prep.train), enc.transform(prep.synthetic)
    xh = None if prep.holdout is None else enc.transform(prep.holdout)
    seconds["prepare"] = round(time.perf_counter() - t_start, 3)

    bar = progress(total=len(families), desc="evaluate")
    for family in FAMILIES:
        if family not in families:
            scores[family] = empty_family(family, f"not requested (families={list(families)})")
            continue
        bar.set_postfix_str(family)
        t0 = time.perf_counter()
        if family == "fidelity":
            scores["fidelity"] = _fidelity(prep, xt, xs, seed)
        elif family == "privacy":
            scores["privacy"] = _privacy(prep, enc, xt, xh, xs, seed, target, sensitive_columns, quasi_identifiers)
        else:
            scores["utility"] = _utility(prep, target, seed)
        seconds[family] = round(time.perf_counter() - t0, 3)
        bar.update(1)
    bar.close()
    seconds["total"] = round(time.perf_counter() - t_start, 3)
    scores["meta"] = {
        "rows": prep.rows,
        "evaluated_rows": prep.evaluated_rows,
        "subsampled": prep.subsampled,
        "max_rows": max_rows,
        "seconds": seconds,
        "seed": seed,
        "synthkit_version": synthkit.__version__,
        "families": list(families),
        "columns": prep.kinds,
        "excluded_columns": prep.excluded,
        "encoding": "numeric: (x - q01) / (q99 - q01) of real data + missing flag; categorical: one-hot/sqrt(2), "
                    "top 30 real values + other + missing; Euclidean distance",
    }
    log.info("evaluation done in %.1f s: %s", seconds["total"], {f: seconds.get(f) for f in families})
    schema.validate_metrics(scores, what="evaluate() result")  # a layout drift fails here, not in a reader
    return Evaluation(scores)


def _fidelity(prep: Prepared, xt: np.ndarray, xs: np.ndarray, seed: int) -> dict[str, Any]:
    skipped: dict[str, str] = {}
    columns = fidelity.column_scores(prep.train, prep.synthetic, prep.kinds)
    shapes = [c["score"] for c in columns.values() if c["score"] is not None]
    pairs = fidelity.pair_scores(prep.train, prep.synthetic, prep.kinds)
    trends, trends_all, n_meet = fidelity.summarize_pairs(pairs)
    if not pairs:
        skipped["column_pair_trends"] = "needs at least two evaluated columns"
    elif trends is None:
        skipped["column_pair_trends"] = ("no column pair is related in the real data (|Pearson| > 0.5 or Cramer's V > 0.3); "
                                         "see column_pair_trends_all_pairs")
    out: dict[str, Any] = {
        "column_shapes": fnum(np.mean(shapes)) if shapes else None,
        "column_pair_trends": trends,
        "column_pair_trends_all_pairs": trends_all,
        "column_pair_trends_pairs_used": n_meet,
        "columns": columns,
        "pairs": pairs,
    }
    out.update(detection.detection_auc(prep.train, prep.synthetic, prep.kinds, seed))
    out.update(detection.precision_recall_authenticity(xt, xs, seed))
    det = out["detection_auc"]
    parts = [v for v in (out["column_shapes"], trends if trends is not None else trends_all,
                         None if det is None else 1 - 2 * max(det - 0.5, 0.0)) if v is not None]
    out["score"] = fnum(np.mean(parts)) if parts else None
    out["score_definition"] = "mean of column_shapes, column_pair_trends and 1 - 2*max(detection_auc - 0.5, 0)"
    out["skipped"] = skipped
    return out


def _privacy(prep: Prepared, enc: MixedEncoder, xt: np.ndarray, xh: np.ndarray | None, xs: np.ndarray, seed: int, target: str | None, sensitive: Sequence[str] | None,
             qis: Sequence[str] | None) -> dict[str, Any]:
    skipped: dict[str, str] = {}
    if prep.holdout is None or xh is None:
        reason = ("no holdout: without real rows the model never saw there is no reference for memorization; "
                  "split the real data with split_holdout() before fitting and pass holdout=")
        return {**empty_family("privacy", reason), "reasons": [reason]}
    sens = list(sensitive) if sensitive is not None else ([target] if target is not None else [])
    if qis is None:
        qi_list, source = privacy.infer_quasi_identifiers(list(prep.kinds) + list(prep.pii_columns), prep.pii_columns), "inferred"
    else:
        qi_list, source = list(qis), "given"
    out = privacy.privacy_scores(
        prep.train, prep.holdout, prep.synthetic, prep.kinds, enc, xt, xh, xs, knn(xt, xs, k=2)[0], seed,
        sens, qi_list, source, prep.raw_pii, prep.pii_columns, skipped, holdout_groups=prep.holdout_groups,
        synthetic_groups=prep.synthetic_groups,
    )
    verdict, reasons, score = privacy_verdict(out)
    return {"verdict": verdict, "reasons": reasons, "score": fnum(score), "thresholds": THRESHOLDS, **out, "skipped": skipped}


def _utility(prep: Prepared, target: str | None, seed: int) -> dict[str, Any]:
    empty = {**empty_family("utility", ""), "target": target}
    empty.pop("skipped")
    if target is None:
        return {**empty, "skipped": {"utility": "no target column given (target=)"}}
    if target not in prep.kinds:
        return {**empty, "skipped": {"utility": f"target {target!r} was excluded: {prep.excluded.get(target)}"}}
    skipped: dict[str, str] = {}
    if prep.holdout is not None:
        train, test, source = prep.train, prep.holdout, "holdout"
    else:
        train, test = split_holdout(prep.train, share=0.3, seed=seed)
        source = "30% split of real (the model may have seen these rows; pass holdout= for an honest test)"
    res = utility.utility_scores(train, test, prep.synthetic, prep.kinds, target, seed, skipped)
    if res is None:
        return {**empty, "task": utility.task_of(prep.kinds[target]), "skipped": skipped}
    return {**res, "test_set": source, "skipped": skipped}
