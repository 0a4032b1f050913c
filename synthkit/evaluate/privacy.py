"""Privacy: does the synthetic data reveal the training rows more than unseen real rows?

Every measure compares two references of equal size: the training rows (seen by the model) and
the holdout rows (never seen). A generator that learned the distribution, not the people, is as
close to one as to the other: DCR share 0.5, equal identical-match shares, membership AUC 0.5,
attack risks 0. Distances use the shared encoding of :mod:`synthkit.evaluate.encoding`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from synthkit.evaluate import attacks
from synthkit.evaluate.encoding import MixedEncoder
from synthkit.evaluate.stats import auc_with_ci, clustered_share_ci, fnum, knn

__all__ = ["DIRECT_PII", "infer_quasi_identifiers", "privacy_scores"]

log = logging.getLogger(__name__)

QUANTILE_GRID = [round(q, 2) for q in np.linspace(0, 1, 21)]
# PII kinds whose verbatim reappearance identifies a person; other PII values (a first name, a city)
# can coincide by chance, so a match only warns
DIRECT_PII = {"email", "phone", "ssn", "address", "drivers_license", "passport", "identifier", "ip_address", "credit_card"}
_QI_NAMES = re.compile(
    r"^(age|sex|gender|race|ethnicity|zip|zipcode|zip_code|postcode|postal_code|marital[-_ ]?status|"
    r"native[-_ ]?country|country|birth.*|dob|date_of_birth|nationality)$",
    re.IGNORECASE,
)
_QI_PII = {"zip", "date_of_birth", "city", "latitude", "longitude"}


def infer_quasi_identifiers(columns: list[str], pii: dict[str, str]) -> list[str]:
    """Demographic columns an attacker typically knows (documented name list + zip/dob PII kinds)."""
    return [c for c in columns if _QI_NAMES.match(str(c)) or pii.get(c) in _QI_PII]


def _row_hashes(df: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(df, index=False).to_numpy()


def _dcr(xs: np.ndarray, xt: np.ndarray, xh: np.ndarray, d_st: np.ndarray,
         groups: np.ndarray | None = None) -> tuple[dict[str, Any], np.ndarray]:
    d_sh, _ = knn(xh, xs, k=1)
    d_ht, _ = knn(xt, xh, k=2)
    dt, dh = d_st[:, 0], d_sh[:, 0]
    tie = np.isclose(dt, dh, rtol=0, atol=1e-6)
    wins = np.where(tie, 0.5, (dt < dh).astype(float))
    share = float(wins.mean())
    lo, hi = clustered_share_ci(wins, groups)
    out = {
        "dcr_share": fnum(share),
        "dcr_share_ci": [fnum(lo), fnum(hi)],
        "dcr_ties": fnum(tie.mean()),
        "dcr_ecdf": {
            "quantiles": QUANTILE_GRID,
            "synthetic_to_train": [fnum(v) for v in np.quantile(dt, QUANTILE_GRID)],
            "synthetic_to_holdout": [fnum(v) for v in np.quantile(dh, QUANTILE_GRID)],
            "holdout_to_train": [fnum(v) for v in np.quantile(d_ht[:, 0], QUANTILE_GRID)],
        },
    }
    return out, d_ht


def _ratio(d: np.ndarray) -> np.ndarray:
    """Nearest / second-nearest distance; equal distances (0/0 included) give 1."""
    return np.where(d[:, 1] > 0, d[:, 0] / np.where(d[:, 1] > 0, d[:, 1], 1.0), 1.0)


def _nndr(d_st: np.ndarray, d_ht: np.ndarray) -> dict[str, Any]:
    rs, rh = _ratio(d_st), _ratio(d_ht)
    p05 = float(np.quantile(rh, 0.05))
    return {
        "synthetic_median": fnum(np.median(rs)),
        "holdout_median": fnum(np.median(rh)),
        "synthetic_p05": fnum(np.quantile(rs, 0.05)),
        "holdout_p05": fnum(p05),
        "share_synthetic_below_holdout_p05": fnum((rs < p05).mean()),
    }


def _membership(xs: np.ndarray, xt: np.ndarray, xh: np.ndarray, rng: np.random.Generator,
                groups: np.ndarray | None = None) -> dict[str, Any]:
    """Density-ratio attack (DOMIAS-style, nearest-neighbour densities).

    Half the holdout is the attacker's reference sample of the population, the other half are the
    non-members, and as many training rows are the members. A record's score is
    log(d_reference / d_synthetic): high when the synthetic data is denser around it than the
    population, i.e. when the generator over-fitted it. AUC 0.5 = no membership signal.

    With ``groups`` (the entity of each holdout row: a patient, an ICU stay) the holdout is halved
    by entity: rows of one patient are near each other, so a non-member whose own patient's other
    rows sit in the reference would score "population-like" while members never can, and a model
    that saw nobody at all would look like it leaked (measured on Synthea: AUC 0.58-0.69 for real
    rows of third patients; ~0.5 when split by patient).
    """
    by_entity = groups is not None and len(np.unique(np.asarray(groups, dtype=str))) >= 4
    if by_entity:
        _, codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
        in_ref = rng.permutation(int(codes.max()) + 1)[codes] % 2 == 0
        ref_idx, non_idx = np.flatnonzero(in_ref), rng.permutation(np.flatnonzero(~in_ref))
        m = min(len(non_idx), len(xt), 5000)
    else:
        perm = rng.permutation(len(xh))
        ref_idx, non_idx = perm[: len(xh) // 2], perm[len(xh) // 2:]
        m = min(len(xh) // 2, 5000)
    ref, non = xh[ref_idx], xh[non_idx[:m]]
    mem = xt[rng.choice(len(xt), m, replace=False)]
    queries = np.vstack([mem, non])
    d_syn, _ = knn(xs, queries, k=1)
    d_ref, _ = knn(ref, queries, k=1)
    eps = 1e-6
    score = np.log((d_ref[:, 0] + eps) / (d_syn[:, 0] + eps))
    labels = np.r_[np.ones(m, dtype=bool), np.zeros(m, dtype=bool)]
    auc, (lo, hi) = auc_with_ci(labels, score)
    return {"membership_inference_auc": fnum(auc), "membership_inference_auc_ci": [fnum(lo), fnum(hi)],
            "membership_inference_rows": 2 * m, "membership_inference_split": "by entity" if by_entity else "by row"}


def _k_anonymity(syn: pd.DataFrame, qis: list[str]) -> dict[str, Any]:
    sizes = syn.groupby(qis, dropna=False, observed=True).size()
    per_row = syn.groupby(qis, dropna=False, observed=True)[qis[0]].transform("size") if len(syn) else pd.Series([])
    return {"k": int(sizes.min()), "quasi_identifiers": qis, "share_below_5": fnum((per_row < 5).mean()),
            "groups": len(sizes)}


def _norm_strings(values: pd.Series) -> np.ndarray:
    s = values.dropna().astype(str).str.strip()
    return pd.unique(s[s != ""].to_numpy())


def _pii_leaks(raw: dict[str, dict[str, pd.Series]], pii: dict[str, str]) -> dict[str, Any]:
    """Distinct real PII values (train or holdout) that reappear verbatim in the synthetic column."""
    by_col: dict[str, int] = {}
    for col, frames in raw.items():
        real = np.concatenate([_norm_strings(s) for k, s in frames.items() if k != "synthetic"])
        syn = _norm_strings(frames["synthetic"])
        by_col[col] = int(pd.Series(syn, dtype=object).isin(real).sum())  # a hash lookup (np.isin sorts objects)
    direct = sum(n for c, n in by_col.items() if pii[c] in DIRECT_PII)
    return {"pii_leaks": int(sum(by_col.values())), "pii_leaks_direct": int(direct), "pii_leaks_by_column": by_col}


def privacy_scores(
    train: pd.DataFrame, holdout: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, str], encoder: MixedEncoder,
    xt: np.ndarray, xh: np.ndarray, xs: np.ndarray, d_st: np.ndarray, seed: int,
    sensitive: list[str], qis: list[str], qis_source: str,
    raw_pii: dict[str, dict[str, pd.Series]], pii: dict[str, str], skipped: dict[str, str],
    holdout_groups: np.ndarray | None = None, synthetic_groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """All privacy measures except the verdict; ``d_st``: synthetic->train distances to 2 neighbours;
    ``holdout_groups`` / ``synthetic_groups``: the entity of each holdout / synthetic row, when rows
    come in entities (patients): the intervals of shares over synthetic rows then count entities,
    not rows (:func:`~synthkit.evaluate.stats.clustered_share_ci`)."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    dcr, d_ht = _dcr(xs, xt, xh, d_st, synthetic_groups)
    out.update(dcr)
    out["row_intervals"] = "by row" if synthetic_groups is None else "by entity"
    out["synthetic_entities"] = None if synthetic_groups is None else int(len(np.unique(synthetic_groups)))
    hs, ht, hh = _row_hashes(syn), _row_hashes(train), _row_hashes(holdout)
    ims_t, ims_h = np.isin(hs, ht), np.isin(hs, hh)
    out["ims_train"], out["ims_holdout"] = fnum(ims_t.mean()), fnum(ims_h.mean())
    out["ims_train_ci"] = [fnum(v) for v in clustered_share_ci(ims_t, synthetic_groups)]
    out["ims_holdout_ci"] = [fnum(v) for v in clustered_share_ci(ims_h, synthetic_groups)]
    out["nndr"] = _nndr(d_st, d_ht)
    out.update(_membership(xs, xt, xh, rng, holdout_groups))

    so = attacks.singling_out(train, holdout, syn, kinds, rng)
    out["singling_out_risk"], out["singling_out_risk_ci"] = so["risk"], so["risk_ci"]
    out["singling_out"] = so
    cols = list(kinds)
    if len(cols) < 2:
        out["linkability_risk"] = out["linkability_risk_ci"] = None
        skipped["linkability_risk"] = "needs at least two evaluated columns"
    else:
        in_q = [c for c in cols if c in qis]
        rest = [c for c in cols if c not in qis]
        aux = (in_q, rest) if in_q and rest else (cols[0::2], cols[1::2])
        lk = attacks.linkability(train, holdout, syn, encoder, aux, rng)
        out["linkability_risk"], out["linkability_risk_ci"] = lk["risk"], lk["risk_ci"]
        out["linkability"] = lk
    out["inference_risk"] = {}
    if not sensitive:
        skipped["inference_risk"] = "no sensitive_columns given and no target to use as the sensitive column"
    for secret in sensitive:
        if secret not in kinds:
            skipped[f"inference_risk.{secret}"] = "column is not evaluated (excluded or PII)"
            continue
        in_q = [c for c in cols if c in qis and c != secret]
        aux = in_q or [c for c in cols if c != secret]
        if not aux:
            skipped[f"inference_risk.{secret}"] = "no other column to infer it from"
            continue
        out["inference_risk"][secret] = attacks.inference(train, holdout, syn, encoder, kinds, secret, aux, rng)
    usable_qis = [c for c in qis if c in kinds]
    if usable_qis:
        out["k_anonymity"] = {**_k_anonymity(syn, usable_qis), "source": qis_source}
    else:
        out["k_anonymity"] = None
        skipped["k_anonymity"] = "no quasi-identifier among the evaluated columns (pass quasi_identifiers=)"
    out["pii_columns"] = sorted(pii)
    out.update(_pii_leaks(raw_pii, pii))
    return out
