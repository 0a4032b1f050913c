"""Anonymeter-style attacks: singling out, linkability, inference (Giomi et al., PoPETs 2023),
and a membership-inference attack with an explicit attacker reference sample.

anonymeter itself pins numpy<1.27, so it cannot live beside numpy 2; this is our own vectorized
implementation of the published method. Every attack is run twice with the *same* attacker
knowledge (the synthetic data): against training rows (the model saw them) and against control
rows (the holdout, never seen). Only the excess of the first over the second is privacy risk:

    risk = (attack_rate - control_rate) / (1 - control_rate)

with Wilson success rates and first-order error propagation for the 95% interval, as anonymeter.
Rows are compared on the shared mixed-type encoding (Euclidean, Gower-like), where anonymeter uses
an L1 Gower distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthkit.evaluate.encoding import CONTINUOUS, MixedEncoder
from synthkit.evaluate.stats import Z95, attack_risk, auc_with_ci, fnum, knn, success_rate

__all__ = ["inference", "linkability", "membership_inference", "singling_out"]


def _result(n_attack: int, n_control: int, n: int, **extra: Any) -> dict[str, Any]:
    attack, control = success_rate(n_attack, n), success_rate(n_control, n)
    risk, (lo, hi) = attack_risk(attack, control)
    return {"risk": fnum(risk), "risk_ci": [fnum(lo), fnum(hi)], "attack_rate": fnum(attack[0]),
            "control_rate": fnum(control[0]), "n_attacks": n, **extra}


def singling_out(
    train: pd.DataFrame, control: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, str],
    rng: np.random.Generator, n_attacks: int = 500, n_cols: int = 3, max_rounds: int = 5,
) -> dict[str, Any]:
    """Multivariate singling out: predicates unique in the synthetic data, tried on train vs control.

    Each predicate takes ``n_cols`` random columns of a random synthetic row: equality for
    categories, ``>=``/``<=`` the row's value for numbers (towards the tail beyond the median, as
    anonymeter does), ``isna`` for missing values. A predicate that isolates exactly one synthetic
    row is an attack; it succeeds when it isolates exactly one training (or control) row.
    """
    cols = list(kinds)
    n_cols = min(n_cols, len(cols))
    # all comparisons on floats: categories become codes shared by the three frames, NaN = missing
    frames = {"syn": syn, "train": train, "control": control}
    arrays: dict[str, dict[str, np.ndarray]] = {k: {} for k in frames}
    for col in cols:
        if kinds[col] in CONTINUOUS:
            for k, f in frames.items():
                arrays[k][col] = f[col].to_numpy(dtype=float)
        else:
            both = pd.concat([f[col] for f in frames.values()], ignore_index=True).astype("object")
            codes = pd.factorize(both, use_na_sentinel=True)[0].astype(float)
            codes[codes < 0] = np.nan
            start = 0
            for k, f in frames.items():
                arrays[k][col] = codes[start:start + len(f)]
                start += len(f)
    medians = {c: float(np.nanmedian(arrays["syn"][c])) for c in cols if kinds[c] in CONTINUOUS}

    def counts(which: str, rows: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """Rows of frame ``which`` matching each candidate predicate; work ~ n_cand * n_cols * rows."""
        n_cand = len(rows)
        data = arrays[which]
        n_rows = len(next(iter(data.values())))
        out = np.zeros(n_cand, dtype=np.int64)
        for start in range(0, n_cand, 256):
            block = np.arange(start, min(start + 256, n_cand))
            mask = np.ones((len(block), n_rows), dtype=bool)
            for slot in range(n_cols):
                col_idx = chosen[block, slot]
                for j in np.unique(col_idx):
                    col = cols[j]
                    local = np.flatnonzero(col_idx == j)
                    v = arrays["syn"][col][rows[block[local]]][:, None]
                    x = data[col][None, :]
                    if kinds[col] in CONTINUOUS:
                        upper = v > medians[col]
                        cond = np.where(upper, x >= v, x <= v)  # NaN rows fail numeric bounds
                    else:
                        cond = x == v
                    cond = np.where(np.isnan(v), np.isnan(x), cond)  # a missing value asks "is missing"
                    mask[local] &= cond
            out[block] = mask.sum(axis=1)
        return out

    # like anonymeter, draw candidate predicates until enough isolate one synthetic row
    found_rows, found_cols, seen = [], [], set()
    n_found = 0
    for _ in range(max_rounds):
        rows = rng.integers(0, len(syn), size=4 * n_attacks)
        chosen = np.sort(np.argsort(rng.random((len(rows), len(cols))), axis=1)[:, :n_cols], axis=1)
        keys = [tuple(k) for k in np.column_stack([rows, chosen])]  # same row + columns = same predicate
        fresh = np.array([i for i, k in enumerate(keys) if k not in seen and not seen.add(k)], dtype=np.int64)
        if len(fresh) == 0:
            continue
        rows, chosen = rows[fresh], chosen[fresh]
        hit = counts("syn", rows, chosen) == 1
        found_rows.append(rows[hit])
        found_cols.append(chosen[hit])
        n_found += int(hit.sum())
        if n_found >= n_attacks:
            break
    if n_found == 0:
        return {**_result(0, 0, 0), "note": "no predicate isolates a single synthetic row"}
    rows, chosen = np.concatenate(found_rows)[:n_attacks], np.concatenate(found_cols)[:n_attacks]
    ct, cc = counts("train", rows, chosen), counts("control", rows, chosen)
    return _result(int((ct == 1).sum()), int((cc == 1).sum()), len(rows), n_cols=n_cols)


def linkability(
    train: pd.DataFrame, control: pd.DataFrame, syn: pd.DataFrame, encoder: MixedEncoder,
    aux_cols: tuple[list[str], list[str]], rng: np.random.Generator, n_attacks: int = 2000, n_neighbors: int = 1,
) -> dict[str, Any]:
    """Can the synthetic data link two halves of one real record (columns A vs columns B)?

    For each target row, the nearest synthetic rows on columns A and on columns B are found; the
    attack succeeds when the two neighbour sets share a row.
    """
    n = min(n_attacks, len(train), len(control))
    syn_a, syn_b = encoder.transform(syn, aux_cols[0]), encoder.transform(syn, aux_cols[1])

    def links(frame: pd.DataFrame) -> int:
        target = frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))]
        _, ia = knn(syn_a, encoder.transform(target, aux_cols[0]), k=n_neighbors)
        _, ib = knn(syn_b, encoder.transform(target, aux_cols[1]), k=n_neighbors)
        hit = (ia[:, :, None] == ib[:, None, :]).any(axis=(1, 2))
        return int(hit.sum())

    return _result(links(train), links(control), n, n_neighbors=n_neighbors, aux_cols=[aux_cols[0], aux_cols[1]])


def inference(
    train: pd.DataFrame, control: pd.DataFrame, syn: pd.DataFrame, encoder: MixedEncoder, kinds: dict[str, str],
    secret: str, aux: list[str], rng: np.random.Generator, n_attacks: int = 5000, tolerance: float = 0.05,
) -> dict[str, Any]:
    """Guess ``secret`` of a target from its nearest synthetic row on the ``aux`` columns.

    Categories must match exactly; numbers within ``tolerance`` relative error (anonymeter's rule).
    """
    n = min(n_attacks, len(train), len(control))
    syn_aux = encoder.transform(syn, aux)
    syn_secret = syn[secret].to_numpy()

    def correct(frame: pd.DataFrame) -> int:
        target = frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))]
        _, idx = knn(syn_aux, encoder.transform(target, aux), k=1)
        guess, truth = syn_secret[idx[:, 0]], target[secret].to_numpy()
        if kinds[secret] in CONTINUOUS:
            g, t = guess.astype(float), truth.astype(float)
            ok = np.abs(g - t) <= tolerance * np.abs(t) + 1e-12
            ok |= np.isnan(g) & np.isnan(t)
        else:
            ok = (guess == truth) | (pd.isna(guess) & pd.isna(truth))
        return int(ok.sum())

    return _result(correct(train), correct(control), n, aux_cols=aux)


def membership_inference(
    members: pd.DataFrame, non_members: pd.DataFrame, reference: pd.DataFrame, syn: pd.DataFrame,
    kinds: dict[str, str], k: int = 1,
) -> dict[str, Any]:
    """Two black-box membership attacks on a synthetic release; AUC 0.5 = no membership signal.

    Unlike the in-evaluation attack (which must carve its reference out of an equal-sized holdout),
    the attacker here holds its own ``reference`` sample of the population, disjoint from both the
    ``members`` (training rows) and the ``non_members``; it also fits the distance encoding, so
    no target row shapes the attacker's tools. Scores per target row x:

    - ``dcr``: −d_k(x, synthetic): close to a synthetic row ⇒ member (distance to closest record);
    - ``density_ratio``: log d_k(x, reference) − log d_k(x, synthetic), the DOMIAS score (van Breugel
      et al., AISTATS 2023) with k-nearest-neighbour densities: the synthetic density around x
      relative to the population's, which discounts rows that are merely typical.

    AUC with the Hanley-McNeil 95 % interval; ``se`` is that interval's standard error.
    """
    enc = MixedEncoder({c: kinds[c] for c in kinds}).fit(reference)
    queries = np.vstack([enc.transform(members), enc.transform(non_members)])
    labels = np.r_[np.ones(len(members), dtype=bool), np.zeros(len(non_members), dtype=bool)]
    d_syn = knn(enc.transform(syn), queries, k=k)[0][:, -1]
    d_ref = knn(enc.transform(reference), queries, k=k)[0][:, -1]
    tiny = 1e-6
    out: dict[str, Any] = {"k": k, "members": len(members), "non_members": len(non_members),
                           "reference_rows": len(reference), "synthetic_rows": len(syn)}
    for name, score in (("dcr", -d_syn), ("density_ratio", np.log(d_ref + tiny) - np.log(d_syn + tiny))):
        auc, (lo, hi) = auc_with_ci(labels, score)
        out[name] = {"auc": fnum(auc), "auc_ci": [fnum(lo), fnum(hi)], "se": fnum((hi - lo) / (2 * Z95))}
    return out
