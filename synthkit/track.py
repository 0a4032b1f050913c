"""Record a finished run in an experiment tracker (MLflow), so ML teams find it beside their models.

One call, :func:`track_run`, after the run folder is committed: it reads what the run wrote
(metrics.json, report.html, the model folder) and sends params (the run's public config), headline
metrics, gates and those files. Like ``report`` and ``audit`` it reads a run's outputs and knows
nothing of how they were made; its settings are :class:`MlflowConfig`. What goes out is
aggregates and the model only; no real row is ever logged, and the synthetic table only when
``log_synthetic`` asks for it. URLs are logged with passwords hidden. ``mlflow`` is imported
lazily (extra ``synthkit[mlflow]``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synthkit.errors import ConfigError
from synthkit.io.sql import redact_url
from synthkit.utils.jsonfile import read_json

__all__ = ["MlflowConfig", "check_mlflow", "track_run"]

log = logging.getLogger(__name__)

#: metric families whose numeric entries are the run's headline numbers
_FAMILIES = ("fidelity", "privacy", "utility", "validation", "audit", "keys")
_ARTIFACTS = ("report.html", "metrics.json")
_BAD_KEY = re.compile(r"[^\w\-. /]")
_OPS = ((">=", "ge"), ("<=", "le"), ("!=", "ne"), ("==", "eq"), (">", "gt"), ("<", "lt"))


class MlflowConfig(BaseModel):
    """Record the run in MLflow: params, headline metrics, gates and the outputs as artifacts."""

    model_config = ConfigDict(extra="forbid")

    experiment: str = Field("synthkit", description="MLflow experiment name")
    tracking_uri: str | None = Field(None, description="tracking URI, e.g. sqlite:///mlflow.db or http://host:5000 (default: $MLFLOW_TRACKING_URI)")
    artifact_location: str | None = Field(None, description="artifact root of a new experiment (default: mlartifacts/ beside a sqlite store)")
    log_synthetic: bool = Field(False, description="also upload synthetic.csv (never the real data)")


def track_run(mlflow: MlflowConfig | None, name: str, config: dict[str, Any], output_dir: Path, status: str
              ) -> dict[str, str]:
    """Log the committed run ``name`` in ``output_dir`` (``config``: its settings, passwords already
    hidden) to every configured tracker; returns their run ids.

    A tracker that cannot be reached is logged as an error: the run's own outputs stand.
    """
    ids: dict[str, str] = {}
    if mlflow is not None:
        try:
            ids["mlflow"] = _log_mlflow(mlflow, name, config, Path(output_dir), status)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - a tracker outage must not undo a finished run
            uri = redact_url(mlflow.tracking_uri or "default")
            log.error("could not log the run to MLflow (%s): %s", uri, str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
    return ids


def check_mlflow() -> Any:
    """The ``mlflow`` module; called before a run too, so a missing package fails it first, not after."""
    try:
        import mlflow
    except ImportError:
        raise ConfigError("track.mlflow needs MLflow: pip install 'synthkit[mlflow]'") from None
    return mlflow


def _log_mlflow(mcfg: MlflowConfig, name: str, config: dict[str, Any], out: Path, status: str) -> str:
    mlflow = check_mlflow()
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.time import get_current_time_millis

    client = mlflow.MlflowClient(tracking_uri=mcfg.tracking_uri)  # no global state: other runs untouched
    experiment = client.get_experiment_by_name(mcfg.experiment)
    experiment_id = (experiment.experiment_id if experiment
                     else client.create_experiment(mcfg.experiment, artifact_location=_artifact_location(mcfg)))
    metrics = read_json(out / "metrics.json", "metrics file", ConfigError)
    run = client.create_run(experiment_id, run_name=name, tags={"synthkit.status": status, "synthkit.pipeline": name})
    run_id = run.info.run_id
    try:
        now = get_current_time_millis()
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in headline_metrics(metrics).items()],
            params=[Param(k, v) for k, v in flat_params(config).items()],
            tags=[RunTag(_key(f"gate.{g['gate']}"), "pass" if g.get("passed") else "fail") for g in metrics.get("gates", [])],
        )
        for name in _ARTIFACTS:
            if (out / name).is_file():
                client.log_artifact(run_id, str(out / name))
        if (out / "model").is_dir():
            client.log_artifacts(run_id, str(out / "model"), artifact_path="model")
        if mcfg.log_synthetic:
            synthetic = [p for p in (out / "synthetic.csv", out / "synthetic") if p.exists()]
            for path in synthetic:
                (client.log_artifacts if path.is_dir() else client.log_artifact)(run_id, str(path))
        client.set_terminated(run_id, "FINISHED")
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    log.info("logged run %s to MLflow experiment %r at %s", run_id, mcfg.experiment, redact_url(client.tracking_uri))
    return str(run_id)


def _artifact_location(mcfg: MlflowConfig) -> str | None:
    """Artifacts of a local sqlite store go beside the database file, not into the current folder."""
    if mcfg.artifact_location:
        return mcfg.artifact_location
    uri = mcfg.tracking_uri or ""
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        return (Path(uri[len("sqlite:///"):]).resolve().parent / "mlartifacts").as_uri()
    return None


def headline_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Numeric entries of the metric families (``fidelity.score``, ``privacy.dcr_share``, ...), the
    gates as 1/0 and the stage timings; nested detail (per-column tables) stays in metrics.json."""
    out: dict[str, float] = {}
    for family in _FAMILIES:
        for key, value in (metrics.get(family) or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[_key(f"{family}.{key}")] = float(value)
    for gate in metrics.get("gates", []):
        out[_key(f"gate.{gate['gate']}")] = 1.0 if gate.get("passed") else 0.0
    for stage, seconds in ((metrics.get("meta") or {}).get("pipeline") or {}).get("timings", {}).items():
        out[_key(f"seconds.{stage}")] = float(seconds)
    return out


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"model": {"name": "arm"}}`` -> ``{"model.name": "arm"}``; empty and None values dropped."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_params(value, f"{name}."))
        elif value not in (None, [], {}, ""):
            out[_key(name)] = str(value)[:500]
    return out


def _key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . /`` and spaces: ``privacy.verdict != fail`` -> ``privacy.verdict ne fail``."""
    for op, word in _OPS:
        name = name.replace(op, word)
    return _BAD_KEY.sub("_", name)[:250]
