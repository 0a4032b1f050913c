"""Generated inputs: random awkward tables, CSV bytes and pipeline YAML.

Each generated example is one corpus case (counted in the summary): it works or raises a clear
synthkit error. Few examples and no deadline keep CI fast and free of timing flakes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthkit.io import read
from synthkit.models import create
from synthkit.pipeline.config import load_config
from synthkit.profile import profile

from .conftest import attempt

FAST = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

names = st.one_of(
    st.text(min_size=0, max_size=12),
    st.sampled_from([" ", "\t", "a b", "Ünï", "名前", "🙂", "x.y", 'q"uote', "select", "__synthkit_missing__"]),
)
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
texts = st.text(max_size=8)
dates = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(2900, 1, 1))
# real-world zones (IANA names and fixed offsets); exotic zoneinfo keys such as "posix/UTC" are in PENDING.md
zones = st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "Asia/Kathmandu"]).map(
    __import__("zoneinfo").ZoneInfo) | st.just(dt.timezone(dt.timedelta(hours=-3, minutes=-30)))
aware = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=zones)
cells = st.one_of(floats, ints, texts, st.booleans(), st.none(), dates, aware)


@st.composite
def columns(draw: st.DrawFn, n: int) -> list:
    kind = draw(st.sampled_from(["float", "int", "text", "bool", "date", "aware", "mixed", "constant", "null"]))
    element = {"float": floats, "int": ints, "text": texts, "bool": st.booleans(), "date": dates, "aware": aware,
               "mixed": cells, "constant": st.just(draw(cells)), "null": st.none()}[kind]
    return draw(st.lists(st.one_of(element, st.none()) if kind != "null" else element, min_size=n, max_size=n))


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n_rows = draw(st.integers(min_value=0, max_value=12))
    n_cols = draw(st.integers(min_value=1, max_value=4))
    data = {}
    for i in range(n_cols):
        name = draw(names)
        data[name if name not in data else f"{name}_{i}"] = draw(columns(n_rows))
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()}).infer_objects()


def _fit_sample(df: pd.DataFrame) -> pd.DataFrame:
    out = create("copula", n_quantiles=11).fit(df).sample(7, seed=0)
    assert list(out.columns) == [str(c) for c in df.columns] and len(out) == 7
    return out


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(frames())
def test_generated_tables_profile_fit_sample(df):
    attempt("profile", lambda: profile(df))
    attempt("fit", lambda: _fit_sample(df))


csv_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(st.lists(st.text(alphabet=st.characters(codec="latin-1"), max_size=6), min_size=0, max_size=5), max_size=8).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode("latin-1")),
    st.lists(st.lists(st.one_of(st.integers(), st.floats(), st.sampled_from(["", "?", "NA", "1,234", "yes", '"q"'])),
                      min_size=1, max_size=4), min_size=1, max_size=8).map(
        lambda rows: ("a,b,c,d\n" + "\n".join(",".join(map(str, r)) for r in rows)).encode()),
)


@FAST
@given(csv_bytes, st.sampled_from(["data.csv", "data.tsv", "data.csv.gz", "data.parquet", "data.jsonl"]))
def test_generated_files_read(tmp_path_factory, content, filename):
    path = Path(tmp_path_factory.mktemp("h")) / filename
    path.write_bytes(content)
    result = attempt("read", lambda: read(path), words=(filename, "empty", "no data"))
    if isinstance(result, pd.DataFrame):
        assert not result.columns.duplicated().any()


yaml_text = st.one_of(
    st.text(max_size=80),
    st.builds(lambda k, v: f"name: t\nsource: {{dataset: adult}}\n{k}: {v}\n",
              st.sampled_from(["model", "sample", "evaluate", "gates", "holdout", "report", "sink", "seed", "extra"]),
              st.one_of(st.text(max_size=10), st.integers().map(str), st.just("[1, {a: b}]"), st.just("{rows: -1}"))),
)


@FAST
@given(yaml_text)
def test_generated_yaml_is_validated(tmp_path_factory, text):
    path = Path(tmp_path_factory.mktemp("y")) / "p.yaml"
    path.write_text(text, encoding="utf-8")
    attempt("run", lambda: load_config(path), words=("p.yaml", "--set"))


def test_generated_sample_sizes():
    model = create("copula", n_quantiles=11).fit(pd.DataFrame({"x": np.arange(20.0), "g": list("ab") * 10}))

    @FAST
    @given(st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.text(max_size=3), st.none()))
    def check(n):
        small = isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 50_000
        out = attempt("sample", lambda: model.sample(n, seed=0) if small or not isinstance(n, int) or n <= 0 or n > 10**9
                      else "skipped: valid but large", words=("number of rows", "whole number", "positive", "exceeds"))
        if isinstance(out, pd.DataFrame):
            assert len(out) == int(n)

    check()
