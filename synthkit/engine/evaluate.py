"""Evaluation of a table that lives on an engine against the synthetic Parquet parts: detection,
privacy and utility on the seeded bottom-k samples of the merged sketches; column shapes and pair
trends from statistics merged over all rows (:mod:`synthkit.evaluate.merged`), computed per batch
where the batches live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synthkit.evaluate import evaluate
from synthkit.evaluate.merged import merge_pair_stats, merged_fidelity, pair_batch_stats, pair_spec, with_all_rows
from synthkit.meta import Metadata
from synthkit.profile.sketch import TableSketch

__all__ = ["evaluate_on_engine"]


def evaluate_on_engine(eng: Any, source: Any, training: Callable[[Any], Any], synthetic: Any, train: TableSketch,
                       holdout: TableSketch, syn: TableSketch, metadata: Metadata, *, max_rows: int,
                       families: list[str], seed: int, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metrics, record)``: the metric families with ``meta.rows`` counted over all rows, and what
    a run records beside them (sample sizes, all-row counts, the samples' fidelity before the
    all-rows scores replaced it). ``training(fn)`` makes a batch function see only the training
    rows of ``source``; ``options`` go to :func:`synthkit.evaluate.evaluate` (target, columns)."""
    real, syn_rows, hold = train.sample.head(max_rows), syn.sample.head(max_rows), holdout.sample.head(max_rows)
    metrics = dict(evaluate(real, syn_rows, holdout=hold if len(hold) else None, metadata=metadata, seed=seed,
                            max_rows=max_rows, families=tuple(families), **options).scores)
    meta = metrics.setdefault("meta", {})
    rows = {"real": train.rows, "synthetic": syn.rows, "holdout": holdout.rows}
    meta.update(rows=rows, subsampled=True)
    record: dict[str, Any] = {
        "samples": {"real": len(real), "synthetic": len(syn_rows), "holdout": len(hold),
                    "method": "seeded bottom-k samples by row-content hash (same rows at any worker count)",
                    "used_for": "detection, privacy attacks, utility"},
        "all_rows": {**rows, "used_for": "column shapes, pair trends, leakage audit",
                     "quantile_rank_error": max(train.rank_error_share, syn.rank_error_share)}}
    if "fidelity" in families and meta.get("columns"):
        fid = metrics.get("fidelity") or {}
        spec, skipped = pair_spec(train.columns, syn.columns, meta["columns"])
        real_pairs = merge_pair_stats(eng.map_batches(source, training(lambda frame: pair_batch_stats(frame, spec, "real"))))
        syn_pairs = merge_pair_stats(eng.map_batches(synthetic, lambda b: pair_batch_stats(b.to_pandas(), spec, "synthetic")))
        record["fidelity_on_samples"] = {k: fid.get(k) for k in ("column_shapes", "column_pair_trends", "score")}
        record["fidelity_computed_over"] = "column shapes and pair trends: all rows; detection: seeded samples"
        metrics["fidelity"] = with_all_rows(fid, merged_fidelity(train.columns, syn.columns, spec, real_pairs or {},
                                                                 syn_pairs or {}), skipped)
    return metrics, record
