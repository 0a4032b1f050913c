"""Pipeline configuration: validation errors name the key and the line; overrides; gates."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthkit.errors import ConfigError
from synthkit.pipeline.config import load_config
from synthkit.evaluate.gates import check_gates

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_every_example_pipeline_validates():
    files = sorted((REPO / "pipelines").glob("*.yaml"))
    assert files, "no example pipelines"
    for path in files:
        cfg = load_config(path)
        assert cfg.name


def test_unknown_key_is_named_with_its_line(tmp_path):
    path = _write(tmp_path, "name: t\nsource:\n  dataset: adult\nmodel:\n  name: copula\n  epochz: 3\n")
    with pytest.raises(ConfigError, match=r"model\.epochz \(line 6\): unknown key"):
        load_config(path)


def test_bad_type_is_named_with_its_line(tmp_path):
    path = _write(tmp_path, "name: t\nsource:\n  dataset: adult\nholdout:\n  share: lots\n")
    with pytest.raises(ConfigError, match=r"holdout\.share \(line 5\)"):
        load_config(path)


def test_broken_yaml_names_the_line(tmp_path):
    path = _write(tmp_path, "name: t\nsource:\n  dataset: [adult\n")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        load_config(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("- a\n- b\n", "must be a mapping"),
        ("name: t\n", "source"),
        ("name: t\nsource: {dataset: adult, path: x.csv}\n", "exactly one of"),
        ("name: t\nsource: {url: 'sqlite:///x.db'}\n", "needs 'table' or 'query'"),
        ("name: ../evil\nsource: {dataset: adult}\n", "letters, digits"),
        ("name: t\nsource: {dataset: adult}\ngates: ['fidelity.score is good']\n", "is not 'family.metric OP value'"),
        ("name: t\nsource: {dataset: adult}\nsample: {rows: 10, ratio: 2}\n", "not both"),
        ("name: t\nsource: {dataset: adult}\nsample: {rows: -1}\n", "sample.rows"),
    ],
)
def test_invalid_configs_are_refused_clearly(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_set_nested_keys_with_yaml_types(tmp_path):
    path = _write(tmp_path, "name: t\nsource: {dataset: adult}\n")
    cfg = load_config(path, ["model.name=copula", "model.params.n_quantiles=51", "sample.rows=123", "evaluate.enabled=false"])
    assert cfg.model.name == "copula"
    assert cfg.model.params == {"n_quantiles": 51}
    assert cfg.sample.rows == 123
    assert cfg.evaluate.enabled is False
    with pytest.raises(ConfigError, match="key=value"):
        load_config(path, ["model.name"])


def test_gates_compare_numbers_and_words():
    metrics = {"fidelity": {"score": 0.91}, "privacy": {"verdict": "warn"}, "utility": {"ratio": None}}
    results = check_gates(
        ["fidelity.score >= 0.9", "fidelity.score > 0.95", "privacy.verdict != fail", "privacy.verdict == pass", "utility.ratio >= 0.8"],
        metrics,
    )
    assert [r["passed"] for r in results] == [True, False, True, False, False]
    assert "not computed" in results[4]["reason"]
    assert results[1]["reason"] == "fidelity.score = 0.91, needed > 0.95"
    # check_gates is public in evaluate now: a malformed gate from Python is a clear error, not an assert
    with pytest.raises(ConfigError, match="gate 'make it good' is not 'family.metric OP value'"):
        check_gates(["make it good"], metrics)


def test_environment_placeholders_expand_and_unset_ones_are_named(tmp_path, monkeypatch):
    text = "name: t\nsource:\n  url: ${SK_TEST_URL}\n  table: t\nsink:\n  url: ${SK_TEST_SINK:-sqlite:///out.db}\n  table: s\n"
    path = _write(tmp_path, text)
    monkeypatch.delenv("SK_TEST_URL", raising=False)
    with pytest.raises(ConfigError, match="environment variable SK_TEST_URL is not set"):
        load_config(path)
    monkeypatch.setenv("SK_TEST_URL", "postgresql+psycopg://u:secret@h/db")
    cfg = load_config(path)
    assert cfg.source.url == "postgresql+psycopg://u:secret@h/db" and cfg.sink.url == "sqlite:///out.db"
    assert cfg.public_dict()["source"]["url"] == "postgresql+psycopg://u:***@h/db"
