"""Membership inference on rows that come in entities (a patient's encounters) compares like with like.

Oracle: the "synthetic" rows are real encounters of a third group of patients the "model" never
saw, so there is no membership signal to find. Splitting the attacker's holdout by row puts
sibling rows of each non-member patient into the reference and reports a leak anyway; splitting by
patient (``entity=``) does not.
"""

from __future__ import annotations

import numpy as np
import pytest

from synthkit.evaluate import evaluate
from synthkit.models.medical import root_ids
from synthkit.profile import profile_table
from synthkit.meta import Metadata


@pytest.fixture(scope="module")
def third_patients():
    from synthkit.datasets import load

    data = load("ehr")
    owners = root_ids(data.tables, data.relationships, "patients", "Id")
    ids = data.tables["patients"]["Id"].to_numpy()
    table = data.tables["encounters"]
    meta = Metadata.single(profile_table(table, name="encounters"))
    splits = []
    for seed in range(3):
        group = np.random.default_rng(seed).permutation(len(ids)) % 3
        splits.append([table[owners["encounters"].isin(ids[group == k]).to_numpy()].reset_index(drop=True) for k in range(3)])
    return splits, meta


@pytest.fixture(scope="module")
def privacy_by_split(third_patients):
    """Privacy scores of each split, with rows taken as independent (None) and by patient."""
    splits, meta = third_patients
    return [{entity: evaluate(train, unseen, holdout=holdout, metadata=meta, seed=0, families=["privacy"],
                              entity=entity).scores["privacy"] for entity in (None, "PATIENT")}
            for train, holdout, unseen in splits]


def test_split_by_entity_finds_no_membership_signal_in_unseen_patients(privacy_by_split):
    by_row = [(p[None]["membership_inference_auc"], p[None]["membership_inference_split"]) for p in privacy_by_split]
    by_entity = [(p["PATIENT"]["membership_inference_auc"], p["PATIENT"]["membership_inference_split"]) for p in privacy_by_split]
    assert {s for _, s in by_row} == {"by row"} and {s for _, s in by_entity} == {"by entity"}
    assert np.mean([a for a, _ in by_row]) > 0.57  # the artefact: a "leak" by a model that saw nobody
    assert np.mean([a for a, _ in by_entity]) < 0.53  # measured 0.46 (about 10 patients per side: noisy)
    assert max(a for a, _ in by_entity) < 0.6  # never a fail verdict from this attack


def test_share_intervals_count_patients_not_rows(privacy_by_split):
    """The unseen patients' rows are no closer to training than to holdout rows: a DCR interval must
    cover 0.5. Counted as independent rows (~900 rows of ~19 patients) it is too narrow and excludes
    0.5 on one split; counted by patient it covers 0.5 on all three."""
    row_cis = [p[None]["dcr_share_ci"] for p in privacy_by_split]
    entity_cis = [p["PATIENT"]["dcr_share_ci"] for p in privacy_by_split]
    assert all(p[None]["row_intervals"] == "by row" and p[None]["synthetic_entities"] is None for p in privacy_by_split)
    assert all(p["PATIENT"]["row_intervals"] == "by entity" and p["PATIENT"]["synthetic_entities"] >= 15
               for p in privacy_by_split)
    assert any(not lo < 0.5 < hi for lo, hi in row_cis)  # the artefact (measured [0.52, 0.58] on split 0)
    assert all(lo < 0.5 < hi for lo, hi in entity_cis)
    for (r_lo, r_hi), (e_lo, e_hi) in zip(row_cis, entity_cis):
        assert e_hi - e_lo > 1.5 * (r_hi - r_lo)  # measured 1.9x-3.7x
    for p in privacy_by_split:  # no copies: both intervals start at 0, the patients' one reaches further
        assert p["PATIENT"]["ims_train_ci"][0] == 0.0 and p["PATIENT"]["ims_train_ci"][1] > p[None]["ims_train_ci"][1]


def test_entity_column_must_exist(third_patients):
    from synthkit.errors import EvaluationError

    splits, meta = third_patients
    train, holdout, unseen = splits[0]
    with pytest.raises(EvaluationError, match="entity column 'nope'"):
        evaluate(train, unseen, holdout=holdout, metadata=meta, families=["privacy"], entity="nope")
