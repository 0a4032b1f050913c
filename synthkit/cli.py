"""The ``synthkit`` command: thin typer wrappers over the library functions.

Exit codes (documented in the README): 0 success; 2 bad input or configuration (one-line
message, no traceback); 3 a pipeline quality gate failed (outputs kept, marked failed);
4 the leakage audit found real PII values or real rows in an output; 1 an unexpected internal error (set ``SYNTHKIT_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import yaml

from synthkit import __version__
from synthkit.audit import audit as run_audit
from synthkit.datasets import load as load_dataset
from synthkit.datasets import names as dataset_names
from synthkit.errors import ConfigError, DataError, LeakageError, SynthkitError
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

__all__ = ["app", "main"]

log = logging.getLogger("synthkit")

app = typer.Typer(
    name="synthkit",
    help="Privacy-preserving synthetic data: profile, synthesize, evaluate, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

EXIT_INTERNAL = 1


def _setup_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # The handler's own level matters: some libraries (Great Expectations) raise their loggers to INFO.
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log each stage")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no stage lines or progress bars on the terminal")] = False,
    version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
) -> None:
    _setup_logging(verbose)
    set_quiet(quiet)
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


# -- helpers ----------------------------------------------------------------------------
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


def _parse_pairs(items: list[str] | None, what: str) -> dict[str, Any]:
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


def _write_table(df: Any, out: Path) -> None:
    write(df, out)


def _load_metadata(path: Path | None) -> Any:
    if path is None:
        return None

    return Metadata.load(path)


KeyFile = Annotated[Optional[Path], typer.Option(
    "--key-file", help="file holding the model signing key (default: $SYNTHKIT_MODEL_KEY); models are HMAC-signed "
                       "when saved and refused when loaded unsigned or changed")]


def _key(key_file: Path | None) -> bytes | None:
    """The signing key of ``--key-file``; None leaves ``$SYNTHKIT_MODEL_KEY`` (or no key) in force."""
    return read_key_file(key_file) if key_file is not None else None


# -- commands ---------------------------------------------------------------------------
@app.command()
def run(
    pipeline: Annotated[Path, typer.Argument(help="pipeline YAML file")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override a config key: key.sub=value")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print a JSON summary on stdout")] = False,
    reuse_model: Annotated[bool, typer.Option("--reuse-model", help="reuse the previous run's model if data and settings match")] = False,
    force: Annotated[bool, typer.Option("--force", help="move an existing output folder synthkit did not make aside (never deleted)")] = False,
    key_file: KeyFile = None,
    engine: Annotated[Optional[str], typer.Option("--engine", help="where partitioned work runs: local | ray (overrides engine.kind)")] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (default: start a private local cluster)")] = None,
) -> None:
    """Run a whole pipeline from one YAML file (exit 3 gate failed, 4 leak found, 5 sink failed)."""
    if json_out:
        set_quiet()  # machines read stdout; nothing on stderr but errors
    start_clock()
    with using_key(_key(key_file)):  # the run's model is signed; a reused one must carry a valid signature
        overrides = list(set_ or [])
        overrides += [f"engine.kind={engine}"] if engine else []
        overrides += [f"engine.address={address}"] if address else []
        result = run_pipeline(pipeline, overrides=overrides, reuse_model=reuse_model, force=force)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        typer.echo(summary_table(result.to_dict()))
    raise typer.Exit(result.exit_code)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def summary_table(result: dict[str, Any]) -> str:
    """The end-of-run summary: headline numbers (3 decimals), gates, timings and where the report is."""
    head = result.get("headline") or {}
    rows = [("fidelity", head.get("fidelity")), ("privacy", head.get("privacy_verdict")), ("utility", head.get("utility"))]
    rows += [(f"gate {g['gate']}", f"{'pass' if g['passed'] else 'FAIL'} (value {_fmt(g['value'])})") for g in result.get("gates", [])]
    total = sum((result.get("timings") or {}).values())
    rows.append(("time", f"{total:.1f} s"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{result['name']}: {result['status']}", f"  {'metric':<{width}}  value", f"  {'':-<{width}}  {'':-<12}"]
    lines += [f"  {name:<{width}}  {_fmt(value) if value is not None else '-'}" for name, value in rows]
    if result.get("leaks"):
        lines.append(f"  LEAKAGE AUDIT FAILED: {len(result['leaks'])} finding(s); see audit.json (sink skipped)")
    if result["status"] == "sink_failed":
        lines.append("  SINK FAILED: the run folder is committed, the sink's tables are unchanged (see .synthkit-run)")
    out = Path(result["output_dir"])
    report = out / result["files"]["report"] if "report" in result.get("files", {}) else None
    lines.append(f"outputs: {out}" + (f"\nreport:  {report}" if report else ""))
    return "\n".join(lines)


@app.command()
def profile(
    data: Annotated[str, typer.Argument(help="file, SQL URL or bundled dataset name")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="metadata JSON to write")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="profile-only HTML report to write")] = None,
    expectations: Annotated[Optional[Path], typer.Option("--expectations", help="Great Expectations suite JSON to write")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="table of a SQL source or multi-table dataset")] = None,
) -> None:
    """Profile data: column kinds, missingness, keys and PII, as JSON metadata."""
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


@app.command()
def fit(
    data: Annotated[str, typer.Argument(help="training data: file, SQL URL or bundled dataset name")],
    model: Annotated[str, typer.Option("--model", "-m", help="model name (see `synthkit models`) or auto")] = "auto",
    output: Annotated[Path, typer.Option("-o", "--output", help="model folder to write")] = Path("model"),
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="model parameter key=value")] = None,
    seed: Annotated[int, typer.Option("--seed", help="fit seed")] = 0,
    metadata: Annotated[Optional[Path], typer.Option("--metadata", help="metadata JSON (default: profile the data)")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="table of a SQL source or multi-table dataset")] = None,
    key_file: KeyFile = None,
) -> None:
    """Fit a synthesizer and save it (no pickle: JSON + weights; signed with a key).

    ``auto`` measures candidate models on held-out rows and saves the one it chose."""
    name = model
    get(name)  # unknown model: clear error before reading data
    key = _key(key_file)  # an unreadable key file: clear error before fitting
    frame = read_data(data, table)
    params = _parse_pairs(param, "--param")
    try:
        synthesizer = create(name, metadata=_load_metadata(metadata), seed=seed, **params)
    except TypeError as exc:
        raise ConfigError(f"invalid parameter for model {name!r}: {exc}") from None
    synthesizer.fit(frame)
    synthesizer.save(output, key=key)
    typer.echo(f"fitted {name} on {len(frame):,} rows -> {output}")


@app.command()
def sample(
    model: Annotated[Path, typer.Argument(help="model folder written by `synthkit fit`")],
    n: Annotated[int, typer.Option("-n", "--rows", help="number of rows")] = 1000,
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV/Parquet/JSONL file to write")] = Path("synthetic.csv"),
    seed: Annotated[Optional[int], typer.Option("--seed", help="sampling seed")] = None,
    condition: Annotated[Optional[list[str]], typer.Option("--condition", "-c", help="column=value the rows must have")] = None,
    key_file: KeyFile = None,
) -> None:
    """Sample synthetic rows from a saved model (with a key: only a model signed with it)."""
    if n <= 0:
        raise DataError(f"-n must be positive, got {n}")
    synthesizer = load_model(str(model), key=_key(key_file))
    frame = synthesizer.sample(n, seed=seed, conditions=_parse_pairs(condition, "--condition") or None)
    _write_table(frame, output)
    typer.echo(f"sampled {len(frame):,} rows -> {output}")


@app.command()
def evaluate(
    real: Annotated[str, typer.Option("--real", help="real training data")],
    synthetic: Annotated[str, typer.Option("--synthetic", help="synthetic data")],
    output: Annotated[Path, typer.Option("-o", "--output", help="folder for metrics.json (and report.html)")],
    holdout: Annotated[Optional[str], typer.Option("--holdout", help="real rows the model never saw")] = None,
    target: Annotated[Optional[str], typer.Option("--target", help="column to predict for utility")] = None,
    metadata: Annotated[Optional[Path], typer.Option("--metadata", help="metadata JSON (default: profile the real data)")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    report: Annotated[bool, typer.Option("--report/--no-report", help="also write report.html")] = True,
) -> None:
    """Score synthetic data: fidelity, privacy (against a holdout) and utility."""
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


@app.command("report")
def report_cmd(
    metrics: Annotated[Path, typer.Option("--metrics", help="metrics.json from `synthkit evaluate`")],
    real: Annotated[str, typer.Option("--real", help="real training data (aggregates only reach the report)")],
    synthetic: Annotated[str, typer.Option("--synthetic", help="synthetic data")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")] = Path("report.html"),
    metadata: Annotated[Optional[Path], typer.Option("--metadata", help="metadata JSON")] = None,
) -> None:
    """Render the self-contained HTML report from a metrics.json."""
    scores = read_json(metrics, "metrics file", DataError)
    real_df = read_data(real)
    meta = _load_metadata(metadata) or profile_data(real_df)
    render_report(output, metrics=scores, real=real_df, synthetic=read_data(synthetic), metadata=meta)
    typer.echo(f"report -> {output}")


@app.command()
def audit(
    run_dir: Annotated[Optional[Path], typer.Argument(help="run folder to scan (every file in it)")] = None,
    real: Annotated[str, typer.Option("--real", help="the real data the outputs were made from")] = "",
    synthetic: Annotated[Optional[Path], typer.Option("--synthetic", help="a synthetic table to scan")] = None,
    model: Annotated[Optional[Path], typer.Option("--model", help="a saved model folder to scan")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="an HTML report to scan")] = None,
    metadata: Annotated[Optional[Path], typer.Option("--metadata", help="metadata JSON saying which columns are PII")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="table of a SQL source or multi-table dataset")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the findings as JSON")] = False,
) -> None:
    """Scan outputs for real PII values and whole real rows (exit 4 if any is found)."""
    if not real:
        raise ConfigError("--real is required: the audit compares outputs with the real data")
    result = run_audit(read_data(real, table), _load_metadata(metadata), synthetic=synthetic, model_dir=model,
                       report_path=report, run_dir=run_dir)
    typer.echo(json.dumps(result.to_dict(), indent=2, default=str) if json_out else result.summary())
    if not result.passed:
        raise typer.Exit(LeakageError.exit_code)


@app.command()
def models() -> None:
    """List the registered synthesizers."""
    for name in available():
        doc = (get(name).__doc__ or "").strip().splitlines()[0] if get(name).__doc__ else ""
        typer.echo(f"{name:<12} {doc}")


@app.command()
def datasets() -> None:
    """List the bundled demo datasets."""
    for name, description in dataset_names().items():
        typer.echo(f"{name:<12} {description}")


def main() -> None:
    """Console entry point: one-line errors with meaningful exit codes, never a traceback."""
    try:
        app()
    except SystemExit:
        raise
    except SynthkitError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if os.environ.get("SYNTHKIT_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        typer.echo(f"internal error: {type(exc).__name__}: {first} (set SYNTHKIT_DEBUG=1 for details)", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
