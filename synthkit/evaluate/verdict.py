"""The privacy verdict: pass / warn / fail, with every reason in plain words.

A verdict must be explainable to a data protection officer, so each rule is one comparison with
a named threshold, the thresholds are written into ``metrics.json`` and ``docs/metrics.md``, and
each triggered rule adds one sentence. ``fail`` = clear evidence the output reveals training rows;
``warn`` = a measurable but small excess over the holdout reference.
"""

from __future__ import annotations

from typing import Any

from synthkit.evaluate.stats import clip01

__all__ = ["THRESHOLDS", "privacy_verdict"]

THRESHOLDS: dict[str, float] = {
    "dcr_share_ci_low_fail": 0.60,
    "dcr_share_ci_low_warn": 0.55,
    "ims_excess_fail": 0.05,
    "ims_excess_warn": 0.01,
    "membership_inference_auc_fail": 0.60,
    "membership_inference_auc_ci_low_fail": 0.55,
    "membership_inference_auc_warn": 0.55,
    "attack_risk_ci_low_fail": 0.25,
    "attack_risk_ci_low_warn": 0.05,
    "nndr_low_share_warn": 0.15,
    "pii_direct_leaks_fail": 1,
    "pii_other_leaks_warn": 1,
}


def _attack_rules(name: str, label: str, risk: float | None, ci: list | None, t: dict, fails: list, warns: list) -> None:
    if risk is None or not ci or ci[0] is None:
        return
    if ci[0] > t["attack_risk_ci_low_fail"]:
        fails.append(f"{label} risk is {risk:.2f} (95% CI from {ci[0]:.2f}): an attacker using the synthetic data "
                     f"succeeds clearly more often on training rows than on unseen rows")
    elif ci[0] > t["attack_risk_ci_low_warn"]:
        warns.append(f"{label} risk is {risk:.2f} (95% CI from {ci[0]:.2f}), above the {t['attack_risk_ci_low_warn']:.2f} "
                     f"warning level")


def privacy_verdict(p: dict[str, Any], thresholds: dict[str, float] | None = None) -> tuple[str, list[str], float]:
    """(verdict, reasons, score) from the privacy family's numbers; score 1 = no measurable leakage."""
    t = {**THRESHOLDS, **(thresholds or {})}
    fails: list[str] = []
    warns: list[str] = []
    parts: list[float] = []

    share, ci = p.get("dcr_share"), p.get("dcr_share_ci")
    if share is not None and ci and ci[0] is not None:
        parts.append(clip01((share - 0.5) / 0.5))
        msg = (f"{share:.0%} of synthetic rows are closer to a training row than to any holdout row "
               f"(95% CI {ci[0]:.2f}-{ci[1]:.2f}; 50% expected when nothing is memorized)")
        if ci[0] > t["dcr_share_ci_low_fail"]:
            fails.append(msg)
        elif ci[0] > t["dcr_share_ci_low_warn"]:
            warns.append(msg)

    it, ih = p.get("ims_train"), p.get("ims_holdout")
    if it is not None and ih is not None:
        excess = it - ih
        parts.append(clip01(excess / max(1.0 - ih, 1e-9)))
        significant = (p.get("ims_train_ci") or [0])[0] > (p.get("ims_holdout_ci") or [0, 1])[1]
        msg = (f"{it:.1%} of synthetic rows are exact copies of training rows versus {ih:.1%} that match "
               f"holdout rows")
        if excess > t["ims_excess_fail"]:
            fails.append(msg)
        elif excess > t["ims_excess_warn"] and significant:
            warns.append(msg)

    auc = p.get("membership_inference_auc")
    if auc is not None:
        parts.append(clip01((auc - 0.5) / 0.5))
        msg = f"a membership inference attack tells training rows from unseen rows with AUC {auc:.2f} (0.5 = guessing)"
        auc_lo = (p.get("membership_inference_auc_ci") or [auc])[0]
        auc_lo = auc if auc_lo is None else auc_lo
        # fail needs evidence, not just a high estimate: on a few dozen rows (a small table, or
        # entities held out whole) an AUC of 0.7 can be noise, and its interval then says so
        if auc > t["membership_inference_auc_fail"] and auc_lo > t["membership_inference_auc_ci_low_fail"]:
            fails.append(f"{msg}, 95% CI from {auc_lo:.2f}")
        elif auc > t["membership_inference_auc_warn"] and auc_lo > 0.5:
            warns.append(f"{msg}, 95% CI from {auc_lo:.2f}")
        elif auc > t["membership_inference_auc_fail"]:
            warns.append(f"{msg}, but on too few rows to be conclusive (95% CI from {auc_lo:.2f}): check with more data")

    nndr = p.get("nndr") or {}
    low = nndr.get("share_synthetic_below_holdout_p05")
    if low is not None and low > t["nndr_low_share_warn"]:
        warns.append(f"{low:.0%} of synthetic rows sit unusually tight against one training row (nearest-neighbour "
                     f"distance ratio below what 95% of holdout rows show)")

    for key, label in (("singling_out_risk", "Singling-out"), ("linkability_risk", "Linkability")):
        _attack_rules(key, label, p.get(key), p.get(f"{key}_ci"), t, fails, warns)
        if p.get(key) is not None:
            parts.append(float(p[key]))
    for col, res in (p.get("inference_risk") or {}).items():
        _attack_rules(col, f"Inference of {col!r}", res.get("risk"), res.get("risk_ci"), t, fails, warns)
        if res.get("risk") is not None:
            parts.append(float(res["risk"]))

    direct, total = int(p.get("pii_leaks_direct") or 0), int(p.get("pii_leaks") or 0)
    if direct >= t["pii_direct_leaks_fail"]:
        fails.append(f"{direct} real direct identifiers (emails, phone numbers, IDs...) appear verbatim in the synthetic data")
        parts.append(1.0)
    elif total - direct >= t["pii_other_leaks_warn"]:
        warns.append(f"{total - direct} real PII values (names, cities, zip codes...) appear verbatim in the synthetic "
                     f"data; common values can coincide by chance, check them")

    score = 1.0 - max(parts, default=0.0)
    if fails:
        return "fail", fails + warns, score
    if warns:
        return "warn", warns, score
    return "pass", ["no measure shows the synthetic data revealing training rows more than unseen rows"], score
