"""Multi-table runs can write every synthetic table to a database, in one transaction."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from synthkit.datasets import load
from synthkit.errors import ConfigError, DataError
from synthkit.pipeline import multitable
from synthkit.pipeline.config import PipelineConfig, load_config


def _config(**sink: str) -> PipelineConfig:
    return PipelineConfig.model_validate({"name": "ehr", "source": {"dataset": "ehr"}, "model": {"name": "relational"},
                                          "sink": sink})


def _tables(url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            names = sqlalchemy.inspect(conn).get_table_names()
            return {n: conn.execute(sqlalchemy.text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one() for n in names}
    finally:
        engine.dispose()


def test_every_table_is_written_under_its_name_with_an_optional_prefix(tmp_path: Path):
    dataset = load("ehr")
    synthetic = {name: frame.head(20) for name, frame in dataset.tables.items()}  # stands in for a model's output
    url = f"sqlite:///{tmp_path / 'out.db'}"
    files = multitable.write_sink(_config(url=url, table="synthetic_"), synthetic, dataset, folder=None)
    assert _tables(url) == {f"synthetic_{name}": len(frame) for name, frame in synthetic.items()}
    assert set(files["sink_sql"].split(", ")) == {f"synthetic_{name}" for name in synthetic}
    back = pd.read_sql_table("synthetic_patients", f"sqlite:///{tmp_path / 'out.db'}")
    assert list(back.columns) == list(synthetic["patients"].columns)
    # without a prefix the tables keep their own names
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    multitable.write_sink(_config(url=plain), synthetic, dataset, folder=None)
    assert set(_tables(plain)) == set(synthetic)


def test_if_exists_fail_writes_nothing_when_one_table_exists(tmp_path: Path):
    dataset = load("ehr")
    synthetic = {name: frame.head(5) for name, frame in dataset.tables.items()}
    url = f"sqlite:///{tmp_path / 'out.db'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:  # one table of the run is already there
        conn.execute(sqlalchemy.text('CREATE TABLE "observations" (x INTEGER)'))
    engine.dispose()
    with pytest.raises(DataError, match="cannot write"):
        multitable.write_sink(_config(url=url, if_exists="fail"), synthetic, dataset, folder=None)
    assert _tables(url) == {"observations": 0}, "one transaction: no table of the run may be left behind"


def test_single_table_sql_sink_still_needs_a_table_name(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nsource: {dataset: adult}\nmodel: {name: copula}\nsink: {url: 'sqlite:///x.db'}\n")
    with pytest.raises(ConfigError, match="sink.table"):
        load_config(path)
    path.write_text("name: p\nsource: {dataset: ehr}\nmodel: {name: relational}\nsink: {url: 'sqlite:///x.db'}\n")
    assert load_config(path).sink.table is None
