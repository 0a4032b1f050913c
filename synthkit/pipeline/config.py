"""Pipeline configuration: one YAML file, validated by pydantic, errors that name key and line.

Every field carries a description so ``synthkit run --help-config`` and the docs come from one
place. Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from synthkit.evaluate.gates import GATE_FORMAT, GATE_PATTERN
from synthkit.io.sql import redact_url
from synthkit.pipeline.outputs import MARKER
from synthkit.track import MlflowConfig
from synthkit.utils.paths import safe_name
from synthkit.utils.yamlconfig import load_yaml_model

__all__ = ["PipelineConfig", "load_config"]

_RUN_OUTPUTS = {"synthetic.csv", "synthetic", "metrics.json", "report.html", "metadata.json", "expectations.json",
                "validation.json", "audit.json", "model", "model.fingerprint", MARKER}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Section):
    """Where the real data comes from: a bundled dataset, a file, or a SQL database."""

    dataset: str | None = Field(None, description="bundled dataset name, e.g. 'adult' (its training split)")
    path: str | None = Field(None, description="CSV/TSV/Parquet/JSONL/ARFF file, Synthea folder or FHIR file")
    url: str | None = Field(None, description="SQLAlchemy URL, e.g. sqlite:///data.db")
    table: str | None = Field(None, description="table to read (SQL sources; Synthea/FHIR: which table to synthesize)")
    query: str | None = Field(None, description="SQL query to read instead of a table")
    options: dict[str, Any] = Field(default_factory=dict, description="extra reader options")
    max_rows: int | None = Field(None, gt=0, description="use at most this many rows (random, seeded)")

    @model_validator(mode="after")
    def _one_source(self) -> SourceConfig:
        given = [k for k in ("dataset", "path", "url") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of 'dataset', 'path' or 'url'")
        return self


class ProfileConfig(_Section):
    """Overrides of what the profiler infers (kinds and PII classes per column)."""

    kinds: dict[str, str] = Field(default_factory=dict, description="column -> kind override")
    pii: dict[str, str] = Field(default_factory=dict, description="column -> PII class override ('none' to clear)")
    primary_key: str | None = Field(None, description="primary key column (regenerated, never learned)")
    expectations: bool = Field(True, description="build the real table's Great Expectations suite and check the "
                               "synthetic rows against it (expectations.json, validation.json; one-table runs)")


class HoldoutConfig(_Section):
    """Real rows kept away from the model for the privacy and utility tests."""

    share: float = Field(0.5, gt=0.0, lt=1.0, description="share of real rows held out")
    seed: int = Field(0, description="split seed")
    path: str | None = Field(None, description="use this file as the holdout instead of splitting")


class ModelConfig(_Section):
    """Which synthesizer, with which parameters."""

    name: str = Field("auto", description="registered model name (`synthkit models`) or 'auto'")
    params: dict[str, Any] = Field(default_factory=dict, description="model constructor parameters")


class SampleConfig(_Section):
    """How many synthetic rows, and under which conditions."""

    rows: int | None = Field(None, gt=0, description="number of rows")
    ratio: float | None = Field(None, gt=0, description="rows as a multiple of the training rows")
    seed: int | None = Field(None, description="sampling seed (default: the pipeline seed)")
    conditions: dict[str, Any] = Field(default_factory=dict, description="column -> required value(s)")

    @model_validator(mode="after")
    def _rows_or_ratio(self) -> SampleConfig:
        if self.rows is not None and self.ratio is not None:
            raise ValueError("give 'rows' or 'ratio', not both")
        return self


class EvaluateConfig(_Section):
    """What the evaluation looks at."""

    enabled: bool = True
    target: str | None = Field(None, description="column to predict for the utility tests (model auto also scores its candidates on it)")
    sensitive_columns: list[str] = Field(default_factory=list, description="columns an attacker would infer")
    quasi_identifiers: list[str] = Field(default_factory=list, description="columns an attacker could link on")
    max_rows: int = Field(20000, ge=100, description="rows per side evaluated (larger inputs are subsampled; the evaluator needs >= 100)")
    families: list[Literal["fidelity", "privacy", "utility"]] = Field(
        default_factory=lambda: ["fidelity", "privacy", "utility"]
    )


class SinkConfig(_Section):
    """Where the synthetic data goes besides the run folder's synthetic.csv."""

    path: str | None = Field(None, description="extra file output (CSV/Parquet/JSONL)")
    url: str | None = Field(None, description="SQLAlchemy URL to write to")
    table: str | None = Field(None, description="SQL table name (multi-table runs: optional prefix of every table's name)")
    if_exists: Literal["replace", "append", "fail"] = "replace"

    @field_validator("path")
    @classmethod
    def _inside_run_folder(cls, value: str | None) -> str | None:
        """Checked when the config loads, so a bad path fails fast instead of after a whole run: every
        part a plain name (no '..', '~', '\\', NUL, hidden or reserved names), none of the run's own outputs."""
        if value is not None:
            parts = value.split("/")
            if any(safe_name(p) != p for p in parts) or parts[0] in _RUN_OUTPUTS:
                raise ValueError("must be a relative path inside the run folder, of plain names "
                                 f"(letters, digits, '_.-'), not one of the run's own outputs {sorted(_RUN_OUTPUTS)}")
        return value


class EngineConfig(_Section):
    """Where partitioned work runs (see :mod:`synthkit.engine`): this process, or a Ray cluster."""

    kind: Literal["local", "ray"] = Field("local", description="local (threads, streamed batches) or ray (ray.data)")
    address: str | None = Field(None, description="Ray cluster address; default: start a private local cluster")
    num_workers: int | None = Field(None, gt=0, description="workers at once (default: CPUs / cpus_per_worker)")
    cpus_per_worker: float = Field(1.0, gt=0, description="CPUs per worker")
    gpus_per_worker: float = Field(0.0, ge=0, description="GPUs per worker")
    memory_per_worker: int | None = Field(None, gt=0, description="bytes of memory Ray reserves per worker")
    batch_rows: int = Field(131_072, gt=0, description="rows per statistics batch")
    block_rows: int = Field(100_000, gt=0, description="rows per sampling block (one seed and one Parquet part each)")
    sample_rows: int = Field(200_000, gt=0, description="seeded sample size for neural fits and row-level evaluation on a cluster")


class TrackConfig(_Section):
    """Experiment trackers the run reports to (needs the matching extra, e.g. synthkit[mlflow])."""

    mlflow: MlflowConfig | None = None


class ReportConfig(_Section):
    """The HTML report."""

    enabled: bool = True
    k: int = Field(10, ge=1, description="categories rarer than k are suppressed from charts")


class PipelineConfig(_Section):
    """A whole run: source → profile → holdout → model → sample → evaluate → gates → sink → report."""

    name: str = Field(..., description="run name; outputs go to <output_dir>")
    seed: int = Field(0, description="seed for everything not seeded explicitly")
    output_dir: str | None = Field(None, description="run folder (default reports/<name>), relative to the current folder "
                                   "like every path here; replaced only if synthkit made it (it holds .synthkit-run)")
    source: SourceConfig
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    holdout: HoldoutConfig = Field(default_factory=HoldoutConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    sample: SampleConfig = Field(default_factory=SampleConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    gates: list[str] = Field(default_factory=list, description="e.g. 'privacy.verdict != fail', 'fidelity.score >= 0.8'")
    sink: SinkConfig = Field(default_factory=SinkConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    track: TrackConfig = Field(default_factory=TrackConfig)

    def public_dict(self) -> dict[str, Any]:
        """The config as JSON data with passwords in URLs hidden: what reports and trackers may show."""
        data = self.model_dump(mode="json")
        for section in ("source", "sink"):
            if data[section].get("url"):
                data[section]["url"] = redact_url(data[section]["url"])
        return data

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", value):
            raise ValueError("use letters, digits, '_', '.', '-' only (it names the output folder)")
        return value

    @model_validator(mode="after")
    def _table_for_sql_sink(self) -> PipelineConfig:
        """A single-table run needs the SQL table's name; a multi-table run names tables after its own."""
        if self.model.name != "relational":
            if self.sink.url and not self.sink.table:
                raise ValueError("sink.table: a SQL sink 'url' needs a 'table' (the name of the table to write)")
            if self.source.url and not (self.source.table or self.source.query):
                raise ValueError("source: a SQL 'url' needs 'table' or 'query' (a multi-table model reads every table)")
        return self

    @field_validator("gates")
    @classmethod
    def _valid_gates(cls, gates: list[str]) -> list[str]:
        for gate in gates:
            if not GATE_PATTERN.match(gate):
                raise ValueError(f"gate {gate!r} is not {GATE_FORMAT}")
        return gates


def load_config(path: str | Path, overrides: list[str] | None = None) -> PipelineConfig:
    """Read, override (``key.sub=value``, ``${ENV}`` values) and validate a pipeline YAML file."""
    return load_yaml_model(path, PipelineConfig, overrides, what="pipeline file")
