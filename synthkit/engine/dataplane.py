"""The data plane of a run that goes through an engine (``engine: ray`` or a Parquet lake source),
so that no step holds the whole table. The run passes the same stage list as every other run
(``synthkit.pipeline.stages``); a stage that differs calls one method of its :class:`Lake`, with
plain arguments (names, settings, paths, metadata), never the pipeline's config. The source stays
a :class:`~synthkit.io.lake.LakeSource`, rows are split by a seeded content hash inside every
pass, the profile and evaluation come from sketches merged over all rows, the workers sample and
sink Parquet parts, the audit is a hash join over all rows; the row-level stages (validate,
report) see seeded samples. Stage by stage: ``docs/engine.md``. What a run learned on the engine
(fit method, sampling plan, samples, audit, sink) goes to ``engine.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.engine.base import Engine
from synthkit.engine.evaluate import evaluate_on_engine
from synthkit.engine.holdout import HashSplit, split_sketches
from synthkit.engine.join import audit_join
from synthkit.engine.recipe_choice import trains_on_ray
from synthkit.engine.train import fit_on_ray
from synthkit.errors import DataError
from synthkit.io.lake import LakeSource
from synthkit.meta import Metadata
from synthkit.models import Synthesizer, create
from synthkit.models.copula_stats import fit_copula_from_batches
from synthkit.profile.merged import profile_sketch
from synthkit.profile.sketch import TableSketch
from synthkit.utils.atomic import write_json

__all__ = ["Lake"]

log = logging.getLogger(__name__)


@dataclass
class Lake:
    """An engine run's data plane: the engine, the source and the merged sketches of its sides.
    ``sample_rows`` and ``seed`` fix the seeded samples of each side that the row-level steps see."""

    engine: Engine
    sample_rows: int
    seed: int
    source: Any = None
    rows: int = 0
    split: HashSplit | None = None
    train: TableSketch = field(init=False)  # merged sketch of the training rows (set by profile)
    holdout: TableSketch = field(init=False)
    synthetic: Any = None  # the synthetic Parquet parts (set by sample)
    syn: TableSketch = field(init=False)
    record: dict[str, Any] = field(default_factory=dict)  # engine.json

    def load(self, source: LakeSource | pd.DataFrame) -> None:
        """The source: a lake, or a table read into memory anyway (the engine batches it)."""
        self.source = source
        self.rows = source.count_rows() if isinstance(source, LakeSource) else len(source)
        if self.rows == 0:
            raise DataError("the source table is empty (0 rows)")

    def profile(self, name: str, share: float, split_seed: int) -> Metadata:
        """Split the rows by a seeded content hash (``share`` held out) and profile the training side."""
        self.split = HashSplit(share, split_seed)
        self.train, self.holdout = split_sketches(self.engine, self.source, self.rows, self.split,
                                                  self.sample_rows, self.seed)
        return profile_sketch(self.train, name)

    def fit(self, name: str, params: dict[str, Any], metadata: Metadata) -> Synthesizer:
        """Model ``name`` with ``params`` (its seed included) fitted on the training rows."""
        split = self.split
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

    def sample(self, model_dir: Path, n: int, seed: int, out_dir: Path) -> pd.DataFrame:
        """``n`` rows written by the workers as Parquet parts; returns the seeded sample the later stages see."""
        result = self.engine.sample(model_dir, n, seed=seed, out_dir=out_dir)
        self.record["sample"] = result.to_dict()
        self.synthetic = LakeSource.open(out_dir)
        self.syn = self.engine.merge_stats(self.synthetic, sample_rows=self.sample_rows, seed=self.seed,
                                           rows=result.rows)
        return self.syn.sample

    def evaluate(self, metadata: Metadata, **options: Any) -> dict[str, Any]:
        """Detection, privacy and utility on the seeded samples; column shapes and pair trends over all
        rows. ``options``: those of :func:`~synthkit.engine.evaluate.evaluate_on_engine` (max_rows, ...)."""
        assert self.split is not None
        metrics, record = evaluate_on_engine(self.engine, self.source, self.split.training, self.synthetic, self.train,
                                             self.holdout, self.syn, metadata, **options)
        self.record.update(record)
        return metrics

    def audit(self, metadata: Metadata) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Real rows and PII values reproduced anywhere in the synthetic parts; the findings are the PII hits."""
        table = metadata.table()
        pii = [c.name for c in table.columns if c.is_pii]
        rows = [c.name for c in table.columns if not c.is_pii and c.kind not in ("id", "text")]
        self.record["audit"] = audit_join(self.engine, [self.source], self.synthetic, rows, pii)
        return self.record["audit"], [{"column": c, "values": v} for c, v in self.record["audit"]["pii_values_reproduced"].items() if v]

    def sink(self, out: Path, url: str, table: str, if_exists: str) -> None:
        """The committed run's Parquet parts into the SQL table: loaded by the workers into a staging
        table, swapped in in one transaction (:mod:`synthkit.engine.sql_sink`)."""
        self.record["sink"] = self.engine.sink_sql(out / "synthetic", url, table, if_exists=if_exists).to_dict()
        self.save(out / "engine.json")

    def save(self, path: Path) -> None:
        """``engine.json``: where the run happened and what the engine did (fit, sampling, samples, audit, sink)."""
        write_json(path, {"engine": self.engine.info(), **self.record})

    def describe(self) -> dict[str, Any]:
        """``meta.pipeline.engine`` of metrics.json."""
        info, address = self.engine.info(), self.engine.spec.address
        return {"name": info["kind"], "workers": info["workers"], **({"address": address} if address else {})}

    def report_lines(self) -> dict[str, str]:
        """What the report's run section says about the engine and the evaluation samples."""
        info, samples = self.engine.info(), self.record.get("samples")
        return {"engine": f"{info['kind']}, {info['workers']} workers", **({"evaluation_samples": (
            f"column shapes and pair trends over all rows; detection, privacy and utility on seeded samples of "
            f"{samples['real']} real / {samples['synthetic']} synthetic / {samples['holdout']} holdout rows")} if samples else {})}
