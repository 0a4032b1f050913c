"""The pipeline over an engine, for tables larger than memory (``engine: ray`` or a Parquet lake).

No stage holds the table: the source stays a :class:`~synthkit.io.lake.LakeSource` (or, for a
source that is read into memory anyway, a DataFrame the engine splits into batches), and every
stage is a function the engine runs per batch, merged on the driver:

* holdout: a row is held out when a seeded hash of its content falls below ``holdout.share`` (the
  same split at any batching or worker count; duplicate rows land on the same side);
* profile: merged :class:`~synthkit.profile.sketch.TableSketch` of the training rows;
* fit: ``copula`` from merged moments of normal scores (two passes); any other model is fitted on
  a seeded sample of ``engine.sample_rows`` training rows, with a warning and the size recorded;
* sample: blocks with per-block seeds, written by the workers to ``synthetic/part-*.parquet``;
* evaluate: column shapes and pair trends from statistics merged over all rows; detection, privacy
  and utility on seeded samples (sizes in ``metrics.json`` ``meta.samples``);
* audit: real rows and PII values reproduced, a hash join over all synthetic rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from synthkit.engine import create_engine, engine_spec
from synthkit.engine.join import audit_join
from synthkit.engine.recipe_choice import trains_on_ray
from synthkit.engine.train import fit_on_ray
from synthkit.errors import DataError, SynthkitError
from synthkit.evaluate import evaluate
from synthkit.evaluate.merged import merge_pair_stats, merged_fidelity, pair_batch_stats, pair_spec
from synthkit.evaluate.stats import fnum
from synthkit.io.lake import LakeSource, is_lake
from synthkit.models import create
from synthkit.models.copula_stats import fit_copula_from_batches
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.gates import check_gates
from synthkit.pipeline.inputs import apply_profile, load_source
from synthkit.pipeline.outputs import RunFolder
from synthkit.pipeline.result import RunResult
from synthkit.pipeline.stages import versions
from synthkit.privacy import dp_metrics
from synthkit.profile.merged import profile_sketch
from synthkit.profile.sketch import TableSketch, row_keys, sketch_batch
from synthkit.report import render_report
from synthkit.utils.atomic import write_json

__all__ = ["run_scaled", "use_engine"]

log = logging.getLogger(__name__)


def use_engine(cfg: PipelineConfig) -> bool:
    """Whether a run goes through an engine: ``engine.kind: ray`` or a lake (folder/glob) source."""

    return cfg.engine.kind == "ray" or bool(cfg.source.path and is_lake(cfg.source.path))


def _source(cfg: PipelineConfig) -> Any:

    if cfg.source.path and is_lake(cfg.source.path):
        return LakeSource.open(cfg.source.path)

    data = load_source(cfg, False)
    return data.tables[next(iter(data.tables))] if hasattr(data, "tables") else data


def _holdout_mask(frame: pd.DataFrame, share: float, seed: int) -> np.ndarray:

    return row_keys(frame, seed + 7919) < np.uint64(share * float(2**64 - 1))


def _split(cfg: PipelineConfig) -> Any:
    share, seed = cfg.holdout.share, cfg.holdout.seed

    def part(batch: Any, holdout: bool | None) -> Any:
        """The training (False) or holdout (True) rows of a batch, or both (None: one hash pass)."""
        frame = batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()
        mask = _holdout_mask(frame, share, seed)
        if holdout is None:
            return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)
        return frame[mask if holdout else ~mask].reset_index(drop=True)

    return part


@contextmanager
def _stage(timings: dict[str, float], name: str) -> Iterator[None]:
    log.info("stage %s", name)
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)


def run_scaled(cfg: PipelineConfig, folder: RunFolder) -> Any:
    """Run ``cfg`` on its engine into ``folder`` (committed at the end, dropped on any error)."""
    try:
        result = _run(cfg, folder)
    except BaseException:
        folder.abandon()
        raise
    folder.mark(result.status, name=cfg.name)
    folder.commit()
    return result


def _run(cfg: PipelineConfig, folder: RunFolder) -> Any:

    timings: dict[str, float] = {}

    def timed(name: str) -> Any:
        return _stage(timings, name)

    with create_engine(engine_spec(cfg.engine)) as eng:
        files: dict[str, str] = {}
        with timed("source"):
            source = _source(cfg)
            total = source.count_rows() if hasattr(source, "count_rows") else len(source)
            if total == 0:
                raise DataError("the source table is empty (0 rows)")
        part = _split(cfg)
        sample_rows, seed = cfg.engine.sample_rows, cfg.seed
        keep = min(1.0, 3.0 * sample_rows / total)
        with timed("profile"):
            train_sk, hold_sk = _split_sketches(eng, source, part, sample_rows, seed, keep)
            metadata = _profile(cfg, train_sk)
            metadata.save(folder.path("metadata.json"))
            files["metadata"] = "metadata.json"
        with timed("fit"):
            model, fit_info = _fit(cfg, eng, source, part, metadata, train_sk)
            model.save(folder.path("model"))
            files["model"] = "model"
        with timed("sample"):
            n = cfg.sample.rows or max(1, int(round((cfg.sample.ratio or 1.0) * train_sk.rows)))
            sample_seed = cfg.sample.seed if cfg.sample.seed is not None else seed
            result = eng.sample(folder.path("model"), n, seed=sample_seed, out_dir=folder.path("synthetic"))
            files["synthetic"] = "synthetic"
        metrics: dict[str, Any] = {"schema_version": 1}

        synthetic = LakeSource.open(folder.path("synthetic"))
        with timed("evaluate"):
            syn_sk = eng.merge_stats(synthetic, sample_rows=sample_rows, seed=seed, rows=result.rows)
            if cfg.evaluate.enabled:
                metrics = _evaluate(cfg, eng, source, part, synthetic, metadata, train_sk, hold_sk, syn_sk)
            if getattr(model, "privacy_guarantee_", None):  # a DP model's formal guarantee beside the empirical results
                metrics.setdefault("privacy", {})["dp"] = dp_metrics(model)
        with timed("audit"):
            audit = _audit(eng, source, synthetic, metadata)

        write_json(folder.path("audit.json"), audit)
        files["audit"] = "audit.json"
        leaks = [{"column": c, "values": v} for c, v in audit["pii_values_reproduced"].items() if v]

        gates = check_gates(cfg.gates, metrics)
        status = "leak_detected" if leaks else ("gate_failed" if any(not g["passed"] for g in gates) else "ok")
        if cfg.sink.url and not leaks:  # workers load a staging table; one transaction swaps it in
            try:
                sunk = eng.sink_sql(folder.path("synthetic"), cfg.sink.url, str(cfg.sink.table), if_exists=cfg.sink.if_exists)
                metrics.setdefault("_engine", {})["sink"] = sunk.to_dict()
                files["sink_sql"] = str(cfg.sink.table)
            except SynthkitError as exc:
                log.error("the sink failed (%s); the sink's table is as it was", exc)
                status, metrics["sink"] = "sink_failed", {"error": str(exc)}
        info = eng.info()
        metrics.update(gates=gates, status=status, audit={"passed": not leaks, "findings": len(leaks)})
        metrics.setdefault("meta", {})["pipeline"] = {
            "name": cfg.name, "model": model.name, "model_reused": False, "seed": seed, "timings": timings,
            "engine": {"name": info["kind"], "workers": info["workers"], **({"address": cfg.engine.address} if cfg.engine.address else {})}}
        extra = metrics.pop("_engine", {})
        write_json(folder.path("metrics.json"), metrics)
        files["metrics"] = "metrics.json"
        write_json(folder.path("engine.json"), {"engine": info, "fit": fit_info, "sample": result.to_dict(), "audit": audit, **extra})
        files["engine"] = "engine.json"
        if cfg.report.enabled and cfg.evaluate.enabled:
            with timed("report"):
                _report(cfg, metrics, train_sk, syn_sk, metadata, model, timings, folder, info, extra)
                files["report"] = "report.html"
    head = {"fidelity": (metrics.get("fidelity") or {}).get("score"),
            "privacy_verdict": (metrics.get("privacy") or {}).get("verdict"),
            "utility": (metrics.get("utility") or {}).get("ratio")}
    return RunResult(cfg.name, folder.out, status, gates, files, timings, head, leaks)


def _split_sketches(eng: Any, source: Any, part: Any, sample_rows: int, seed: int, keep: float) -> tuple[Any, Any]:
    """Training and holdout sketches in one pass."""

    def both(batch: Any) -> tuple[Any, Any]:
        train, hold = part(batch, None)
        return (sketch_batch(train, sample_rows=sample_rows, seed=seed, keep_share=keep),
                sketch_batch(hold, sample_rows=sample_rows, seed=seed, keep_share=keep))

    train: Any = None
    hold: Any = None
    for t, h in eng.map_batches(source, both):  # merged as they arrive: driver memory stays one sketch each
        train = t if train is None else train.merge(t, sample_rows)
        hold = h if hold is None else hold.merge(h, sample_rows)
    return TableSketch.merge_all([train], sample_rows, seed), TableSketch.merge_all([hold], sample_rows, seed)


def _profile(cfg: PipelineConfig, sketch: Any) -> Any:

    metadata = profile_sketch(sketch, cfg.name)
    return apply_profile(cfg, metadata, metadata.table().name)


def _fit(cfg: PipelineConfig, eng: Any, source: Any, part: Any, metadata: Any, sketch: Any) -> tuple[Any, dict[str, Any]]:
    name = cfg.model.name
    params = {"seed": cfg.seed, **cfg.model.params}
    if name == "copula":
        def batches(fn: Any) -> Any:
            return eng.map_batches(source, lambda b: fn(part(b, False)))

        model = fit_copula_from_batches(batches, metadata, sketch, **params)
        return model, {"method": "merged statistics over all training rows", "rows": sketch.rows}
    model = create(name, metadata=metadata, **params)
    if eng.kind == "ray" and trains_on_ray(model):  # arm, gan, vae, flow; vae and dp-vae with DP too
        model = fit_on_ray(model, source, eng, select=lambda b: part(b, False))
        return model, {"method": "Ray Train over all training rows", "rows": sketch.rows, **model.training_engine_}
    log.warning("model %r is fitted on a seeded sample of %d training rows (distributed training: issue #19)",
                name, len(sketch.sample))
    model = model.fit(sketch.sample)
    return model, {"method": "seeded sample", "rows": len(sketch.sample), "training_rows": sketch.rows,
                   "warning": "fitted on a sample; distributed training of this model is not available yet"}


def _evaluate(cfg: PipelineConfig, eng: Any, source: Any, part: Any, synthetic: Any, metadata: Any,
              train_sk: Any, hold_sk: Any, syn_sk: Any) -> dict[str, Any]:

    n_eval = cfg.evaluate.max_rows
    real_s, syn_s, hold_s = train_sk.sample.head(n_eval), syn_sk.sample.head(n_eval), hold_sk.sample.head(n_eval)
    evaluation = evaluate(real_s, syn_s, holdout=hold_s if len(hold_s) else None, metadata=metadata,
                          target=cfg.evaluate.target, seed=cfg.seed, max_rows=n_eval,
                          sensitive_columns=cfg.evaluate.sensitive_columns or None,
                          quasi_identifiers=cfg.evaluate.quasi_identifiers or None, families=tuple(cfg.evaluate.families))
    metrics = dict(evaluation.scores)
    meta = metrics.setdefault("meta", {})
    extra: dict[str, Any] = {}
    metrics["_engine"] = extra
    extra["samples"] = {"real": len(real_s), "synthetic": len(syn_s), "holdout": len(hold_s),
                       "method": "seeded bottom-k samples by row-content hash (same rows at any worker count)",
                       "used_for": "detection, privacy attacks, utility"}
    meta["rows"] = {"real": train_sk.rows, "synthetic": syn_sk.rows, "holdout": hold_sk.rows}
    meta["subsampled"] = True
    extra["all_rows"] = {"real": train_sk.rows, "synthetic": syn_sk.rows, "holdout": hold_sk.rows,
                        "used_for": "column shapes, pair trends, leakage audit",
                        "quantile_rank_error": max(train_sk.rank_error_share, syn_sk.rank_error_share)}
    fid = metrics.get("fidelity") or {}
    kinds = meta.get("columns") or {}
    if "fidelity" in cfg.evaluate.families and kinds:
        spec, skipped = pair_spec(train_sk.columns, syn_sk.columns, kinds)
        real_pairs = merge_pair_stats(eng.map_batches(source, lambda b: pair_batch_stats(part(b, False), spec, "real")))
        syn_pairs = merge_pair_stats(eng.map_batches(synthetic, lambda b: pair_batch_stats(b.to_pandas(), spec, "synthetic")))
        merged = merged_fidelity(train_sk.columns, syn_sk.columns, spec, real_pairs or {}, syn_pairs or {})
        extra["fidelity_on_samples"] = {k: fid.get(k) for k in ("column_shapes", "column_pair_trends", "score")}
        for name, entry in merged["columns"].items():  # all-rows scores; distances stay those of the samples
            fid.setdefault("columns", {}).setdefault(name, {}).update(entry)
        fid["pairs"] = {**fid.get("pairs", {}), **merged["pairs"]}
        fid.update({k: v for k, v in merged.items() if k not in ("columns", "pairs")})
        det = fid.get("detection_auc")
        trends = merged["column_pair_trends"] if merged["column_pair_trends"] is not None else merged["column_pair_trends_all_pairs"]
        parts = [v for v in (merged["column_shapes"], trends, None if det is None else 1 - 2 * max(det - 0.5, 0.0)) if v is not None]
        fid["score"] = fnum(np.mean(parts)) if parts else None
        fid.setdefault("skipped", {}).update({f"column {c}": r for c, r in skipped.items()})
        extra["fidelity_computed_over"] = "column shapes and pair trends: all rows; detection: seeded samples"
        metrics["fidelity"] = fid
    return metrics


def _audit(eng: Any, source: Any, synthetic: Any, metadata: Any) -> dict[str, Any]:

    table = metadata.table()
    pii = [c.name for c in table.columns if c.is_pii]
    rows = [c.name for c in table.columns if not c.is_pii and c.kind not in ("id", "text")]
    return audit_join(eng, [source], synthetic, rows, pii)


def _report(cfg: PipelineConfig, metrics: dict[str, Any], train_sk: Any, syn_sk: Any, metadata: Any, model: Any,
            timings: dict[str, float], folder: RunFolder, engine: dict[str, Any], extra: dict[str, Any]) -> None:

    samples = extra.get("samples", {})
    run_info = {
        "dataset": f"{cfg.source.path or cfg.source.dataset or 'SQL source'} ({train_sk.rows:,} training rows)",
        "model": model.name, "model_params": model.get_params(), "config": cfg.public_dict(),
        "timings": timings, "versions": versions(), "seed": cfg.seed,
        "engine": f"{engine['kind']}, {engine['workers']} workers",
        "evaluation_samples": (f"column shapes and pair trends over all rows; detection, privacy and utility on seeded "
                               f"samples of {samples.get('real')} real / {samples.get('synthetic')} synthetic / "
                               f"{samples.get('holdout')} holdout rows"),
    }
    render_report(folder.path("report.html"), metrics=metrics, real=train_sk.sample, synthetic=syn_sk.sample,
                  metadata=metadata, run=run_info, k=cfg.report.k)
