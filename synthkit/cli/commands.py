"""The ``synthkit`` command: thin typer wrappers over the library functions.

Exit codes (documented in the README): 0 success; 2 bad input or configuration (one-line
message, no traceback); 3 a pipeline quality gate failed (outputs kept, marked failed);
4 the leakage audit found real PII values or real rows in an output; 1 an unexpected internal error (set ``SYNTHKIT_DEBUG=1`` for the traceback).

The library behind each command (``actions``) is imported when the command runs, not here: it loads
torch and scikit-learn, and ``synthkit --help`` should answer in a fraction of a second.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from synthkit import __version__
from synthkit.errors import ConfigError, DataError, ModelFileError, SynthkitError
from synthkit.utils.progress import set_quiet

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


def _print_version(value: bool) -> None:
    """``--version`` answers on its own: eager, before typer asks for a command."""
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log each stage")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no stage lines or progress bars on the terminal")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    _setup_logging(verbose)
    set_quiet(quiet)


def _file_exists(path: Path, what: str, error: type[SynthkitError]) -> None:
    """A mistyped path answers before the library loads (seconds of torch for a one-line error)."""
    if not path.exists():
        raise error(f"{what} not found: {path}")


def _source_may_exist(source: str | None) -> None:
    """A data argument that names a missing file fails here; URLs and bundled dataset names (no suffix,
    no folder) are checked where they are read."""
    if source is None or "://" in source or Path(source).exists():
        return
    if Path(source).suffix or "/" in source or os.sep in source:
        raise DataError(f"no such file or bundled dataset: {source}")


KeyFile = Annotated[Optional[Path], typer.Option(
    "--key-file", help="file holding the model signing key (default: $SYNTHKIT_MODEL_KEY); models are HMAC-signed "
                       "when saved and refused when loaded unsigned or changed")]


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
    _file_exists(pipeline, "pipeline file", ConfigError)
    import synthkit.cli.actions as actions

    overrides = list(set_ or [])
    overrides += [f"engine.kind={engine}"] if engine else []
    overrides += [f"engine.address={address}"] if address else []
    raise typer.Exit(actions.run(pipeline, overrides, json_out=json_out, reuse_model=reuse_model, force=force,
                                 key_file=key_file))


@app.command()
def profile(
    data: Annotated[str, typer.Argument(help="file, SQL URL or bundled dataset name")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="metadata JSON to write")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="profile-only HTML report to write")] = None,
    expectations: Annotated[Optional[Path], typer.Option("--expectations", help="Great Expectations suite JSON to write")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="table of a SQL source or multi-table dataset")] = None,
) -> None:
    """Profile data: column kinds, missingness, keys and PII, as JSON metadata."""
    _source_may_exist(data)
    import synthkit.cli.actions as actions

    actions.profile(data, output=output, html=html, expectations=expectations, table=table)


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
    _source_may_exist(data)
    import synthkit.cli.actions as actions

    actions.fit(data, model=model, output=output, param=param, seed=seed, metadata=metadata, table=table,
                key_file=key_file)


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
    if n <= 0:  # before the library loads: a typo answers at once
        raise DataError(f"-n must be positive, got {n}")
    _file_exists(model, "model folder", ModelFileError)
    import synthkit.cli.actions as actions

    actions.sample(model, n=n, output=output, seed=seed, condition=condition, key_file=key_file)


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
    for source in (real, synthetic, holdout):
        _source_may_exist(source)
    import synthkit.cli.actions as actions

    actions.evaluate(real, synthetic, output, holdout=holdout, target=target, metadata=metadata, seed=seed,
                     report=report)


@app.command("report")
def report_cmd(
    metrics: Annotated[Path, typer.Option("--metrics", help="metrics.json from `synthkit evaluate`")],
    real: Annotated[str, typer.Option("--real", help="real training data (aggregates only reach the report)")],
    synthetic: Annotated[str, typer.Option("--synthetic", help="synthetic data")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")] = Path("report.html"),
    metadata: Annotated[Optional[Path], typer.Option("--metadata", help="metadata JSON")] = None,
) -> None:
    """Render the self-contained HTML report from a metrics.json."""
    import synthkit.cli.actions as actions

    actions.report(metrics, real, synthetic, output, metadata)


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
    import synthkit.cli.actions as actions

    raise typer.Exit(actions.audit(run_dir, real=real, synthetic=synthetic, model=model, report=report,
                                   metadata=metadata, table=table, json_out=json_out))


@app.command()
def models() -> None:
    """List the registered synthesizers."""
    import synthkit.cli.actions as actions

    actions.models()


@app.command()
def datasets() -> None:
    """List the bundled demo datasets."""
    import synthkit.cli.actions as actions

    actions.datasets()


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

