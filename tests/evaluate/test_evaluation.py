"""The metrics.json contract, input errors and documented skips, and cross-checks of our numbers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import binomtest

from synthkit.errors import EvaluationError
from synthkit.evaluate import THRESHOLDS, Evaluation, evaluate, split_holdout
from synthkit.evaluate.encoding import MixedEncoder
from synthkit.evaluate.inputs import prepare
from synthkit.evaluate.stats import attack_risk, auc_with_ci, success_rate, wilson
from synthkit.profile import profile


@pytest.fixture(scope="module")
def small(adult_small):
    """600 train / 600 holdout Adult rows and a copula-like stand-in: 600 unseen real rows."""
    train, rest = split_holdout(adult_small.iloc[:1800], share=2 / 3, seed=0)
    holdout, unseen = split_holdout(rest, share=0.5, seed=1)
    return train, holdout, unseen


@pytest.fixture(scope="module")
def scores(small):
    train, holdout, unseen = small
    return evaluate(train, unseen, holdout, target="income", seed=3).scores


def test_metrics_json_layout(scores):
    assert scores["schema_version"] == 1
    f, p, u, m = scores["fidelity"], scores["privacy"], scores["utility"], scores["meta"]
    for key in ("score", "column_shapes", "column_pair_trends", "columns", "pairs", "detection_auc",
                "detection_auc_ci", "alpha_precision", "beta_recall", "authenticity", "skipped"):
        assert key in f, key
    col = f["columns"]["age"]
    assert set(col) >= {"metric", "score", "wasserstein", "jensen_shannon"} and col["metric"] == "KSComplement"
    assert f["columns"]["sex"]["metric"] == "TVComplement"
    pair = f["pairs"]["age|workclass"]
    assert set(pair) >= {"metric", "score", "real", "synthetic"} and pair["metric"] == "ContingencySimilarity"
    assert f["pairs"]["age|fnlwgt"]["metric"] == "CorrelationSimilarity"
    for key in ("verdict", "reasons", "score", "thresholds", "dcr_share", "dcr_share_ci", "dcr_ecdf", "ims_train",
                "ims_holdout", "nndr", "membership_inference_auc", "membership_inference_auc_ci", "singling_out_risk",
                "singling_out_risk_ci", "linkability_risk", "linkability_risk_ci", "inference_risk", "k_anonymity",
                "pii_leaks", "pii_columns", "skipped"):
        assert key in p, key
    assert p["verdict"] in ("pass", "warn", "fail") and all(isinstance(r, str) for r in p["reasons"])
    assert p["thresholds"] == THRESHOLDS
    ecdf = p["dcr_ecdf"]
    assert len(ecdf["quantiles"]) == len(ecdf["synthetic_to_train"]) == len(ecdf["synthetic_to_holdout"])
    assert ecdf["quantiles"][0] == 0 and ecdf["quantiles"][-1] == 1
    assert {"synthetic_median", "holdout_median"} <= set(p["nndr"])
    assert set(p["inference_risk"]["income"]) >= {"risk", "risk_ci", "attack_rate", "control_rate"}
    assert set(p["k_anonymity"]) >= {"k", "quasi_identifiers", "share_below_5"}
    for key in ("target", "task", "models", "ratio", "score", "feature_importance_agreement", "augmentation_lift", "skipped"):
        assert key in u, key
    assert u["task"] == "classification" and set(u["models"]) == {"logistic", "hgb"}
    for model in u["models"].values():
        assert set(model["trtr"]) == {"auc", "accuracy", "f1"} and set(model["tstr"]) == set(model["trtr"])
        assert 0 <= model["ratio"] <= 1.5
    assert m["rows"] == {"real": 600, "synthetic": 600, "holdout": 600}
    assert set(m["seconds"]) >= {"fidelity", "privacy", "utility"} and m["seed"] == 3
    assert isinstance(m["subsampled"], bool) and m["synthkit_version"]
    # every score that is a share lies in [0, 1]
    for v in (f["score"], f["column_shapes"], f["detection_auc"], p["score"], p["dcr_share"], u["score"]):
        assert 0 <= v <= 1
    json.dumps(scores, allow_nan=False)  # plain JSON: no NaN anywhere


def test_json_round_trip(scores, tmp_path):
    path = Evaluation(scores).to_json(tmp_path / "out" / "metrics.json")
    back = Evaluation.from_json(path)
    assert back.scores == scores and back.verdict == scores["privacy"]["verdict"]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(EvaluationError, match="not valid JSON"):
        Evaluation.from_json(tmp_path / "bad.json")
    with pytest.raises(EvaluationError, match="not found"):
        Evaluation.from_json(tmp_path / "missing.json")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(EvaluationError, match="schema_version"):
        Evaluation.from_json(tmp_path / "other.json")


def test_mixed_kinds_other_dtypes_and_same_seed_same_scores():
    """Datetime, boolean, 0/1 and missing values; synthetic dtypes differ but mean the same."""
    rng = np.random.default_rng(0)
    n = 1200
    df = pd.DataFrame({
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        "flag": rng.random(n) < 0.3,
        "code01": rng.integers(0, 2, n),
        "cat": np.where(rng.random(n) < 0.1, None, rng.choice(list("abcde"), n)),
        "x": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
    })
    df["y"] = df["x"].fillna(0) * 2 + df["flag"] + rng.normal(size=n)
    train, rest = split_holdout(df, share=2 / 3, seed=0)
    holdout, syn = split_holdout(rest, share=0.5, seed=1)
    syn = syn.assign(when=syn["when"].astype(str), flag=syn["flag"].astype(int))
    a = evaluate(train, syn, holdout, target="flag", seed=1).scores
    b = evaluate(train, syn, holdout, target="flag", seed=1).scores
    a["meta"].pop("seconds"), b["meta"].pop("seconds")
    assert a == b
    assert a["meta"]["columns"] == {"when": "datetime", "flag": "boolean", "code01": "boolean", "cat": "categorical",
                                    "x": "numerical", "y": "numerical"}
    assert a["fidelity"]["columns"]["when"]["metric"] == "KSComplement" and a["fidelity"]["columns"]["when"]["score"] > 0.85
    assert a["fidelity"]["columns"]["flag"]["score"] > 0.9  # True/1 read as the same value
    assert a["privacy"]["verdict"] == "pass" and a["utility"]["task"] == "classification"


def test_numeric_category_codes_match_across_dtypes():
    """A code column is float in one frame (NaN forces it) and Int64 in another: same categories."""
    rng = np.random.default_rng(0)
    codes = rng.integers(1, 6, 900).astype(float)
    codes[:50] = np.nan
    real = pd.DataFrame({"code": codes, "x": rng.normal(size=900)})
    syn = pd.DataFrame({"code": pd.array(rng.integers(1, 6, 900), dtype="Int64"), "x": rng.normal(size=900)})
    meta = profile(real)
    meta.table().column("code").kind = "categorical"
    cols = evaluate(real, syn, metadata=meta, families=("fidelity",)).scores["fidelity"]["columns"]
    assert cols["code"]["metric"] == "TVComplement" and cols["code"]["score"] > 0.9


def test_dcr_share_and_ims_match_brute_force(small):
    """Independent oracle: full distance matrices with scipy and exact matches with a pandas merge."""
    train, holdout, _ = small
    syn = pd.concat([train.iloc[:100], holdout.iloc[100:400]], ignore_index=True)  # 100 copies of train
    p = evaluate(train, syn, holdout, seed=0, families=("privacy",)).scores["privacy"]
    prep = prepare(train, syn, holdout, None, max_rows=20_000, seed=0)
    enc = MixedEncoder(prep.kinds).fit(pd.concat([prep.train, prep.holdout]))
    xs, xt, xh = (enc.transform(f).astype(float) for f in (prep.synthetic, prep.train, prep.holdout))
    dt, dh = cdist(xs, xt).min(axis=1), cdist(xs, xh).min(axis=1)
    tie = np.isclose(dt, dh, atol=1e-6, rtol=0)
    expected = np.where(tie, 0.5, dt < dh).mean()
    assert p["dcr_share"] == pytest.approx(expected, abs=1e-9)
    merged = prep.synthetic.reset_index().merge(prep.train.drop_duplicates(), how="inner", on=list(prep.kinds))
    assert p["ims_train"] == pytest.approx(merged["index"].nunique() / len(syn))
    assert p["ims_train"] >= 100 / 400


def test_statistics_match_references():
    lo, hi = wilson(37, 120)
    ref = binomtest(37, 120).proportion_ci(method="wilson")
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-9)
    # anonymeter's risk: (attack - control) / (1 - control), errors propagated to first order
    attack, control = success_rate(90, 200), success_rate(40, 200)
    risk, (rlo, rhi) = attack_risk(attack, control)
    assert risk == pytest.approx((attack[0] - control[0]) / (1 - control[0]))
    assert rlo < risk < rhi
    assert attack_risk(success_rate(10, 200), success_rate(40, 200))[0] == 0.0  # control beats attack: no risk
    labels = np.r_[np.ones(200), np.zeros(200)]
    auc, (alo, ahi) = auc_with_ci(labels, np.r_[np.arange(200) + 100, np.arange(200)])
    assert auc == pytest.approx(1 - (100 * 100 / 2) / 200**2) and alo < auc < ahi


def test_no_holdout_skips_privacy_with_reason(small):
    train, _, unseen = small
    s = evaluate(train, unseen, target="income", families=("privacy", "utility")).scores
    assert s["privacy"]["verdict"] is None and "holdout" in s["privacy"]["skipped"]["privacy"]
    assert s["privacy"]["dcr_share"] is None and "membership_inference_auc" in s["privacy"]  # full layout, nulls
    assert Evaluation(s).verdict == "not evaluated"
    assert s["fidelity"]["score"] is None and "not requested" in s["fidelity"]["skipped"]["fidelity"]
    assert "may have seen" in s["utility"]["test_set"] and s["utility"]["ratio"] is not None


def test_no_target_skips_utility(small):
    train, holdout, unseen = small
    u = evaluate(train, unseen, holdout, families=("utility",)).scores["utility"]
    assert u["score"] is None and "target" in u["skipped"]["utility"]


def test_constant_target_is_a_documented_skip(small):
    train, holdout, unseen = small
    train, holdout, unseen = (f.assign(income="<=50K") for f in (train, holdout, unseen))
    u = evaluate(train, unseen, holdout, target="income", families=("utility",)).scores["utility"]
    assert u["score"] is None and "fewer than 2 distinct values" in u["skipped"]["utility"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r, s: (r, s.drop(columns=["age"])), "column mismatch.*missing \\['age'\\]"),
        (lambda r, s: (r, s.assign(extra=1)), "column mismatch.*unexpected \\['extra'\\]"),
        (lambda r, s: (r, s.assign(age=s["age"].astype(str).where(s.index > 3, "old"))), "'age' is numerical.*'old'"),
        (lambda r, s: (r, s.iloc[:0]), "synthetic data has no rows"),
        (lambda r, s: (r.iloc[:5], s), "real data has 5 rows; evaluation needs at least 20"),
        (lambda r, s: (r, s.to_numpy()), "must be a pandas DataFrame"),
    ],
)
def test_bad_input_raises_clear_errors(small, mutate, message):
    train, _, unseen = small
    real, syn = mutate(train, unseen)
    with pytest.raises(EvaluationError, match=message):
        evaluate(real, syn, families=("fidelity",))


def test_bad_options_raise(small):
    train, holdout, unseen = small
    with pytest.raises(EvaluationError, match="target column 'nope'"):
        evaluate(train, unseen, holdout, target="nope")
    with pytest.raises(EvaluationError, match="unknown metric families"):
        evaluate(train, unseen, holdout, families=("beauty",))
    with pytest.raises(EvaluationError, match="quasi_identifiers.*'zzz'"):
        evaluate(train, unseen, holdout, quasi_identifiers=["zzz"])
    with pytest.raises(EvaluationError, match="share"):
        split_holdout(train, share=1.0)


def test_all_nan_column_is_excluded_with_reason(small):
    train, holdout, unseen = small
    train, holdout, unseen = (f.assign(empty=np.nan) for f in (train, holdout, unseen))
    s = evaluate(train, unseen, holdout, families=("fidelity",)).scores
    assert s["meta"]["excluded_columns"]["empty"] == "all values missing in the real data"
    assert "empty" not in s["fidelity"]["columns"]


def test_a_synthetic_column_sampled_all_missing_is_scored_not_crashed(small):
    """scikit-learn's histogram binning fails on a feature without values; the release is still scored."""
    train, holdout, unseen = small
    numeric = next(c for c in train.columns if pd.api.types.is_float_dtype(train[c]) or pd.api.types.is_integer_dtype(train[c]))
    target = next(c for c in train.columns if c != numeric and train[c].nunique() == 2)
    syn = unseen.assign(**{numeric: np.nan})
    s = evaluate(train, syn, holdout, target=target, families=("fidelity", "utility"), seed=0).scores
    assert s["utility"]["models"]["hgb"]["tstr"] is not None and s["utility"]["ratio"] is not None
    assert s["fidelity"]["detection_auc"] is not None
    assert s["fidelity"]["columns"][numeric]["score"] < 0.5  # the empty column is scored as the miss it is


def test_subsampling_is_reported(small):
    train, holdout, unseen = small
    m = evaluate(train, unseen, holdout, max_rows=200, families=("fidelity",)).scores["meta"]
    assert m["subsampled"] is True
    assert m["evaluated_rows"] == {"real": 200, "synthetic": 200, "holdout": 200}
    assert m["rows"] == {"real": 600, "synthetic": 600, "holdout": 600}


def test_pii_columns_are_excluded_and_leaks_fail(small):
    train, holdout, unseen = small
    rng = np.random.default_rng(0)

    def emails(n: int, tag: str) -> list[str]:
        return [f"{tag}{i}.{v}@mail.test" for i, v in enumerate(rng.integers(0, 10**6, n))]

    train, holdout = train.assign(email=emails(len(train), "t")), holdout.assign(email=emails(len(holdout), "h"))
    syn = unseen.assign(email=[f"fake{i}@example.com" for i in range(len(unseen))])
    meta = profile(train)
    meta.table().column("email").pii = "email"
    clean = evaluate(train, syn, holdout, metadata=meta, seed=0, families=("privacy", "fidelity")).scores
    assert clean["privacy"]["pii_leaks"] == 0 and clean["privacy"]["pii_columns"] == ["email"]
    assert "email" not in clean["fidelity"]["columns"] and "PII" in clean["meta"]["excluded_columns"]["email"]
    leaky = syn.copy()
    leaky.loc[:2, "email"] = train["email"].iloc[:3].to_numpy()
    p = evaluate(train, leaky, holdout, metadata=meta, seed=0, families=("privacy",)).scores["privacy"]
    assert p["pii_leaks"] == 3 and p["pii_leaks_direct"] == 3
    assert p["verdict"] == "fail" and any("direct identifiers" in r for r in p["reasons"])


def test_k_anonymity_counts_groups(small):
    train, holdout, unseen = small
    qis = ["sex", "race", "marital-status"]
    p = evaluate(train, unseen, holdout, quasi_identifiers=qis, families=("privacy",)).scores["privacy"]
    sizes = unseen.groupby(qis, dropna=False).size()
    assert p["k_anonymity"]["k"] == sizes.min() and p["k_anonymity"]["quasi_identifiers"] == qis
    assert p["k_anonymity"]["share_below_5"] == pytest.approx(sizes[sizes < 5].sum() / len(unseen))
    assert set(p["linkability"]["aux_cols"][0]) == set(qis)  # attacker links quasi-identifiers to the rest


def test_regression_target(small):
    train, holdout, unseen = small
    u = evaluate(train, unseen, holdout, target="hours-per-week", families=("utility",)).scores["utility"]
    assert u["task"] == "regression" and set(u["models"]) == {"linear", "hgb"}
    assert set(u["models"]["hgb"]["trtr"]) == {"r2", "mae"}
    assert u["augmentation_lift"]["metric"] == "r2"


def test_int64_extremes_and_huge_seeds_evaluate() -> None:
    """Cases from the hardening corpus: int64-max columns and seeds beyond 32 bits."""
    import numpy as np
    import pandas as pd

    from synthkit.evaluate import evaluate

    def frame(seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        return pd.DataFrame({"age": rng.integers(18, 90, 60), "group": rng.choice(["a", "b", "c"], 60)})

    extreme = evaluate(frame(0).assign(age=np.iinfo(np.int64).max), frame(1), families=("fidelity",))
    assert 0 <= extreme.scores["fidelity"]["column_shapes"] < 1
    a = evaluate(frame(0), frame(1), seed=2**63, families=("fidelity",)).scores["fidelity"]["score"]
    b = evaluate(frame(0), frame(1), seed=2**63, families=("fidelity",)).scores["fidelity"]["score"]
    assert a == b
