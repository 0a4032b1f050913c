"""What the stages do differently when a run goes through an engine (``engine: ray`` or a Parquet
lake source), so that no stage holds the whole table. The run passes the same stage list as every
other run (:mod:`synthkit.pipeline.stages`); a stage that differs calls one helper here:

* load: the source stays a :class:`~synthkit.io.lake.LakeSource` (a source read into memory
  anyway is a DataFrame the engine splits into batches);
* profile: merged sketches of the training and the held-out rows in one pass; a row is held out
  when a seeded hash of its content is below ``holdout.share`` (:mod:`synthkit.engine.holdout`).
  The row-level stages (validate, report) see the sketches' seeded samples;
* fit: ``copula`` from merged moments of normal scores (two passes); ``arm``/``gan``/``vae``/``flow``
  on a Ray cluster with Ray Train over all training rows; any other model on a seeded sample of
  ``engine.sample_rows`` training rows, with a warning and the size recorded;
* sample: blocks with per-block seeds, written by the workers to ``synthetic/part-*.parquet``;
* evaluate: column shapes and pair trends from statistics merged over all rows; detection, privacy
  and utility on seeded samples (sizes in ``engine.json``);
* audit: real rows and PII values reproduced, a hash join over all synthetic rows;
* sink: the workers load the committed Parquet parts into a staging table, swapped in in one transaction.

What a run learned on the engine (fit method, sampling plan, samples, audit) goes to ``engine.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.engine import Engine
from synthkit.engine.holdout import HashSplit, split_sketches
from synthkit.engine.join import audit_join
from synthkit.engine.recipe_choice import trains_on_ray
from synthkit.engine.train import fit_on_ray
from synthkit.errors import DataError
from synthkit.evaluate import evaluate as evaluate_samples
from synthkit.evaluate.merged import merge_pair_stats, merged_fidelity, pair_batch_stats, pair_spec, with_all_rows
from synthkit.io.lake import LakeSource, is_lake
from synthkit.meta import Metadata
from synthkit.models import Synthesizer, create
from synthkit.models.copula_stats import fit_copula_from_batches
from synthkit.pipeline.config import PipelineConfig
from synthkit.pipeline.inputs import load_source
from synthkit.profile.merged import profile_sketch
from synthkit.profile.sketch import TableSketch
from synthkit.utils.atomic import write_json

__all__ = ["Lake", "use_engine"]

log = logging.getLogger(__name__)


def use_engine(cfg: PipelineConfig) -> bool:
    """Whether a run goes through an engine: ``engine.kind: ray`` or a lake (folder/glob) source."""
    return cfg.engine.kind == "ray" or bool(cfg.source.path and is_lake(cfg.source.path))


@dataclass
class Lake:
    """An engine run's data plane: the engine, the source and the merged sketches of its sides."""

    engine: Engine
    source: Any = None
    rows: int = 0
    split: HashSplit | None = None
    train: TableSketch = field(init=False)  # merged sketch of the training rows (set by profile)
    holdout: TableSketch = field(init=False)
    synthetic: Any = None  # the synthetic Parquet parts (set by sample)
    syn: TableSketch = field(init=False)
    record: dict[str, Any] = field(default_factory=dict)  # engine.json

    def load(self, cfg: PipelineConfig) -> None:
        if cfg.source.path and is_lake(cfg.source.path):
            self.source = LakeSource.open(cfg.source.path)
            self.rows = self.source.count_rows()
        else:
            self.source = load_source(cfg, False).tables[cfg.name]
            self.rows = len(self.source)
        if self.rows == 0:
            raise DataError("the source table is empty (0 rows)")

    def profile(self, cfg: PipelineConfig) -> Metadata:
        self.split = HashSplit(cfg.holdout.share, cfg.holdout.seed)
        self.train, self.holdout = split_sketches(self.engine, self.source, self.rows, self.split,
                                                  cfg.engine.sample_rows, cfg.seed)
        return profile_sketch(self.train, cfg.name)

    def fit(self, cfg: PipelineConfig, metadata: Metadata) -> Synthesizer:
        name, params, split = cfg.model.name, {"seed": cfg.seed, **cfg.model.params}, self.split
        assert split is not None  # set by profile
        if name == "copula":
            self.record["fit"] = {"method": "merged statistics over all training rows", "rows": self.train.rows}
            return fit_copula_from_batches(lambda fn: self.engine.map_batches(self.source, split.training(fn)),
                                           metadata, self.train, **params)
        model = create(name, metadata=metadata, **params)
        if self.engine.kind == "ray" and trains_on_ray(model):  # arm, gan, vae, flow; vae and dp-vae with DP too
            model = fit_on_ray(model, self.source, self.engine, select=split)
            self.record["fit"] = {"method": "Ray Train over all training rows", "rows": self.train.rows,
                                  **model.training_engine_}
            return model
        log.warning("model %r is fitted on a seeded sample of %d training rows (distributed training: issue #19)",
                    name, len(self.train.sample))
        self.record["fit"] = {"method": "seeded sample", "rows": len(self.train.sample), "training_rows": self.train.rows,
                              "warning": "fitted on a sample; distributed training of this model is not available yet"}
        return model.fit(self.train.sample)

    def sample(self, cfg: PipelineConfig, model_dir: Path, n: int, seed: int, out_dir: Path) -> pd.DataFrame:
        """``n`` rows written by the workers as Parquet parts; returns the seeded sample the later stages see."""
        result = self.engine.sample(model_dir, n, seed=seed, out_dir=out_dir)
        self.record["sample"] = result.to_dict()
        self.synthetic = LakeSource.open(out_dir)
        self.syn = self.engine.merge_stats(self.synthetic, sample_rows=cfg.engine.sample_rows, seed=cfg.seed,
                                           rows=result.rows)
        return self.syn.sample

    def evaluate(self, cfg: PipelineConfig, metadata: Metadata) -> dict[str, Any]:
        """Detection, privacy and utility on the seeded samples; column shapes and pair trends over all rows."""
        n = cfg.evaluate.max_rows
        real, syn, hold = self.train.sample.head(n), self.syn.sample.head(n), self.holdout.sample.head(n)
        metrics = dict(evaluate_samples(
            real, syn, holdout=hold if len(hold) else None, metadata=metadata, target=cfg.evaluate.target, seed=cfg.seed,
            max_rows=n, sensitive_columns=cfg.evaluate.sensitive_columns or None,
            quasi_identifiers=cfg.evaluate.quasi_identifiers or None, families=tuple(cfg.evaluate.families)).scores)
        meta = metrics.setdefault("meta", {})
        rows = {"real": self.train.rows, "synthetic": self.syn.rows, "holdout": self.holdout.rows}
        meta.update(rows=rows, subsampled=True)
        self.record["samples"] = {"real": len(real), "synthetic": len(syn), "holdout": len(hold),
                                  "method": "seeded bottom-k samples by row-content hash (same rows at any worker count)",
                                  "used_for": "detection, privacy attacks, utility"}
        self.record["all_rows"] = {**rows, "used_for": "column shapes, pair trends, leakage audit",
                                   "quantile_rank_error": max(self.train.rank_error_share, self.syn.rank_error_share)}
        if "fidelity" in cfg.evaluate.families and meta.get("columns"):
            metrics["fidelity"] = self._all_rows_fidelity(metrics.get("fidelity") or {}, meta["columns"])
        return metrics

    def _all_rows_fidelity(self, fid: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
        """The samples' fidelity with column shapes and pair trends replaced by their all-rows values."""
        spec, skipped = pair_spec(self.train.columns, self.syn.columns, kinds)
        assert self.split is not None
        real = merge_pair_stats(self.engine.map_batches(self.source, self.split.training(
            lambda frame: pair_batch_stats(frame, spec, "real"))))
        syn = merge_pair_stats(self.engine.map_batches(self.synthetic, lambda b: pair_batch_stats(b.to_pandas(), spec,
                                                                                                  "synthetic")))
        self.record["fidelity_on_samples"] = {k: fid.get(k) for k in ("column_shapes", "column_pair_trends", "score")}
        self.record["fidelity_computed_over"] = "column shapes and pair trends: all rows; detection: seeded samples"
        return with_all_rows(fid, merged_fidelity(self.train.columns, self.syn.columns, spec, real or {}, syn or {}), skipped)

    def audit(self, metadata: Metadata) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Real rows and PII values reproduced anywhere in the synthetic parts; the findings are the PII hits."""
        table = metadata.table()
        pii = [c.name for c in table.columns if c.is_pii]
        rows = [c.name for c in table.columns if not c.is_pii and c.kind not in ("id", "text")]
        self.record["audit"] = audit_join(self.engine, [self.source], self.synthetic, rows, pii)
        return self.record["audit"], [{"column": c, "values": v} for c, v in self.record["audit"]["pii_values_reproduced"].items() if v]

    def sink(self, cfg: PipelineConfig, out: Path) -> None:
        """The committed run's Parquet parts into the SQL table: loaded by the workers into a staging
        table, swapped in in one transaction (:mod:`synthkit.engine.sql_sink`)."""
        self.record["sink"] = self.engine.sink_sql(out / "synthetic", str(cfg.sink.url), str(cfg.sink.table),
                                                   if_exists=cfg.sink.if_exists).to_dict()
        self.save(out / "engine.json")

    def save(self, path: Path) -> None:
        """``engine.json``: where the run happened and what the engine did (fit, sampling, samples, audit, sink)."""
        write_json(path, {"engine": self.engine.info(), **self.record})

    def describe(self, cfg: PipelineConfig) -> dict[str, Any]:
        """``meta.pipeline.engine`` of metrics.json."""
        info = self.engine.info()
        return {"name": info["kind"], "workers": info["workers"], **({"address": cfg.engine.address} if cfg.engine.address else {})}

    def report_lines(self) -> dict[str, str]:
        """What the report's run section says about the engine and the evaluation samples."""
        info, samples = self.engine.info(), self.record.get("samples")
        return {"engine": f"{info['kind']}, {info['workers']} workers", **({"evaluation_samples": (
            f"column shapes and pair trends over all rows; detection, privacy and utility on seeded samples of "
            f"{samples['real']} real / {samples['synthetic']} synthetic / {samples['holdout']} holdout rows")} if samples else {})}
