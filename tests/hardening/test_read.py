"""Hand-picked bad files through ``synthkit.io.read``: works, or a DataError naming the file/problem."""

from __future__ import annotations

from collections.abc import Callable

import bz2
import gzip
import io
import lzma
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import read, write

from .conftest import attempt

GOOD = "age,name,score\n31,Ann,1.5\n45,Bob,2.5\n28,Cy,3.0\n"


def _parquet_bytes() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"a": np.arange(200), "b": ["x"] * 200}).to_parquet(buf, index=False)
    return buf.getvalue()


# name -> (file name, content bytes, expect, words a failure message must contain)
FILES: dict[str, tuple[str, bytes, str, tuple[str, ...]]] = {
    "empty_file": ("empty.csv", b"", "error", ("empty",)),
    "only_newlines": ("blank.csv", b"\n\n\n", "error", ("empty",)),
    "only_spaces": ("spaces.csv", b"   \n  \n", "error", ("empty", "spaces.csv")),
    "header_only": ("header.csv", b"a,b,c\n", "error", ("no data rows", "empty")),
    "one_row": ("one.csv", b"a,b\n1,x\n", "ok", ()),
    "one_column": ("col.csv", b"value\n1\n2\n3\n", "ok", ()),
    "one_cell_no_header": ("cell.csv", b"42\n", "any", ("cell.csv",)),
    "ragged_more_fields": ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n7,8\n", "any", ("ragged.csv",)),
    "ragged_fewer_fields": ("short.csv", b"a,b,c\n1,2,3\n4\n5,6\n", "ok", ()),  # short rows: missing cells
    "bom_utf8": ("bom.csv", b"\xef\xbb\xbf" + GOOD.encode(), "ok", ()),
    "bom_semicolon": ("bom_semi.csv", b"\xef\xbb\xbfa;b\n1;2\n3;4\n", "ok", ()),
    "utf16_bom": ("u16.csv", GOOD.encode("utf-16"), "ok", ()),
    "latin1": ("latin1.csv", "name,city\nJosé,Zürich\nRenée,Köln\n".encode("latin-1"), "ok", ()),
    "cp1252_quotes": ("cp1252.csv", "q,v\n“quoted”,1\n–dash,2\n".encode("cp1252"), "ok", ()),
    "mixed_newlines": ("nl.csv", b"a,b\r\n1,2\r3,4\n5,6\r\n", "ok", ()),
    "cr_only": ("cr.csv", b"a,b\r1,2\r3,4\r", "ok", ()),
    "binary_garbage": ("garbage.csv", bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "any", ("garbage.csv",)),
    "nul_bytes": ("nul.csv", b"a,b\n1,\x00\n2,x\x00y\n", "any", ("nul.csv",)),
    "unclosed_quote": ("quote.csv", b'a,b\n1,"unclosed\n2,3\n', "any", ("quote.csv",)),
    "quoted_newline": ("qnl.csv", b'a,b\n1,"two\nlines"\n3,"x"\n', "ok", ()),
    "duplicate_header": ("dup.csv", b"a,a,b\n1,2,3\n4,5,6\n", "error", ("duplicate",)),
    "empty_header_name": ("noname.csv", b"a,,c\n1,2,3\n4,5,6\n", "any", ("noname.csv",)),
    "whitespace_header": ("ws.csv", b" a , b ,\tc\n1,2,3\n", "ok", ()),
    "unicode_header": ("uni.csv", "名前,年齢,🙂\nA,1,x\nB,2,y\n".encode(), "ok", ()),
    "all_missing_tokens": ("na.csv", b"a,b\n?,NA\n,null\n", "ok", ()),
    "numbers_with_commas": ("commas.csv", b'amount,n\n"1,234",1\n"12,345.50",2\n"999",3\n', "ok", ()),
    "booleans_as_strings": ("bools.csv", b"flag,v\nyes,1\nno,2\nYES,3\n", "ok", ()),
    "mixed_types_column": ("mixed.csv", b"v\n1\ntwo\n3.5\n\n", "ok", ()),
    "dates_before_1900": ("old.csv", b"born,v\n1850-01-01,1\n1066-10-14,2\n1899-12-31,3\n", "ok", ()),
    "dates_mixed_tz": ("tz.csv", b"when,v\n2020-01-01T00:00:00Z,1\n2020-01-02 10:00,2\n2020-03-01T00:00:00+05:30,3\n", "ok", ()),
    "int64_extremes": ("ext.csv", b"v\n9223372036854775807\n-9223372036854775808\n0\n", "ok", ()),
    "beyond_int64": ("huge.csv", b"v\n99999999999999999999999\n1\n", "ok", ()),
    "inf_text": ("inf.csv", b"v\ninf\n-inf\n1\nnan\n", "ok", ()),
    "long_line": ("long.csv", b"a,b\n" + b"x" * 1_000_000 + b",1\n", "ok", ()),
    "tsv_named_csv": ("tabs.csv", b"a\tb\n1\t2\n3\t4\n", "ok", ()),
    "tsv_with_commas": ("t.tsv", b"a\tb\n1,5\t2\n3\t4,5\n", "ok", ()),
    "gzip_csv": ("z.csv.gz", gzip.compress(GOOD.encode()), "ok", ()),
    "gzip_truncated": ("cut.csv.gz", gzip.compress((GOOD * 500).encode())[:-12], "error", ("cut.csv.gz", "end-of-stream")),  # no trailer (the old [:300] was the whole file)
    "gz_name_plain_text": ("plain.csv.gz", GOOD.encode(), "ok", ()),
    "bz2_csv": ("b.csv.bz2", bz2.compress(GOOD.encode()), "ok", ()),
    "xz_csv": ("x.csv.xz", lzma.compress(GOOD.encode()), "ok", ()),
    "parquet_ok": ("ok.parquet", _parquet_bytes(), "ok", ()),
    "parquet_truncated": ("cut.parquet", _parquet_bytes()[:-40], "error", ("cut.parquet",)),
    "parquet_half": ("half.parquet", _parquet_bytes()[: len(_parquet_bytes()) // 2], "error", ("half.parquet",)),
    "parquet_garbage": ("junk.parquet", b"PAR1" + b"\x00" * 100, "error", ("junk.parquet",)),
    "parquet_is_csv": ("csv.parquet", GOOD.encode(), "error", ("csv.parquet",)),
    "jsonl_ok": ("ok.jsonl", b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n', "ok", ()),
    "jsonl_broken_line": ("bad.jsonl", b'{"a": 1}\n{"a": \n{"a": 3}\n', "error", ("bad.jsonl",)),
    "jsonl_nested": ("nested.jsonl", b'{"a": {"b": [1, 2]}}\n{"a": {"b": []}}\n', "any", ("nested.jsonl",)),
    "json_scalar": ("scalar.json", b"42", "any", ("scalar.json",)),
    "json_object": ("obj.json", b'{"a": [1, 2], "b": [3, 4]}', "ok", ()),
    "json_truncated": ("cut.json", b'[{"a": 1}, {"a": ', "error", ("cut.json",)),
    "arff_ok": ("ok.arff", b"@relation r\n@attribute a numeric\n@attribute b {x,y}\n@data\n1,x\n2,y\n", "ok", ()),
    "arff_broken": ("bad.arff", b"@relation r\n@attribute a numeric\n@data\n1,2,3\nzz\n", "any", ("bad.arff",)),
    "arff_no_data": ("nodata.arff", b"@relation r\n@attribute a numeric\n", "error", ("nodata.arff", "no data", "empty")),
    "unknown_extension": ("data.xlsx", b"PK\x03\x04", "error", ("format", "data.xlsx")),
    "no_extension": ("datafile", GOOD.encode(), "error", ("format", "datafile")),
    "sqlite_named_csv": ("db.csv", b"SQLite format 3\x00" + b"\x00" * 200, "any", ("db.csv",)),
}


@pytest.mark.parametrize("name", list(FILES))
def test_read_file(name, tmp_path):
    filename, content, expect, words = FILES[name]
    path = tmp_path / filename
    path.write_bytes(content)
    result = attempt("read", lambda: read(path), expect=expect, words=words, error=DataError)
    if isinstance(result, pd.DataFrame):
        assert result.shape[0] >= 1 and result.shape[1] >= 1
        assert not result.columns.duplicated().any()
    if name in EXPECTED:  # valid input: the values a person sees in the file, typed
        pd.testing.assert_frame_equal(result, EXPECTED[name]())


def _good() -> pd.DataFrame:
    return pd.DataFrame({"age": [31, 45, 28], "name": ["Ann", "Bob", "Cy"], "score": [1.5, 2.5, 3.0]})


def _frame(**columns: list) -> Callable[[], pd.DataFrame]:
    return lambda: pd.DataFrame(columns)


EXPECTED: dict[str, Callable[[], pd.DataFrame]] = {
    **dict.fromkeys(["bom_utf8", "utf16_bom", "gzip_csv", "gz_name_plain_text", "bz2_csv", "xz_csv"], _good),
    "one_row": _frame(a=[1], b=["x"]),
    "ragged_fewer_fields": _frame(a=[1, 4, 5], b=[2.0, np.nan, 6.0], c=[3.0, np.nan, np.nan]),
    "bom_semicolon": _frame(a=[1, 3], b=[2, 4]),
    "latin1": _frame(name=["José", "Renée"], city=["Zürich", "Köln"]),
    "mixed_newlines": _frame(a=[1, 3, 5], b=[2, 4, 6]),
    "cr_only": _frame(a=[1, 3], b=[2, 4]),
    "whitespace_header": _frame(a=[1], b=[2], c=[3]),
    "all_missing_tokens": _frame(a=pd.Series([np.nan] * 2, dtype=object), b=pd.Series([np.nan] * 2, dtype=object)),
    "numbers_with_commas": _frame(amount=[1234.0, 12345.5, 999.0], n=[1, 2, 3]),
    "booleans_as_strings": _frame(flag=[True, False, True], v=[1, 2, 3]),
    "dates_mixed_tz": _frame(when=pd.to_datetime(["2020-01-01T00:00:00Z", "2020-01-02T10:00:00Z", "2020-02-29T18:30:00Z"]), v=[1, 2, 3]),
    "int64_extremes": _frame(v=[np.iinfo(np.int64).max, np.iinfo(np.int64).min, 0]),
    "tsv_named_csv": _frame(a=[1, 3], b=[2, 4]),
    "json_object": _frame(a=[1, 2], b=[3, 4]),
}


SPECIAL: dict[str, tuple[object, str, tuple[str, ...]]] = {
    "missing_file": ("no/such/file.csv", "error", ("not found",)),
    "folder_without_tables": ("__EMPTY_DIR__", "error", ("no readable",)),
    "none_source": (None, "error", ("None", "source", "path")),
    "integer_source": (123, "error", ("123", "source", "path")),
    "bad_url": ("nosuch+driver://x/y", "error", ("url", "nosuch")),
    "http_url": ("http://example.com/data.csv", "error", ("url", "http")),
    "sqlite_missing_db": ("sqlite:///no/such.db", "error", ("not found",)),
}


@pytest.mark.parametrize("name", list(SPECIAL))
def test_read_special_source(name, tmp_path):
    source, expect, words = SPECIAL[name]
    if source == "__EMPTY_DIR__":
        source = tmp_path / "empty"
        source.mkdir()
    attempt("read", lambda: read(source), expect=expect, words=words, error=DataError)


@pytest.mark.parametrize("table", ['x"; DROP TABLE people; --', "Robert'); DROP TABLE people;--", "名前 with space", "select"])
def test_sql_identifiers_are_quoted(table, tmp_path):
    """Hostile table/column names round-trip as names; they never run as SQL."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    people = pd.DataFrame({"name": ["a", "b"], 'col"; DROP TABLE people; --': [1, 2]})
    write(people, url, table="people")

    def round_trip() -> pd.DataFrame:
        write(people, url, table=table)
        return read(url, table=table)

    back = attempt("read", round_trip, expect="ok")
    assert list(back.columns) == list(people.columns)
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        names = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"people", table} <= names


def test_sql_query_parameters_are_bound(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    write(pd.DataFrame({"name": ["a", "b"], "v": [1, 2]}), url, table="t")
    found = attempt("read", lambda: read(url, query="select * from t where name = :n", params={"n": "x' OR '1'='1"}, allow_empty=True))
    assert len(found) == 0
    attempt("read", lambda: read(url, table="no such table"), expect="error", words=("not found",), error=DataError)
    attempt("read", lambda: read(url, query="selec broken sql"), expect="error", words=("cannot read",), error=DataError)


def test_read_directory_with_mixed_files(tmp_path):
    (tmp_path / "a.csv").write_text(GOOD)
    (tmp_path / "b.parquet").write_bytes(_parquet_bytes()[:50])
    attempt("read", lambda: read(tmp_path), expect="error", words=("b.parquet",), error=DataError)


def test_unreadable_path_is_a_clear_error(tmp_path):
    target = Path(tmp_path / "loop.csv")
    target.symlink_to(target)
    attempt("read", lambda: read(target), expect="error", words=("loop.csv",), error=DataError)


@pytest.mark.parametrize("header, expected", [
    ("a,,c", ["a", "column_2", "c"]),  # a blank in the middle: still the header, not a data row
    (",x,y", ["column_1", "x", "y"]),  # R's unnamed row-name column
])
def test_blank_header_names_are_named_by_position(header, expected, tmp_path):
    path = tmp_path / "blank_header.csv"
    path.write_text(f"{header}\n1,2,3\n4,5,6\n")
    df = read(path)
    assert list(df.columns) == expected
    assert len(df) == 2
    assert df.iloc[:, 1].tolist() == [2, 5]
