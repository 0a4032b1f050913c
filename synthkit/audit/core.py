"""The leakage audit: are real PII values or whole real rows anywhere in a run's outputs?

Looks at the synthetic tables, the saved model files (``model.json`` and the *text* of
``weights.pt``, never unpickled) and the HTML report, or at every file of a run folder. Findings
name where, what kind, which column and how many — never the leaked value itself, so the audit's
own output (logs, CI, JSON) cannot become a leak. The rules are in :mod:`synthkit.audit.sources`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthkit.audit.entities import ReproducedEntities
from synthkit.audit.normalize import TOKEN, cell_text, file_tokens, ngrams, row_frame
from synthkit.audit.sources import Sensitive, row_columns, sensitive_values
from synthkit.errors import ConfigError, DataError, LeakageError
from synthkit.meta import Metadata, TableMeta
from synthkit.profile import profile

__all__ = ["DEFAULT_MIN_ROW_COLUMNS", "AuditResult", "ReproducedRows", "audit", "reproduced_rows"]

log = logging.getLogger(__name__)

DEFAULT_MIN_ROW_COLUMNS = 4
_TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_SHOWN_ROWS = 10


@dataclass
class AuditResult:
    """Outcome of :func:`audit`: ``passed`` is False when anything real was found."""

    findings: list[dict[str, Any]] = field(default_factory=list)
    checked: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "findings": self.findings, "checked": self.checked,
                "skipped": self.skipped, "rules": self.rules}

    def summary(self) -> str:
        """One line per finding (locations and counts only), or one PASS line."""
        places = len(self.checked)
        if self.passed:
            rows = "unique real row or record" if "record_rule" in self.rules else "unique real row"
            return f"audit PASS: no real PII value or {rows} found in {places} place(s) checked"
        lines = [f"audit FAIL: {len(self.findings)} finding(s) in {places} place(s) checked"]
        lines += [f"  - {f['message']}" for f in self.findings]
        return "\n".join(lines)

    def raise_if_failed(self) -> AuditResult:
        """Raise :class:`~synthkit.errors.LeakageError` (CLI exit code 4) when anything was found."""
        if not self.passed:
            raise LeakageError(self.summary())
        return self


def audit(
    real: pd.DataFrame,
    metadata: Metadata | None = None,
    *,
    synthetic: pd.DataFrame | str | Path | None = None,
    model_dir: str | Path | None = None,
    report_path: str | Path | None = None,
    run_dir: str | Path | None = None,
    table: str | None = None,
    min_row_columns: int = DEFAULT_MIN_ROW_COLUMNS,
    entity: str | None = None,
    time: str | None = None,
) -> AuditResult:
    """Scan outputs for real PII values, whole unique real rows and, for sequences, whole unique
    real records (every step of one entity: :mod:`synthkit.audit.entities`).

    ``real`` is the real table the outputs came from (a superset, e.g. train + holdout, is fine).
    ``metadata`` says which columns are PII; default: ``run_dir/metadata.json``, else a fresh
    profile of ``real``. ``run_dir`` scans every file of a run folder (tables as synthetic data,
    everything else as text). At least one output must be given. ``entity``/``time`` name the
    sequence columns (default: the metadata's ``sequence_key``/``sequence_index``); with an entity
    column, synthetic tables that have it are also checked record by record.
    """
    real = _check_real(real)
    if isinstance(min_row_columns, bool) or not isinstance(min_row_columns, int) or min_row_columns < 1:
        raise ConfigError(f"min_row_columns must be a positive integer, got {min_row_columns!r}")
    run_path = _existing(run_dir, "run folder", folder=True)
    meta = _metadata(metadata, run_path, real)
    tmeta = meta.table(table)
    missing = [c for c in tmeta.column_names if c not in real.columns]
    if missing:
        raise DataError(f"the real data lacks metadata columns {missing[:5]}; pass the data the outputs were made from")
    tables, files = _collect(synthetic, model_dir, report_path, run_path)
    if not tables and not files:
        raise ConfigError("nothing to audit: give synthetic=, model_dir=, report_path= or run_dir=")
    result = AuditResult(rules={"min_row_columns": min_row_columns, "row_rule": "unique in real data on learned columns"})
    entity, time = entity or tmeta.sequence_key, time or tmeta.sequence_index
    records = None
    if entity is not None:
        records = ReproducedEntities(real, tmeta, entity, time, min_row_columns)
        result.rules["record_rule"] = ("an entity's whole record (every step in order, times as offsets from its first) "
                                       "unique in real data on learned columns")
    sources = sensitive_values(real, tmeta, result.skipped)
    scanner = _Scanner(real, tmeta, sources, min_row_columns, result, records)
    for where, frame in tables:
        scanner.table(where, frame)
    for where, path in files:
        scanner.file(where, path)
    log.info("%s", result.summary().splitlines()[0])
    return result


class ReproducedRows:
    """The audit's row rule held for one real table: which synthetic rows reproduce a unique real row on
    the learned columns. The real rows are hashed once, so a sampler can ask round after round about
    the rows it drew again without rehashing the real table."""

    def __init__(self, real: pd.DataFrame, table: TableMeta, min_row_columns: int = DEFAULT_MIN_ROW_COLUMNS) -> None:
        self._scanner = _Scanner(_check_real(real), table, [], min_row_columns, AuditResult(rules={}))

    def __call__(self, synthetic: pd.DataFrame) -> np.ndarray:
        frame = synthetic.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        found = self._scanner.row_hits(frame)
        return np.zeros(len(frame), dtype=bool) if isinstance(found, str) else found[2].to_numpy(dtype=bool)


def reproduced_rows(real: pd.DataFrame, table: TableMeta, synthetic: pd.DataFrame,
                    min_row_columns: int = DEFAULT_MIN_ROW_COLUMNS) -> np.ndarray:
    """Which synthetic rows reproduce a unique real row on the learned columns: the audit's row rule,
    for a sampler to draw those rows again instead of writing them."""
    return ReproducedRows(real, table, min_row_columns)(synthetic)


# -- inputs ----------------------------------------------------------------------------------
def _check_real(real: Any) -> pd.DataFrame:
    if not isinstance(real, pd.DataFrame):
        raise DataError(f"audit needs the real data as a pandas DataFrame, got {type(real).__name__}")
    if len(real) == 0 or real.shape[1] == 0:
        raise DataError(f"the real data is empty ({real.shape[0]} rows, {real.shape[1]} columns); nothing to compare with")
    if real.columns.duplicated().any():
        raise DataError(f"the real data has duplicate column names: {sorted({str(c) for c in real.columns[real.columns.duplicated()]})}")
    real = real.copy()
    real.columns = [str(c) for c in real.columns]
    return real.reset_index(drop=True)


def _existing(path: str | Path | None, what: str, folder: bool = False) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        raise DataError(f"{what} not found: {p}")
    if folder and not p.is_dir():
        raise DataError(f"{what} {p} is not a folder")
    return p


def _metadata(metadata: Any, run_path: Path | None, real: pd.DataFrame) -> Metadata:
    if isinstance(metadata, Metadata):
        return metadata
    if metadata is not None:
        raise ConfigError(f"metadata must be a synthkit Metadata, got {type(metadata).__name__}")
    if run_path is not None and (run_path / "metadata.json").is_file():
        return Metadata.load(run_path / "metadata.json")

    return profile(real)


def _collect(synthetic: Any, model_dir: Any, report_path: Any, run_path: Path | None) -> tuple[list, list]:
    tables: list[tuple[str, Any]] = []
    files: list[tuple[str, Path]] = []
    seen: set[Path] = set()

    def add_file(where: str, path: Path) -> None:
        if path.resolve() in seen:
            return
        seen.add(path.resolve())
        if _table_format(path):
            tables.append((where, path))
        else:
            files.append((where, path))

    if isinstance(synthetic, pd.DataFrame):
        tables.append(("synthetic", synthetic))
    elif synthetic is not None:
        path = _existing(synthetic, "synthetic data file")
        if not isinstance(synthetic, (str, Path)) or path is None or not path.is_file() or not _table_format(path):
            raise DataError(f"synthetic must be a DataFrame or a .csv/.tsv/.parquet/.jsonl file, got {synthetic!r}")
        add_file(path.name, path)
    model_path = _existing(model_dir, "model folder", folder=True)
    if model_path is not None:
        for p in sorted(model_path.rglob("*")):
            if p.is_file():
                add_file(f"model/{p.relative_to(model_path)}", p)
    report = _existing(report_path, "report file")
    if report is not None:
        add_file(report.name, report)
    if run_path is not None:
        for p in sorted(run_path.rglob("*")):
            rel = p.relative_to(run_path)
            if p.is_file() and not any(part.startswith(".") for part in rel.parts):
                add_file(str(rel), p)
    return tables, files


def _table_format(path: Path) -> str | None:
    name = path.name.lower().removesuffix(".gz")
    return _TABLE_SUFFIXES.get(Path(name).suffix)


def _read_table(path: Path) -> pd.DataFrame:
    """A synthetic table as written; CSV cells stay text so nothing is reinterpreted."""
    fmt = _table_format(path)
    try:
        if fmt in ("csv", "tsv"):
            return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False,
                               na_values=[""], low_memory=False)
        if fmt == "parquet":
            return pd.read_parquet(path)
        return pd.read_json(path, lines=True, dtype=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read synthetic table {path}: {str(exc).splitlines()[0][:200]}") from None


# -- scanning --------------------------------------------------------------------------------
class _Scanner:
    """Holds the real lookups once and scans each output against them."""

    def __init__(self, real: pd.DataFrame, table: TableMeta, sources: list[Sensitive], min_cols: int, result: AuditResult,
                 records: ReproducedEntities | None = None) -> None:
        self.real, self.meta, self.min_cols, self.result, self.records = real, table, min_cols, result, records
        cells = [pd.Series(s.column, index=s.cells) for s in sources if s.in_tables]
        self.cells = _first_source(cells)
        # numeric, boolean and date columns can only hold a real value that is itself a number
        self.numeric_values = bool(len(self.cells)) and bool(
            pd.Series(self.cells.index, dtype=object).str.fullmatch(r"[+-]?\d+(\.\d+)?").any())
        self.kinds = {s.column: (s.what, s.pii) for s in sources}
        by_k: dict[int, list[pd.Series]] = {}
        for s in sources:
            lengths = s.keys.str.count(" ") + 1
            for k in np.unique(lengths):
                by_k.setdefault(int(k), []).append(pd.Series(s.column, index=s.keys[lengths == k].to_numpy()))
        self.keys = {k: _first_source(parts) for k, parts in by_k.items() if k <= 12}
        self.row_cols = row_columns(table, real)
        self._real_rows: dict[tuple[str, ...], pd.Index] = {}

    # tables: exact cells in every column, tokens in free-text columns, whole rows
    def table(self, where: str, data: pd.DataFrame | Path) -> None:
        frame = _read_table(data) if isinstance(data, Path) else data
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"{where}: synthetic data must be a DataFrame, got {type(frame).__name__}")
        frame = frame.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        self.result.checked.append({"where": where, "what": "table", "rows": len(frame), "columns": frame.shape[1]})
        if len(frame) == 0:
            return
        for col in dict.fromkeys(frame.columns):
            series = frame[col]
            if isinstance(series, pd.DataFrame):  # duplicate column names in the output
                series = series.iloc[:, 0]
            typed = pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype)
            if len(self.cells) and (self.numeric_values or not typed):
                text = cell_text(series)
                hit = text.isin(self.cells.index)
                if hit.any():
                    self._report(where, col, self.cells.reindex(text[hit]).to_numpy(), text[hit].to_numpy(), text.index[hit])
            if self.keys and _is_free_text(series):
                self._tokens(where, col, _cell_tokens(series))
        self._rows(where, frame)
        if self.records is not None and self.records.entity in frame.columns:
            self._records(where, frame, self.records)

    def file(self, where: str, path: Path) -> None:
        if not self.keys:
            self.result.checked.append({"where": where, "what": "file", "tokens": 0})
            return
        try:
            tokens, how = file_tokens(path)
        except (OSError, ValueError) as exc:
            self.result.skipped[where] = f"not scanned: {exc}"
            return
        self.result.checked.append({"where": where, "what": how, "tokens": len(tokens)})
        self._tokens(where, None, tokens)

    def _tokens(self, where: str, column: str | None, tokens: pd.Series) -> None:
        for k, lookup in self.keys.items():
            grams = ngrams(tokens, k)
            hit = grams.isin(lookup.index)
            if hit.any():
                found = grams[hit]
                self._report(where, column, lookup.reindex(found).to_numpy(), found.to_numpy(), None)

    def _report(self, where: str, column: str | None, sources: np.ndarray, values: np.ndarray, rows: Any) -> None:
        found = pd.DataFrame({"source": sources, "value": values})
        for source, group in found.groupby("source", sort=True):
            what, pii = self.kinds[str(source)]
            count, cells = int(group["value"].nunique()), len(group)
            inside = f" in column {column!r}" if column is not None else ""
            kind_text = f"PII ({pii})" if what == "pii_value" else "identifier"
            finding = {"kind": what, "where": where, "column": column, "source_column": str(source), "pii": pii,
                       "count": count, "occurrences": cells,
                       "message": f"{where}: {count} distinct real {kind_text} value(s) of column {source!r} found{inside} "
                                  f"({cells} occurrence(s))"}
            if rows is not None:
                finding["rows"] = [int(r) for r in np.asarray(rows)[group.index.to_numpy()][:_SHOWN_ROWS]]
            self.result.findings.append(finding)

    def row_hits(self, frame: pd.DataFrame) -> tuple[list[str], pd.Series, pd.Series] | str:
        """The learned columns compared, each synthetic row's hash on them and whether it reproduces a
        unique real row (or why no row can: too few columns, no unique real row)."""
        cols = [c for c in self.row_cols if c in frame.columns]
        if len(cols) < self.min_cols:
            return (f"only {len(cols)} learned column(s) shared with the real data; a row needs "
                    f"{self.min_cols}+ to single anyone out")
        identifying = self._identifying(tuple(cols))
        if len(identifying) == 0:
            return "no real row is unique with enough present values"
        hashes = pd.util.hash_pandas_object(row_frame(frame, cols, *self._types(cols)), index=False)
        return cols, hashes, hashes.isin(identifying)

    def _rows(self, where: str, frame: pd.DataFrame) -> None:
        found = self.row_hits(frame)
        if isinstance(found, str):
            self.result.skipped[f"real_row:{where}"] = found
            return
        cols, hashes, hit = found
        if not hit.any():
            return
        n_real = int(hashes[hit].nunique())
        rows = [int(i) for i in np.flatnonzero(hit.to_numpy())[:_SHOWN_ROWS]]
        self.result.findings.append({
            "kind": "real_row", "where": where, "column": None, "count": n_real, "occurrences": int(hit.sum()),
            "columns": len(cols), "rows": rows,
            "message": f"{where}: {int(hit.sum())} synthetic row(s) reproduce {n_real} unique real row(s) exactly "
                       f"on {len(cols)} learned columns (synthetic rows {rows})",
        })

    def _records(self, where: str, frame: pd.DataFrame, records: ReproducedEntities) -> None:
        hit = records(frame)
        if not hit.any():
            return
        self.result.findings.append({
            "kind": "real_record", "where": where, "column": None, "count": int(hit.sum()), "occurrences": int(hit.sum()),
            "columns": len(records.columns),
            "message": f"{where}: {int(hit.sum())} synthetic entit(y/ies) reproduce a unique real entity's whole record "
                       f"(every step, in order) on {len(records.columns)} learned columns",
        })

    def _types(self, cols: list[str]) -> tuple[dict[str, bool], dict[str, bool]]:
        numeric, dates = {}, {}
        for c in cols:
            dtype = self.real[c].dtype
            dates[c] = pd.api.types.is_datetime64_any_dtype(dtype) or self.meta.column(c).kind == "datetime"
            numeric[c] = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        return numeric, dates

    def _identifying(self, cols: tuple[str, ...]) -> pd.Index:
        """Hashes of real rows unique on ``cols`` with at least ``min_cols`` present values."""
        if cols not in self._real_rows:
            real = row_frame(self.real, list(cols), *self._types(list(cols)))
            hashes = pd.util.hash_pandas_object(real, index=False)
            counts = hashes.map(hashes.value_counts())
            present = self.real[list(cols)].notna().sum(axis=1).to_numpy() >= self.min_cols
            self._real_rows[cols] = pd.Index(hashes[(counts.to_numpy() == 1) & present].to_numpy())
        return self._real_rows[cols]


def _first_source(parts: list[pd.Series]) -> pd.Series:
    if not parts:
        return pd.Series([], dtype=object)
    joined = pd.concat(parts)
    return joined[~joined.index.duplicated()]


def _is_free_text(series: pd.Series) -> bool:
    """Object columns whose values are mostly several words (where values could hide inside)."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
        return False
    sample = series.dropna().iloc[:1000].astype(str)
    return bool(len(sample)) and float(sample.str.count(r"\s+").median()) >= 2


def _cell_tokens(series: pd.Series) -> pd.Series:
    tokens = series.dropna().astype(str).str.casefold().str.findall(TOKEN).explode().dropna().astype(str)
    tokens = tokens.str.strip(".-'’/+#")
    return tokens[tokens.str.len() > 0].reset_index(drop=True)
