"""Multi-table runs can write every synthetic table to a database, in one transaction."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from synthkit.datasets import load
from synthkit.errors import ConfigError
from synthkit.models.relational import RelationalSynthesizer
from synthkit.pipeline.config import PipelineConfig, load_config
from synthkit.pipeline.outputs import RunFolder
from synthkit.pipeline.stages import RunContext, sink


def _config(**sink: str) -> PipelineConfig:
    return PipelineConfig.model_validate({"name": "ehr", "source": {"dataset": "ehr"}, "model": {"name": "relational"},
                                          "sink": sink})


def _sink(cfg: PipelineConfig, synthetic: dict[str, pd.DataFrame], tmp_path: Path) -> RunContext:
    """The pipeline's sink stage over a run context holding ``synthetic`` (a model's output)."""
    ctx = RunContext(cfg, RunFolder(tmp_path / "run"), RelationalSynthesizer, synthetic=synthetic)
    sink(ctx)
    return ctx


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
    ctx = _sink(_config(url=url, table="synthetic_"), synthetic, tmp_path)
    assert _tables(url) == {f"synthetic_{name}": len(frame) for name, frame in synthetic.items()}
    assert set(ctx.files["sink_sql"].split(", ")) == {f"synthetic_{name}" for name in synthetic}
    back = pd.read_sql_table("synthetic_patients", f"sqlite:///{tmp_path / 'out.db'}")
    assert list(back.columns) == list(synthetic["patients"].columns)
    # without a prefix the tables keep their own names
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    _sink(_config(url=plain), synthetic, tmp_path)
    assert set(_tables(plain)) == set(synthetic)


def test_if_exists_fail_writes_nothing_when_one_table_exists(tmp_path: Path):
    dataset = load("ehr")
    synthetic = {name: frame.head(5) for name, frame in dataset.tables.items()}
    url = f"sqlite:///{tmp_path / 'out.db'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:  # one table of the run is already there
        conn.execute(sqlalchemy.text('CREATE TABLE "observations" (x INTEGER)'))
    engine.dispose()
    ctx = _sink(_config(url=url, if_exists="fail"), synthetic, tmp_path)
    assert ctx.status == "sink_failed" and "cannot write" in ctx.metrics["sink"]["error"]
    assert _tables(url) == {"observations": 0}, "one transaction: no table of the run may be left behind"


def test_single_table_sql_sink_still_needs_a_table_name(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nsource: {dataset: adult}\nmodel: {name: copula}\nsink: {url: 'sqlite:///x.db'}\n")
    with pytest.raises(ConfigError, match="sink.table"):
        load_config(path)
    path.write_text("name: p\nsource: {dataset: ehr}\nmodel: {name: relational}\nsink: {url: 'sqlite:///x.db'}\n")
    assert load_config(path).sink.table is None
