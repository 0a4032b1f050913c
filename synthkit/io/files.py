"""Tabular files: CSV/TSV (sniffed), Parquet, JSON lines, JSON records, ARFF; gzip or not.

Reading sniffs what a person would look at (encoding, delimiter, header line), treats ``?``, empty
and ``NA`` as missing, rejects duplicate column names, and then coerces text columns that really
hold numbers, booleans or dates (:mod:`synthkit.io.coerce`), recording everything in a
:class:`~synthkit.io.coerce.CoercionReport`. Writing is atomic.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import logging
import lzma
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow

from synthkit.errors import DataError
from synthkit.io.arff import read_arff
from synthkit.io.coerce import MISSING_TOKENS, CoercionReport, MixedPolicy, coerce_frame
from synthkit.utils.atomic import atomic_path

__all__ = ["FILE_FORMATS", "detect_format", "read_file", "sniff_csv", "write_file"]

log = logging.getLogger(__name__)

FILE_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".data": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
    ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".arff": "arff",
}
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}
_DELIMITERS = [",", "\t", ";", "|", " "]
_SAMPLE_BYTES = 1 << 16


def detect_format(path: str | Path) -> str:
    """File format from the name (``x.csv.gz`` is ``csv``)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    if suffixes and suffixes[-1] in FILE_FORMATS:
        return FILE_FORMATS[suffixes[-1]]
    raise DataError(f"cannot tell the format of {path}; name it .csv/.tsv/.parquet/.jsonl/.json/.arff or pass format=")


def _compression(path: Path) -> str | None:
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic[:2] == b"\x1f\x8b":
        return "gzip"
    if magic[:3] == b"BZh":
        return "bz2"
    if magic[:6] == b"\xfd7zXZ\x00":
        return "xz"
    return None


def _open_binary(path: Path) -> io.BufferedIOBase:
    comp = _compression(path)
    opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(comp or "", open)
    return opener(path, "rb")  # type: ignore[return-value]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a file")
    if path.stat().st_size == 0:
        raise DataError(f"file {path} is empty")


def _sniff_encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        raw[: max(0, len(raw) - 4)].decode("utf-8") if len(raw) == _SAMPLE_BYTES else raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def sniff_csv(path: str | Path, encoding: str | None = None) -> dict[str, Any]:
    """Guess ``encoding``, ``delimiter`` and ``header`` (bool) of a delimited text file."""
    path = Path(path)
    try:
        with _open_binary(path) as fh:
            raw = fh.read(_SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if not raw.strip():
        raise DataError(f"file {path} is empty")
    if b"\x00" in raw and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(f"{path} is a binary file, not delimited text (pass format= if it is Parquet or similar)")
    enc = encoding or _sniff_encoding(raw)
    text = raw.decode(enc, errors="replace")
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    if len(raw) == _SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off mid-record
    delimiter = _sniff_delimiter(lines)
    rows = list(csv.reader(lines[:200], delimiter=delimiter, skipinitialspace=True))
    return {"encoding": enc, "delimiter": delimiter, "header": _has_header(rows)}


def _sniff_delimiter(lines: list[str]) -> str:
    best, best_fields = ",", 1
    for delim in _DELIMITERS:
        counts = [len(r) for r in csv.reader(lines[:100], delimiter=delim, skipinitialspace=True)]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode > 1 and freq / len(counts) >= 0.9 and (mode > best_fields and (delim != " " or best_fields == 1)):
            best, best_fields = delim, mode
    return best


def _numeric(token: str) -> bool:
    try:
        float(token.replace(",", ""))
        return True
    except ValueError:
        return False


def _has_header(rows: list[list[str]]) -> bool:
    """A header row holds no numbers and its values do not recur below it."""
    if not rows:
        return False
    first, rest = [c.strip() for c in rows[0]], rows[1:]
    named = [c for c in first if c]  # an unnamed column (R's row names, a blank in "a,,c") is still a header
    if len(named) * 2 < len(first) or any(_numeric(c) for c in named):
        return False
    if not rest:
        return True
    for i, name in enumerate(first):
        column = [r[i].strip() for r in rest if len(r) > i]
        if name and any(_numeric(v) for v in column if v):
            return True
        if name and name in column:
            return False
    return True


def read_file(
    path: str | Path,
    *,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    header: bool | None = None,
    na_values: list[str] | None = None,
    nrows: int | None = None,
    on_mixed: MixedPolicy = "keep",
    parse_dates: bool = True,
    allow_empty: bool = False,
    **pandas_opts: Any,
) -> tuple[pd.DataFrame, CoercionReport]:
    """Read one tabular file into a DataFrame plus the report of what was sniffed and coerced."""
    path = Path(path)
    _check_file(path)
    fmt = (format or detect_format(path)).lower()
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(f"unknown encoding {encoding!r} for {path}") from None
    report = CoercionReport(source=str(path), sniffed={"format": fmt})
    if fmt in ("csv", "tsv"):
        df = _read_delimited(path, fmt, delimiter, encoding, header, na_values, nrows, report, dict(pandas_opts))
    elif fmt == "parquet":
        df = _guard(path, lambda: pd.read_parquet(path, **pandas_opts))
    elif fmt == "jsonl":
        df = _guard(path, lambda: pd.read_json(path, lines=True, nrows=nrows, dtype=False, **pandas_opts))
    elif fmt == "json":
        df = _guard(path, lambda: pd.read_json(path, orient=pandas_opts.pop("orient", "records"), dtype=False, **pandas_opts))
    elif fmt == "arff":
        df = read_arff(path)
    else:
        raise DataError(f"unsupported file format {fmt!r} for {path}")
    if nrows is not None and fmt not in ("csv", "tsv", "jsonl"):
        df = df.iloc[:nrows]
    df.columns = [str(c).strip() for c in df.columns]
    _check_columns(df, path)
    if len(df) == 0 and not allow_empty:
        raise DataError(f"{path} holds no data rows (only a header); an empty table cannot be profiled or learned")
    forced = pandas_opts.get("dtype")
    skip = {c for c, t in forced.items() if t in (str, "str", object, "object", "string")} if isinstance(forced, dict) else set()
    df = coerce_frame(df, report, on_mixed=on_mixed, parse_dates=parse_dates, skip=skip, native=fmt in ("csv", "tsv"))
    df.attrs["coercions"] = report.to_dict()
    return df.reset_index(drop=True), report


def _guard(path: Path, fn: Any) -> pd.DataFrame:
    try:
        return fn()
    except (ValueError, OSError, EOFError, TypeError) as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0][:200]}") from None
    except ImportError as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    except _arrow_errors() as exc:  # pyarrow raises its own exception types for corrupt files
        raise DataError(f"cannot read {path}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None


def _arrow_errors() -> tuple[type[BaseException], ...]:
    try:
        return (pyarrow.ArrowException,)
    except ImportError:
        return ()


def _read_delimited(
    path: Path, fmt: str, delimiter: str | None, encoding: str | None, header: bool | None,
    na_values: list[str] | None, nrows: int | None, report: CoercionReport, opts: dict[str, Any],
) -> pd.DataFrame:
    sniffed = sniff_csv(path, encoding)
    delim = delimiter or opts.pop("sep", None) or ("\t" if fmt == "tsv" and not delimiter else sniffed["delimiter"])
    has_header = sniffed["header"] if header is None else bool(header)
    enc = encoding or sniffed["encoding"]
    report.sniffed.update({"encoding": enc, "delimiter": delim, "header": has_header})
    header_names = _check_header(path, enc, delim) if has_header else []
    kwargs: dict[str, Any] = {
        "sep": delim, "header": 0 if has_header else None, "na_values": MISSING_TOKENS + list(na_values or []),
        "keep_default_na": False, "skipinitialspace": True, "nrows": nrows, "low_memory": False,
        "compression": _compression(path), "encoding_errors": "strict",
    }
    if delim == ";" and "decimal" not in opts:
        report.sniffed["decimal"] = ","  # semicolon files are the European convention: 1,5 means 1.5
    # Everything is read as text and typed by coerce_frame, so leading zeros ("02134") and the
    # coercion report survive; a caller's dtype= still wins for the columns it names.
    user_dtype = opts.pop("dtype", None)
    if isinstance(user_dtype, dict):
        kwargs["dtype"] = defaultdict(lambda: str, user_dtype)
    else:
        kwargs["dtype"] = str if user_dtype is None else user_dtype
    kwargs.update(opts)
    if delim == " ":
        kwargs["skipinitialspace"] = True
    df = None
    for enc_try in ([enc] if encoding else [enc, "cp1252", "latin-1"]):
        try:
            df = pd.read_csv(path, encoding=enc_try, **kwargs)
            if enc_try != enc:
                log.warning("%s is not %s; read as %s", path, enc, enc_try)
                report.sniffed["encoding"] = enc_try
            break
        except UnicodeDecodeError as exc:
            if encoding:
                raise DataError(f"{path} is not valid {encoding}: {exc.reason} at byte {exc.start}") from None
        except pd.errors.EmptyDataError:
            raise DataError(f"file {path} is empty") from None
        except (pd.errors.ParserError, ValueError, OSError, EOFError) as exc:
            raise DataError(f"cannot parse {path} as delimited text (delimiter {delim!r}): {str(exc).strip()[:200]}") from None
        except TypeError as exc:  # an unknown reader option, e.g. a typo in a pipeline's source.options
            raise DataError(f"invalid reader option for {path}: {str(exc).splitlines()[0][:200]}") from None
    if df is None:
        raise DataError(f"cannot decode {path} with any known encoding; pass encoding=")
    if not has_header and "names" not in opts:
        df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]
    elif "names" not in opts:
        _name_unnamed(df, header_names, path)
    if df.shape[1] == 1 and delimiter and sniffed["delimiter"] != delim:
        raise DataError(
            f"{path} has a single column with delimiter {delim!r}; it looks delimited by "
            f"{sniffed['delimiter']!r} (pass delimiter={sniffed['delimiter']!r} or leave it out)"
        )
    return df


def _name_unnamed(df: pd.DataFrame, header: list[str], path: Path) -> None:
    """Columns the header leaves blank are named by position (``column_2``), not pandas' ``Unnamed: 1``."""
    blank = [i for i, name in enumerate(header[: df.shape[1]]) if not name]
    if not blank:
        return
    taken = set(map(str, df.columns))
    names = list(df.columns)
    for i in blank:
        name = f"column_{i + 1}"
        while name in taken:
            name += "_"
        names[i] = name
        taken.add(name)
    log.warning("%s: the header names no column at position(s) %s; named %s", path, [i + 1 for i in blank],
                [names[i] for i in blank])
    df.columns = names


def _check_header(path: Path, encoding: str, delim: str) -> list[str]:
    with _open_binary(path) as fh:
        first = fh.readline().decode(encoding, errors="replace")
    first = first.splitlines()[0] if first.strip() else ""  # old Mac files end lines with a bare \r
    names = [n.strip() for n in next(csv.reader([first], delimiter=delim, skipinitialspace=True), [])]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        raise DataError(f"{path} has duplicate column names: {dupes}; rename them so each column is unique")
    return names


def _check_columns(df: pd.DataFrame, path: Path) -> None:
    names = list(df.columns)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"{path} has duplicate column names: {dupes}")


def write_file(df: pd.DataFrame, path: str | Path, *, format: str | None = None) -> Path:
    """Write ``df`` atomically; the format (and gzip) follow the file name unless ``format`` is given."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame to write, got {type(df).__name__}")
    path = Path(path)
    fmt = (format or detect_format(path)).lower()
    compression = next((c for s, c in _COMPRESSION.items() if path.name.lower().endswith(s)), None)
    with atomic_path(path) as tmp:
        if fmt in ("csv", "tsv"):
            df.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",", compression=compression)
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False)
        elif fmt == "jsonl":
            df.to_json(tmp, orient="records", lines=True, date_format="iso", compression=compression)
        elif fmt == "json":
            df.to_json(tmp, orient="records", date_format="iso", indent=1, compression=compression)
        else:
            raise DataError(f"cannot write format {fmt!r} ({path}); use csv, tsv, parquet, jsonl or json")
    return path
