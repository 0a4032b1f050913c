"""Calibration canaries: known-bad and known-good "synthesizers" must get the expected verdicts.

(1) a copy of the training rows (exact, and with tiny noise) must fail privacy; (2) real rows the
model never saw, passed off as synthetic, must pass with DCR share ~0.5 and detection AUC ~0.5;
(3) independently shuffled columns keep the marginals but lose pair trends and utility.
Run on Adult and on a medical table (UCI diabetes-130 hospital encounters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthkit.evaluate import evaluate, split_holdout
from synthkit.profile import profile

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def adult_copy(adult_split):
    s = adult_split
    return evaluate(s["train"], s["train"].copy(), s["holdout"], target="income", seed=0).scores


@pytest.fixture(scope="module")
def adult_unseen(adult_split):
    s = adult_split
    return evaluate(s["train"], s["unseen"], s["holdout"], target="income", seed=0).scores


def _assert_fails_as_copy(p: dict) -> None:
    assert p["verdict"] == "fail"
    assert p["dcr_share"] > 0.9 and p["dcr_share_ci"][0] > 0.6
    assert p["membership_inference_auc"] > 0.8
    assert p["score"] < 0.2
    assert p["singling_out_risk_ci"][0] > 0.25
    assert any("closer to a training row" in r for r in p["reasons"])


def _assert_passes_as_unseen(scores: dict) -> None:
    p, f = scores["privacy"], scores["fidelity"]
    assert p["verdict"] == "pass", p["reasons"]
    assert p["dcr_share_ci"][0] <= 0.5 <= p["dcr_share_ci"][1]
    assert abs(p["membership_inference_auc"] - 0.5) < 0.08
    assert abs(f["detection_auc"] - 0.5) < 0.08
    assert p["ims_train"] - p["ims_holdout"] < 0.01


def test_adult_copy_fails(adult_copy):
    p = adult_copy["privacy"]
    _assert_fails_as_copy(p)
    assert p["ims_train"] > 0.95 and p["ims_holdout"] < 0.05
    assert p["nndr"]["synthetic_median"] < 0.05 < p["nndr"]["holdout_median"]
    assert adult_copy["fidelity"]["authenticity"] < 0.05  # every synthetic row is a training row
    assert adult_copy["utility"]["score"] == pytest.approx(1.0)


def test_adult_copy_with_tiny_noise_still_fails(adult_split):
    s = adult_split
    noisy = s["train"].copy()
    rng = np.random.default_rng(0)
    for col in ("age", "fnlwgt", "hours-per-week"):
        noisy[col] = noisy[col] + rng.normal(0, 0.01 * noisy[col].std(), len(noisy))
    p = evaluate(s["train"], noisy, s["holdout"], seed=0, families=("privacy",)).scores["privacy"]
    _assert_fails_as_copy(p)
    assert p["ims_train"] < 0.05  # exact matches are gone; the distance-based measures still see it


def test_adult_unseen_rows_pass(adult_unseen):
    _assert_passes_as_unseen(adult_unseen)
    assert adult_unseen["utility"]["score"] > 0.85
    assert adult_unseen["fidelity"]["score"] > 0.9


def test_adult_shuffled_columns_lose_trends_and_utility(adult_split, adult_unseen, shuffle_columns):
    s = adult_split
    scores = evaluate(s["train"], shuffle_columns(s["train"]), s["holdout"], target="income", seed=0,
                      families=("fidelity", "utility")).scores
    f, ref = scores["fidelity"], adult_unseen["fidelity"]
    assert f["column_shapes"] == pytest.approx(1.0)  # marginals are untouched...
    assert f["column_pair_trends"] < 0.85 < ref["column_pair_trends"]  # ...dependencies are gone
    assert f["detection_auc"] > 0.85 and f["beta_recall"] < ref["beta_recall"] and f["score"] < ref["score"]
    assert scores["utility"]["score"] < 0.5 < adult_unseen["utility"]["score"]
    assert scores["utility"]["feature_importance_agreement"] < adult_unseen["utility"]["feature_importance_agreement"]
    assert scores["utility"]["augmentation_lift"]["lift"] < adult_unseen["utility"]["augmentation_lift"]["lift"]


@pytest.fixture(scope="module")
def diabetes(shared_datasets):
    path = shared_datasets / "diabetes-130-us-hospitals" / "diabetic_data.csv.gz"
    df = pd.read_csv(path, na_values=["?"], nrows=20_000, low_memory=False)
    df = df.sample(2400, random_state=0).reset_index(drop=True)
    meta = profile(df)
    for col in ("encounter_id", "patient_nbr"):  # pseudonymous identifiers, not attributes
        meta.table().column(col).kind = "id"
    train, rest = split_holdout(df, share=2 / 3, seed=0)
    holdout, unseen = split_holdout(rest, share=0.5, seed=1)
    return {"train": train, "holdout": holdout, "unseen": unseen, "meta": meta}


def test_medical_copy_fails_unseen_passes_shuffled_loses_trends(diabetes, shuffle_columns):
    d = diabetes
    copy = evaluate(d["train"], d["train"].copy(), d["holdout"], metadata=d["meta"], seed=0,
                    families=("privacy",)).scores
    _assert_fails_as_copy(copy["privacy"])
    unseen = evaluate(d["train"], d["unseen"], d["holdout"], metadata=d["meta"], target="readmitted", seed=0,
                      quasi_identifiers=["race", "gender", "age"]).scores
    _assert_passes_as_unseen(unseen)
    assert unseen["meta"]["excluded_columns"]["encounter_id"].startswith("kind id")
    assert "encounter_id" not in unseen["fidelity"]["columns"]
    assert unseen["utility"]["task"] == "classification" and unseen["utility"]["ratio"] > 0.7
    shuffled = evaluate(d["train"], shuffle_columns(d["unseen"]), d["holdout"], metadata=d["meta"], target="readmitted",
                        seed=0, families=("fidelity", "utility")).scores
    # 45 columns, 800 rows: many-valued code pairs (diagnoses) are noisy even for real rows, so the
    # gap is smaller than on Adult (0.65 vs 0.68); the detection test sees the lost dependencies clearly
    sf, uf = shuffled["fidelity"], unseen["fidelity"]
    assert sf["column_pair_trends"] < uf["column_pair_trends"]
    assert sf["detection_auc"] > uf["detection_auc"] + 0.25
    assert shuffled["utility"]["score"] < 0.5 * unseen["utility"]["score"]
    k = unseen["privacy"]["k_anonymity"]
    assert k["quasi_identifiers"] == ["race", "gender", "age"] and k["source"] == "given"
    assert set(unseen["privacy"]["inference_risk"]) == {"readmitted"}
