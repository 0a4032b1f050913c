"""One schema for metrics.json: real evaluator and pipeline outputs match it, the committed JSON
Schema and the docs' key reference are generated from it, and it refuses what it does not declare."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest

from synthkit.errors import EvaluationError
from synthkit.evaluate import Evaluation, evaluate
from synthkit.evaluate import schema as S
from synthkit.evaluate.schema_docs import BEGIN, END, key_reference, schema_text, update_docs
from synthkit.evaluate.temporal import temporal_metrics

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "regenerate with `python -m synthkit.evaluate.schema_docs`"


def _as_written(metrics: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(metrics, allow_nan=False))


def _json_schema_check(metrics: dict[str, Any]) -> None:
    """The committed JSON Schema, as any other program would use it."""
    jsonschema.Draft202012Validator(json.loads((DOCS / "metrics.schema.json").read_text())).validate(_as_written(metrics))


def _check_both(metrics: dict[str, Any]) -> None:
    S.validate_metrics(metrics)
    _json_schema_check(metrics)


@pytest.fixture(scope="module")
def single(adult_split: dict[str, pd.DataFrame], copula_synthetic: pd.DataFrame) -> dict[str, Any]:
    train, holdout = adult_split["train"].head(500), adult_split["holdout"].head(500)
    return evaluate(train, copula_synthetic.head(500), holdout=holdout, target="income", seed=0, max_rows=500).scores


@pytest.fixture(scope="module")
def sequence() -> dict[str, Any]:
    """ICU stays split by stay; unseen real stays stand in for synthetic ones (entity= and temporal)."""
    from synthkit.datasets import load

    events, _ = load("icu")
    stays = events["RecordID"].drop_duplicates().sample(90, random_state=0).to_numpy()
    part = {name: events[events["RecordID"].isin(ids)].reset_index(drop=True) for name, ids in
            zip(("train", "holdout", "synthetic"), np.array_split(stays, 3), strict=True)}
    scores = evaluate(part["train"], part["synthetic"], holdout=part["holdout"], seed=0, max_rows=1500,
                      entity="RecordID", families=["fidelity", "privacy"]).scores
    scores["temporal"] = temporal_metrics(part["train"], part["synthetic"], "RecordID", "Time", ["HR", "Temp", "GCS"], seed=0)
    return scores


def test_committed_json_schema_is_current() -> None:
    assert (DOCS / "metrics.schema.json").read_text(encoding="utf-8") == schema_text(), REGENERATE


def test_docs_key_reference_is_current_and_tables_name_real_keys() -> None:
    text = (DOCS / "metrics.md").read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert update_docs(text) == text, REGENERATE
    assert key_reference() in text
    # the hand-written tables (header "| key |") only describe keys the schema declares
    families = {"fidelity": S.Fidelity, "privacy": S.Privacy, "utility": S.Utility, "privacy.dp": S.DPGuarantee}
    prose = text.split(BEGIN)[0]
    checked: dict[str, int] = {}
    for section in re.split(r"\n(?=#+ )", prose):
        head, _, body = section.partition("\n")
        title = (re.findall(r"`([\w.]+)`", head) or [""])[0]
        model = families.get(title)
        table = re.search(r"\| key \|.*?(?=\n\n|\Z)", body, flags=re.DOTALL)
        if model is None or table is None:
            continue
        for line in table.group(0).splitlines()[2:]:
            first = line.split(" | ")[0]
            for token in re.findall(r"`([^`]+)`", first):
                if token.startswith("_"):
                    continue  # a suffix such as `_ci` of the key before it
                name = re.split(r"[.{]", token)[0]
                assert name in model.model_fields, f"docs/metrics.md describes {title}.{name}, which the schema lacks"
                checked[title] = checked.get(title, 0) + 1
    assert set(checked) == set(families) and sum(checked.values()) >= 30, checked


def test_real_single_table_output_matches(single: dict[str, Any]) -> None:
    _check_both(single)
    assert single["utility"]["primary_metric"] == "auc" and "auc" in single["utility"]["models"]["hgb"]["tstr"]
    # required keys are present in every family, even skipped ones
    for family in ("fidelity", "privacy", "utility"):
        assert set(S.layout(family)) <= set(single[family])


def test_sequence_output_with_entity_and_temporal_matches(sequence: dict[str, Any]) -> None:
    _check_both(sequence)
    assert sequence["privacy"]["row_intervals"] == "by entity" and sequence["privacy"]["membership_inference_split"] == "by entity"
    assert set(sequence["temporal"]["autocorrelation"]) == {"HR", "Temp", "GCS"}
    assert sequence["utility"]["skipped"] == {"utility": "not requested (families=['fidelity', 'privacy'])"}


def test_pipeline_sections_and_declared_extensions_match(single: dict[str, Any]) -> None:
    """What the pipeline adds (gates, status, audit, keys, tables, timings) and the fields declared
    for work in progress (engine and workers, model-selection candidates, discriminator interval)."""
    m = copy.deepcopy(single)
    m.update(gates=[{"gate": "fidelity.score >= 0.8", "value": 0.91, "passed": True},
                    {"gate": "privacy.verdict != fail", "value": None, "passed": False, "reason": "privacy.verdict was not computed"}],
             status="sink_failed", sink={"error": "cannot write table t: database is locked"},
             audit={"passed": True, "findings": 0},
             validation={"success": True, "evaluated": 40, "successful": 40, "success_percent": 100.0},
             keys={"orphans": 0, "duplicate_keys": 0, "dated_before_root": 0, "root_date_column": "BIRTHDATE"},
             tables={"patients": {"fidelity": 0.9, "privacy_verdict": "pass", "dcr_share": 0.5, "utility": None},
                     "notes": {"skipped": "fewer than 20 rows in train, holdout or synthetic data"}})
    m["meta"]["pipeline"] = {"name": "t", "model": "copula", "model_reused": False, "seed": 0, "timings": {"fit": 1.5},
                             "root_table": "patients", "engine": {"name": "ray", "workers": 2},
                             "model_selection": {"chosen": "arm", "metric": "fidelity.score",
                                                 "candidates": [{"model": "arm", "score": 0.9, "seconds": 3.0, "chosen": True},
                                                                {"model": "gan", "score": None, "note": "out of time budget"}]}}
    m["privacy"]["dp"] = {"epsilon": 3.0, "delta": 1e-6, "mechanism": "mst", "accountant": "zCDP", "epsilon_spent": 3.0,
                          "mia_auc_bound": 0.95, "statement": "..."}
    _check_both(m)


def test_sequence_discriminator_interval_is_declared(sequence: dict[str, Any]) -> None:
    m = copy.deepcopy(sequence)
    m["temporal"]["discriminative"].update(interval=[0.41, 0.6], top_features=[{"feature": "HR_std", "importance": 0.02,
                                                                                  "meaning": "how much HR varies within an entity"}])
    _check_both(m)


@pytest.mark.parametrize("change, where", [
    (lambda m: m["fidelity"].update(score="0.9"), "fidelity.score"),  # no silent coercion of strings
    (lambda m: m["privacy"].update(verdict="ok"), "privacy.verdict"),
    (lambda m: m["utility"]["models"]["hgb"]["tstr"].update(roc_auc=0.8), "utility.models.hgb.tstr.roc_auc"),
    (lambda m: m.update(engine="ray"), "engine"),  # undeclared keys are refused: declare them in the schema
    (lambda m: m["meta"].update(max_rows=1.5), "meta.max_rows"),
    (lambda m: m["privacy"].update(dcr_share_ci=[0.4, 0.5, 0.6]), "privacy.dcr_share_ci"),
    (lambda m: m["fidelity"].pop("detection_auc"), "fidelity.detection_auc"),  # required keys stay, null if need be
    (lambda m: m.update(schema_version=2), "schema_version"),
])
def test_schema_refuses_what_it_does_not_declare(single: dict[str, Any], change: Any, where: str) -> None:
    m = copy.deepcopy(single)
    change(m)
    with pytest.raises(EvaluationError, match=re.escape(where)):
        S.validate_metrics(m)
    with pytest.raises(jsonschema.ValidationError):
        _json_schema_check(m)


def test_nan_and_non_json_are_refused(single: dict[str, Any]) -> None:
    m = copy.deepcopy(single)
    m["fidelity"]["score"] = float("nan")
    with pytest.raises(EvaluationError, match="not JSON"):
        S.validate_metrics(m)
    with pytest.raises(EvaluationError, match="must be a metrics.json dict"):
        S.validate_metrics([1, 2])  # type: ignore[arg-type]


def test_reading_metrics_json_validates_it(tmp_path: Path, single: dict[str, Any]) -> None:
    path = Evaluation(single).to_json(tmp_path / "metrics.json")
    assert Evaluation.from_json(path).scores == _as_written(single)
    broken = _as_written(single)
    broken["privacy"]["membership_inference_auc"] = "high"
    path.write_text(json.dumps(broken))
    with pytest.raises(EvaluationError, match="privacy.membership_inference_auc"):
        Evaluation.from_json(path)
