"""What each ``synthkit`` command does, over the library.

Kept apart from the command definitions (``commands.py``) because importing the library loads
torch, scikit-learn and scipy, about five seconds: ``synthkit --help``, ``--version`` and a
mistyped option should answer before that, so ``commands.py`` loads this module only when a command
runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml

from synthkit.audit import audit as run_audit
from synthkit.cli.summary import summary_table
from synthkit.datasets import load as load_dataset
from synthkit.datasets import names as dataset_names
from synthkit.errors import ConfigError, DataError, LeakageError
from synthkit.evaluate import evaluate as run_evaluation
from synthkit.evaluate import selection as _selection  # noqa: F401  (registers model "auto")
from synthkit.io import Dataset, read, write
from synthkit.meta import Metadata
from synthkit.models import create
from synthkit.models import load as load_model
from synthkit.models.registry import available, get
from synthkit.models.signing import read_key_file, using_key
from synthkit.pipeline import run as run_pipeline
from synthkit.profile import profile as profile_data
from synthkit.profile.expectations import build_suite, save_suite
from synthkit.report import render_profile_report, render_report
from synthkit.utils.jsonfile import read_json
from synthkit.utils.progress import set_quiet, start_clock

__all__ = ["audit", "datasets", "evaluate", "fit", "models", "profile", "report", "run", "sample"]


def read_data(source: str, table: str | None = None) -> Any:
    """A DataFrame from a file path, SQL URL (with ``table``) or bundled dataset name."""
    if source in dataset_names() and not Path(source).exists():
        return load_dataset(source)[0]

    if "://" not in source and not Path(source).exists():
        raise DataError(f"no such file or bundled dataset: {source}")
    data = read(source, table=table)
    if isinstance(data, Dataset):
        if table is None:
            raise DataError(f"{source} holds several tables {sorted(data.tables)}; choose one with --table")
        if table not in data.tables:
            raise DataError(f"{source} has no table {table!r}; tables: {sorted(data.tables)}")
        return data.tables[table]
    return data


def parse_pairs(items: list[str] | None, what: str) -> dict[str, Any]:
    """``key=value`` options as a dict, each value read as YAML (``3`` is an int, ``a`` a string)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"{what} expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw else raw
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def _load_metadata(path: Path | None) -> Any:
    return None if path is None else Metadata.load(path)


def _key(key_file: Path | None) -> bytes | None:
    """The signing key of ``--key-file``; None leaves ``$SYNTHKIT_MODEL_KEY`` (or no key) in force."""
    return read_key_file(key_file) if key_file is not None else None


def run(pipeline: Path, overrides: list[str], *, json_out: bool, reuse_model: bool, force: bool,
        key_file: Path | None) -> int:
    """Run a pipeline, print its summary (or JSON) and return the run's exit code."""
    if json_out:
        set_quiet()  # machines read stdout; nothing on stderr but errors
    start_clock()
    with using_key(_key(key_file)):  # the run's model is signed; a reused one must carry a valid signature
        result = run_pipeline(pipeline, overrides=overrides, reuse_model=reuse_model, force=force)
    typer.echo(json.dumps(result.to_dict(), indent=2, default=str) if json_out else summary_table(result.to_dict()))
    return result.exit_code


def profile(data: str, *, output: Path | None, html: Path | None, expectations: Path | None,
            table: str | None) -> None:
    frame = read_data(data, table)
    metadata = profile_data(frame, name=table or "table")
    if output:
        metadata.save(output)
    else:
        typer.echo(json.dumps(metadata.to_dict(), indent=2))
    if expectations:
        save_suite(build_suite(metadata), expectations)
    if html:
        render_profile_report(html, data=frame, metadata=metadata)


def fit(data: str, *, model: str, output: Path, param: list[str] | None, seed: int, metadata: Path | None,
        table: str | None, key_file: Path | None) -> None:
    get(model)  # unknown model: clear error before reading data
    key = _key(key_file)  # an unreadable key file: clear error before fitting
    frame = read_data(data, table)
    params = parse_pairs(param, "--param")
    try:
        synthesizer = create(model, metadata=_load_metadata(metadata), seed=seed, **params)
    except TypeError as exc:
        raise ConfigError(f"invalid parameter for model {model!r}: {exc}") from None
    synthesizer.fit(frame)
    synthesizer.save(output, key=key)
    typer.echo(f"fitted {model} on {len(frame):,} rows -> {output}")


def sample(model: Path, *, n: int, output: Path, seed: int | None, condition: list[str] | None,
           key_file: Path | None) -> None:
    synthesizer = load_model(str(model), key=_key(key_file))
    frame = synthesizer.sample(n, seed=seed, conditions=parse_pairs(condition, "--condition") or None)
    write(frame, output)
    typer.echo(f"sampled {len(frame):,} rows -> {output}")


def evaluate(real: str, synthetic: str, output: Path, *, holdout: str | None, target: str | None,
             metadata: Path | None, seed: int, report: bool) -> None:
    real_df = read_data(real)
    synth_df = read_data(synthetic)
    holdout_df = read_data(holdout) if holdout else None
    meta = _load_metadata(metadata)
    result = run_evaluation(real_df, synth_df, holdout=holdout_df, metadata=meta, target=target, seed=seed)
    output.mkdir(parents=True, exist_ok=True)
    result.to_json(output / "metrics.json")
    if report:
        render_report(output / "report.html", metrics=result.scores, real=real_df, synthetic=synth_df,
                      metadata=meta or profile_data(real_df), run={"seed": seed})
    typer.echo(f"verdict {result.verdict}; metrics -> {output / 'metrics.json'}")


def report(metrics: Path, real: str, synthetic: str, output: Path, metadata: Path | None) -> None:
    scores = read_json(metrics, "metrics file", DataError)
    real_df = read_data(real)
    meta = _load_metadata(metadata) or profile_data(real_df)
    render_report(output, metrics=scores, real=real_df, synthetic=read_data(synthetic), metadata=meta)
    typer.echo(f"report -> {output}")


def audit(run_dir: Path | None, *, real: str, synthetic: Path | None, model: Path | None, report: Path | None,
          metadata: Path | None, table: str | None, json_out: bool) -> int:
    """Scan outputs and print the findings; the exit code is 4 when any real value or row was found."""
    if not real:
        raise ConfigError("--real is required: the audit compares outputs with the real data")
    result = run_audit(read_data(real, table), _load_metadata(metadata), synthetic=synthetic, model_dir=model,
                       report_path=report, run_dir=run_dir)
    typer.echo(json.dumps(result.to_dict(), indent=2, default=str) if json_out else result.summary())
    return 0 if result.passed else LeakageError.exit_code


def models() -> None:
    for name in available():
        doc = (get(name).__doc__ or "").strip().splitlines()[0] if get(name).__doc__ else ""
        typer.echo(f"{name:<12} {doc}")


def datasets() -> None:
    for name, description in dataset_names().items():
        typer.echo(f"{name:<12} {description}")
