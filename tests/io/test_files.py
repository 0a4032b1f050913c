"""Tabular files: sniffing, missing tokens, coercion report, formats, and clear errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import DataError
from synthkit.io import read, read_with_report, sniff_csv, write


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_semicolon_latin1_with_header_and_missing_tokens(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "name;city;score\nAndré;Zürich;1.5\nBea;?;NA\nCé;Köln;\n", "latin-1")
    df, report = read_with_report(path)
    assert report["sniffed"]["delimiter"] == ";"
    assert report["sniffed"]["encoding"] in ("cp1252", "latin-1")
    assert list(df.columns) == ["name", "city", "score"]
    assert df["name"].tolist() == ["André", "Bea", "Cé"]
    assert df["city"].isna().tolist() == [False, True, False]
    assert df["score"].isna().sum() == 2 and df["score"].iloc[0] == 1.5


def test_semicolon_file_with_decimal_commas_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_bytes("\ufeffpreis;menge;note\n1,5;2;a\n3,25;4;b\n".encode())
    df, report = read_with_report(path)
    assert report["sniffed"]["encoding"] == "utf-8-sig" and report["sniffed"]["decimal"] == ","
    assert list(df.columns) == ["preis", "menge", "note"] and df["preis"].tolist() == [1.5, 3.25]


def test_headerless_file_gets_generated_names(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.data", "39, State-gov, 77516\n50, Self-emp, 83311\n38, ?, 215646\n")
    assert sniff_csv(path)["header"] is False
    df = read(path)
    assert list(df.columns) == ["column_1", "column_2", "column_3"]
    assert df["column_2"].isna().sum() == 1 and df["column_1"].dtype.kind == "i"
    named = read(path, header=False, names=["age", "workclass", "fnlwgt"])
    assert list(named.columns) == ["age", "workclass", "fnlwgt"]


def test_tsv_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("a\tb\n1\tx\n2\ty\n")
    df = read(path)
    assert df.shape == (2, 2) and df["a"].tolist() == [1, 2]
    # gzip detected by content even when the name does not say so
    plain = tmp_path / "y.csv"
    plain.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert read(plain).shape == (1, 2)


def test_coercions_are_applied_and_reported(tmp_path: Path) -> None:
    text = (
        "amount,flag,when,us_date,code,month\n"
        '"1,234.5",yes,2020-01-31,12/31/2020,250.8,Jan 1 2000\n'
        '"12",no,2020-02-01,01/02/2021,V57,Feb 1 2000\n'
        '"3,000",Y,2020-03-15T10:00:00,02/13/2021,401,Mar 1 2000\n'
    )
    df, report = read_with_report(_write(tmp_path / "x.csv", text))
    assert df["amount"].tolist() == [1234.5, 12.0, 3000.0]
    assert df["flag"].tolist() == [True, False, True] and df["flag"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(df["when"])
    assert df["us_date"].iloc[2] == pd.Timestamp("2021-02-13")
    assert df["month"].iloc[1] == pd.Timestamp("2000-02-01")
    assert df["code"].dtype == object  # mixed numbers/codes are kept as text
    kinds = {c["column"]: c["to"] for c in report["coercions"]}
    assert kinds == {"amount": "numerical", "flag": "boolean", "when": "datetime", "us_date": "datetime",
                     "code": "mixed", "month": "datetime"}
    assert df.attrs["coercions"]["coercions"] == report["coercions"]


def test_codes_with_leading_zeros_stay_text(tmp_path: Path) -> None:
    df = read(_write(tmp_path / "z.csv", "zip,n\n02134,1\n90210,2\n"))
    assert df["zip"].tolist() == ["02134", "90210"] and df["n"].tolist() == [1, 2]


def test_mixed_utc_offsets_become_utc(tmp_path: Path) -> None:
    df = read(_write(tmp_path / "tz.csv", "t\n2020-01-01T00:00:00+01:00\n2020-06-01T00:00:00+02:00\n"))
    assert str(df["t"].dtype) == "datetime64[ns, UTC]" and df["t"].iloc[0] == pd.Timestamp("2019-12-31T23:00Z")


def test_mixed_column_policies(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "a,b\n1,2\n2,oops\n3,4\n")
    with pytest.raises(DataError, match=r"x\.csv.*column 'b' mixes numbers"):
        read(path, on_mixed="error")
    coerced = read(path, on_mixed="coerce")
    assert coerced["b"].isna().tolist() == [False, True, False]
    assert read(path)["b"].tolist() == ["2", "oops", "4"]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv.gz", "json"])
def test_write_read_round_trip(tmp_path: Path, fmt: str) -> None:
    df = pd.DataFrame({
        "x": [1.5, np.nan, 3.0], "n": [1, 2, 3], "c": ["a", np.nan, "c"], "b": [True, False, True],
        "d": pd.to_datetime(["2020-01-01", "2021-06-30", "2022-12-31"]),
    })
    path = write(df, tmp_path / f"t.{fmt}")
    back = read(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False, check_datetimelike_compat=True)
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write left no temporary file


def test_arff_nominal_and_missing(shared_datasets: Path) -> None:
    df = read(shared_datasets / "survival" / "sksurv_flchain.arff")
    assert df.shape == (7874, 11)
    assert isinstance(df["sex"].dtype, pd.CategoricalDtype) and set(df["sex"].cat.categories) == {"F", "M"}
    assert df["chapter"].isna().sum() > 0  # '?' read as missing
    assert df["age"].dtype == float


def test_arff_written_by_hand(tmp_path: Path) -> None:
    text = "@relation t\n@attribute a numeric\n@attribute g {x,y}\n@data\n1,x\n?,y\n3,?\n"
    df = read(_write(tmp_path / "t.arff", text))
    assert df["a"].isna().tolist() == [False, True, False]
    assert df["g"].astype(object).tolist()[:2] == ["x", "y"] and pd.isna(df["g"].iloc[2])


def test_bad_inputs_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is empty"):
        read(_write(tmp_path / "empty.csv", ""))
    with pytest.raises(DataError, match="no data rows"):
        read(_write(tmp_path / "header.csv", "a,b,c\n"))
    with pytest.raises(DataError, match=r"dup\.csv has duplicate column names: \['a'\]"):
        read(_write(tmp_path / "dup.csv", "a,b,a\n1,2,3\n"))
    semi = _write(tmp_path / "semi.csv", "a;b;c\n1;2;3\n4;5;6\n")
    with pytest.raises(DataError, match=r"semi\.csv has a single column.*delimited by ';'"):
        read(semi, delimiter=",")
    with pytest.raises(DataError, match="unknown encoding 'klingon-8'"):
        read(semi, encoding="klingon-8")
    latin = _write(tmp_path / "latin.csv", "a,b\nà,1\n", "latin-1")
    with pytest.raises(DataError, match=r"latin\.csv is not valid utf-8"):
        read(latin, encoding="utf-8")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"cannot read .*broken\.parquet"):
        read(broken)
    with pytest.raises(DataError, match="cannot parse ARFF"):
        read(_write(tmp_path / "bad.arff", "@relation t\n@attribute a strange\n@data\n1\n"))
    with pytest.raises(DataError, match="cannot tell the format"):
        read(_write(tmp_path / "x.weird", "a\n1\n"))
    gz = tmp_path / "trunc.csv.gz"
    rows = "".join(f"{i},{i * 7919 % 10007}\n" for i in range(20000)).encode()
    blob = gzip.compress(b"a,b\n" + rows)
    gz.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"trunc\.csv\.gz"):
        read(gz)


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"image\.csv is a binary file"):
        read(path)
