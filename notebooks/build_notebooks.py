"""Write the example notebooks (committed without outputs) from the cell sources below.

Notebooks are JSON, which reviews badly; keeping their source here makes every change a readable
diff. Run ``python notebooks/build_notebooks.py`` after editing. ``SYNTHKIT_FAST=1`` (set by the
test suite) makes every notebook use small data and few epochs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

SETUP = '''import os
import logging

import pandas as pd

FAST = bool(os.environ.get("SYNTHKIT_FAST"))  # the test suite runs every notebook with small settings
logging.basicConfig(level=logging.WARNING)
pd.set_option("display.width", 120)'''

QUICKSTART = [
    ("md", "# synthkit quickstart: Adult census data\n\nLoad real data, profile it, fit a synthesizer, sample a "
           "synthetic substitute, and measure how faithful, private and useful it is — all from Python."),
    ("code", SETUP),
    ("code", '''from synthkit.datasets import load

real, _ = load("adult")
if FAST:
    real = real.sample(3000, random_state=0).reset_index(drop=True)
real.shape'''),
    ("md", "## Profile\nColumn kinds, missing shares and PII classes decide how each column is modelled. "
           "PII columns (none in Adult) would be regenerated, never learned."),
    ("code", '''from synthkit.profile import profile

metadata = profile(real, name="adult")
pd.DataFrame([{"column": c.name, "kind": c.kind, "pii": c.pii, "missing": round(c.missing_share, 3)}
              for c in metadata.table().columns])'''),
    ("md", "## Hold out real rows, then fit\nHalf the real rows never reach the model: the privacy tests "
           "compare the synthetic data's closeness to the training rows with its closeness to these."),
    ("code", '''from synthkit.evaluate import split_holdout
from synthkit.models import available, create
from synthkit.models.registry import DEFAULT_MODEL

train, holdout = split_holdout(real, share=0.5, seed=0)
print("models:", available(), "| default:", DEFAULT_MODEL)
params = {"epochs": 2} if FAST and DEFAULT_MODEL != "copula" else {}
model = create(DEFAULT_MODEL, metadata=metadata, seed=0, **params).fit(train)
synthetic = model.sample(len(train), seed=1)
synthetic.head()'''),
    ("md", "## Evaluate\nFidelity (SDMetrics-compatible column shapes and pair trends, detection AUC), privacy "
           "(distance to closest record vs the holdout, membership inference, …) and utility (train on synthetic, "
           "test on real)."),
    ("code", '''from synthkit.evaluate import evaluate

result = evaluate(train, synthetic, holdout=holdout, metadata=metadata, target="income", seed=0,
                  max_rows=1000 if FAST else 20000)
scores = result.scores
print("verdict:", result.verdict)
print("fidelity:", round(scores["fidelity"]["score"], 3),
      "| column shapes:", round(scores["fidelity"]["column_shapes"], 3),
      "| pair trends:", round(scores["fidelity"]["column_pair_trends"], 3))
print("utility ratio:", scores["utility"]["ratio"])'''),
    ("md", "## Save and reload\nA model folder is `model.json` + `weights.pt` (tensors only, loaded with "
           "`weights_only=True`): no pickle, so loading a model can never run code."),
    ("code", '''import tempfile
from pathlib import Path

from synthkit.models import load as load_model

folder = Path(tempfile.mkdtemp()) / "adult-model"
model.save(folder)
again = load_model(str(folder))
assert again.sample(5, seed=3).equals(model.sample(5, seed=3))
sorted(p.name for p in folder.iterdir())'''),
]

PRIVACY = [
    ("md", "# Reading a synthkit evaluation as a privacy officer\n\nWhat the privacy numbers mean, what a "
           "failing dataset looks like, and what a passing one looks like. Only aggregates are shown."),
    ("code", SETUP),
    ("code", '''from synthkit.datasets import load
from synthkit.evaluate import evaluate, split_holdout
from synthkit.models import create

real, _ = load("adult")
real = real.sample(4000 if FAST else 20000, random_state=1).reset_index(drop=True)
train, holdout = split_holdout(real, share=0.5, seed=0)
QI = ["age", "sex", "race", "marital-status", "native-country", "education", "occupation"]'''),
    ("md", "## A leaky \"synthesizer\": copies of real rows\nThis is what the audit must catch: the output is "
           "just training rows. Expect `verdict: fail`, a DCR share near 1 and identical matches."),
    ("code", '''leaky = train.sample(len(train), replace=True, random_state=0).reset_index(drop=True)
bad = evaluate(train, leaky, holdout=holdout, target="income", quasi_identifiers=QI,
               sensitive_columns=["income"], seed=0, families=("privacy",))
p = bad.scores["privacy"]
print("verdict:", p["verdict"])
for reason in p["reasons"]:
    print(" -", reason)
print("DCR share:", round(p["dcr_share"], 3), "CI", [round(x, 3) for x in p["dcr_share_ci"]])
print("identical matches with train / holdout:", p["ims_train"], "/", p["ims_holdout"])'''),
    ("md", "## A real synthesizer\nThe same questions for data sampled from a fitted model. A DCR share near "
           "0.5 means synthetic rows are no closer to the training rows than to people the model never saw."),
    ("code", '''model = create("copula", seed=0).fit(train)
synthetic = model.sample(len(train), seed=1)
good = evaluate(train, synthetic, holdout=holdout, target="income", quasi_identifiers=QI,
                sensitive_columns=["income"], seed=0, families=("privacy",))
p = good.scores["privacy"]
print("verdict:", p["verdict"])
for reason in p["reasons"]:
    print(" -", reason)
summary = {k: p.get(k) for k in ("dcr_share", "dcr_share_ci", "ims_train", "ims_holdout",
                                 "membership_inference_auc", "singling_out_risk", "linkability_risk")}
pd.Series(summary)'''),
    ("md", "## Attribute inference and k-anonymity\nHow much better than chance an attacker who knows the "
           "quasi-identifiers guesses the sensitive column, and the smallest group size on those columns."),
    ("code", '''pd.DataFrame(p.get("inference_risk") or {}).T'''),
    ("code", '''p.get("k_anonymity")'''),
]

AUGMENT = [
    ("md", "# Augmenting scarce data\n\nAn ML team has only 1,000 labelled rows and few positives. Does adding "
           "synthetic minority rows help a classifier on real, unseen data?"),
    ("code", SETUP),
    ("code", '''from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from synthkit.datasets import load
from synthkit.models import create
from synthkit.models.registry import DEFAULT_MODEL

train_full, test = load("adult")
scarce = train_full.sample(1000, random_state=3).reset_index(drop=True)
test = test.sample(3000 if FAST else len(test), random_state=0)
scarce["income"].value_counts()'''),
    ("code", '''params = {"epochs": 2} if FAST and DEFAULT_MODEL != "copula" else {}
model = create(DEFAULT_MODEL, seed=0, **params).fit(scarce)
extra = model.sample(1000, seed=1, conditions={"income": ">50K"})
extra["income"].value_counts()'''),
    ("code", '''def auc_of(frame: pd.DataFrame) -> float:
    """Train on ``frame``, score ROC AUC on the real test split."""
    X = frame.drop(columns="income")
    y = (frame["income"] == ">50K").astype(int)
    cats = [c for c in X.columns if X[c].dtype == object]
    enc = lambda d: d.drop(columns="income").astype({c: "category" for c in cats})
    clf = HistGradientBoostingClassifier(random_state=0, categorical_features="from_dtype")
    clf.fit(enc(frame), y)
    test_X = enc(test)
    for c in cats:
        test_X[c] = pd.Categorical(test_X[c], categories=enc(frame)[c].cat.categories)
    return roc_auc_score((test["income"] == ">50K").astype(int), clf.predict_proba(test_X)[:, 1])

real_only = auc_of(scarce)
augmented = auc_of(pd.concat([scarce, extra], ignore_index=True))
print(f"real only: AUC {real_only:.3f} | real + synthetic minority rows: AUC {augmented:.3f} | lift {augmented - real_only:+.3f}")'''),
    ("md", "The evaluation reports the same comparison as `utility.augmentation_lift` when the real training "
           "set is small, so a pipeline (`pipelines/augment.yaml`) can gate on it."),
]


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src) for kind, src in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


NOTEBOOKS = {"01_quickstart.ipynb": QUICKSTART, "02_privacy_review.ipynb": PRIVACY, "03_augmentation.ipynb": AUGMENT}

if __name__ == "__main__":
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(cells), HERE / name)
