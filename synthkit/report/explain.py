"""What every number in the report means, what good looks like, and the threshold it is held to.

One table so the three readers (privacy officer, data engineer, ML engineer) see the same wording
everywhere, and so a threshold reported by the evaluator (``privacy.thresholds``) replaces the
default shown here instead of contradicting it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from synthkit.report.svg import interval_bar

__all__ = ["SPECS", "Spec", "as_number", "fmt_value", "metric_row", "status_of", "threshold_overrides"]

Direction = Literal["higher", "lower", "near_half", "info"]


@dataclass(frozen=True)
class Spec:
    """How to read one metric."""

    label: str
    good: str  # one line: what good looks like
    direction: Direction
    threshold: float | None = None  # pass boundary (>= for higher, <= for lower, |x-0.5| <= for near_half)
    warn: float | None = None  # softer boundary between pass and fail, when there is one
    percent: bool = False
    gauge: bool = True  # draw the 0..1 gauge (not for counts such as k or leaks)


SPECS: dict[str, Spec] = {
    # -- fidelity
    "fidelity.score": Spec("Fidelity score", "Mean of column shapes and pair trends; 1 = identical marginals and pairwise relations. Good ≥ 0.80.", "higher", 0.8, 0.7),
    "fidelity.column_shapes": Spec("Column shapes", "Mean per-column similarity (KS complement for numbers, TV complement for categories). Good ≥ 0.85.", "higher", 0.85, 0.75),
    "fidelity.column_pair_trends": Spec("Column pair trends", "Mean similarity of pairwise correlations / contingency tables. Good ≥ 0.80.", "higher", 0.8, 0.7),
    "fidelity.detection_auc": Spec("Detection AUC", "AUC of a classifier telling real from synthetic rows; 0.5 = indistinguishable. Good ≤ 0.70.", "lower", 0.7, 0.85),
    "fidelity.alpha_precision": Spec("α-precision", "Share of synthetic rows that fall in the real data's typical region (realism). Good ≥ 0.80.", "higher", 0.8, 0.6),
    "fidelity.beta_recall": Spec("β-recall", "Share of the real data's typical region covered by synthetic rows (diversity). Good ≥ 0.50.", "higher", 0.5, 0.3),
    "fidelity.authenticity": Spec("Authenticity", "Share of synthetic rows that are not closer to a training row than real rows are to each other. Good ≥ 0.50.", "higher", 0.5, 0.3),
    # -- privacy
    "privacy.score": Spec("Privacy score", "Summary of the privacy checks below; 1 = no measurable disclosure risk. Good ≥ 0.80.", "higher", 0.8, 0.6),
    "privacy.dcr_share": Spec("DCR share", "Share of synthetic rows closer to a training row than to a holdout row; 50% = no memorisation. Good ≤ 55%.", "lower", 0.55, 0.6, True),
    "privacy.ims_train": Spec("Identical matches (train)", "Share of synthetic rows that exactly copy a training row; compare with the holdout rate below.", "info", None, None, True),
    "privacy.ims_excess": Spec("Identical-match excess", "Copies of training rows beyond the coincidental rate (train − holdout). Good ≤ 1%.", "lower", 0.01, 0.05, True),
    "privacy.ims_holdout": Spec("Identical matches (holdout)", "Same share against unseen holdout rows: the baseline rate of coincidental duplicates.", "info", None, None, True),
    "privacy.nndr.synthetic_median": Spec("NNDR (synthetic)", "Median ratio of nearest to second-nearest training distance; near the holdout value = no memorisation. Small values (≪ holdout) flag copies.", "info"),
    "privacy.nndr.holdout_median": Spec("NNDR (holdout)", "Same ratio for unseen holdout rows: the baseline.", "info"),
    "privacy.nndr.share_synthetic_below_holdout_p05": Spec("Unusually close rows (NNDR)", "Share of synthetic rows whose NNDR is below the holdout's 5th percentile; about 5% is expected. Good ≤ 15%.", "lower", 0.15, 1e12, True),
    "privacy.membership_inference_auc": Spec("Membership inference AUC", "How well an attacker tells training members from non-members using the synthetic data; 0.5 = guessing. Good ≤ 0.60.", "lower", 0.6, 0.7),
    "privacy.singling_out_risk": Spec("Singling-out risk", "Anonymeter-style risk that a predicate isolates one real person, above the control baseline. Good ≤ 10%.", "lower", 0.1, 0.2, True),
    "privacy.linkability_risk": Spec("Linkability risk", "Risk of linking two halves of a real record through the synthetic data, above baseline. Good ≤ 10%.", "lower", 0.1, 0.2, True),
    "privacy.inference_risk": Spec("Attribute inference risk", "Risk of inferring a secret column from the others, above the control baseline. Good ≤ 10%.", "lower", 0.1, 0.2, True),
    "privacy.k_anonymity.k": Spec("k-anonymity", "Smallest group of synthetic rows sharing the quasi-identifiers. Informational: synthetic rows are not people, so small groups matter only when they copy real rows (see DCR and identical matches).", "info", gauge=False),
    "privacy.k_anonymity.share_below_5": Spec("Rows in groups < 5", "Share of synthetic rows whose quasi-identifier combination is shared by fewer than 5 rows. Informational, as above; lower means less unique-looking output.", "info", None, None, True),
    "privacy.pii_leaks": Spec("PII leaks", "Real PII values (names, emails, …) found verbatim in the synthetic data. Must be 0.", "lower", 0, 0, gauge=False),
    "privacy.dp.epsilon": Spec("DP ε", "Differential-privacy budget of the training run; smaller is more private (≤ 10 is common practice).", "lower", 10, 10, gauge=False),
    # -- utility
    "utility.score": Spec("Utility score", "How much of the real-data model quality synthetic training keeps. Good ≥ 0.80.", "higher", 0.8, 0.6),
    "utility.ratio": Spec("TSTR / TRTR ratio", "Score of models trained on synthetic, tested on real, over trained on real. 1 = no loss. Good ≥ 0.90.", "higher", 0.9, 0.75),
    "utility.feature_importance_agreement": Spec("Feature-importance agreement", "Rank correlation of feature importances (real-trained vs synthetic-trained). Good ≥ 0.70.", "higher", 0.7, 0.4),
}

@dataclass(frozen=True)
class Limit:
    """Thresholds in force for one metric: ``good`` is the pass boundary, ``warn`` the fail boundary.

    ``on_ci_low`` judges the lower end of the confidence interval instead of the point estimate
    (the evaluator flags a risk only when even the optimistic end of the interval exceeds it).
    """

    good: float | None
    warn: float | None
    on_ci_low: bool = False


# prefixes the evaluator uses in privacy.thresholds → the spec keys they govern
_THRESHOLD_ALIASES: dict[str, tuple[str, ...]] = {
    "dcr_share": ("privacy.dcr_share",),
    "membership_inference_auc": ("privacy.membership_inference_auc",),
    "mia_auc": ("privacy.membership_inference_auc",),
    "attack_risk": ("privacy.singling_out_risk", "privacy.linkability_risk", "privacy.inference_risk"),
    "singling_out_risk": ("privacy.singling_out_risk",),
    "linkability_risk": ("privacy.linkability_risk",),
    "inference_risk": ("privacy.inference_risk",),
    "ims_excess": ("privacy.ims_excess",),
    "nndr_low_share": ("privacy.nndr.share_synthetic_below_holdout_p05",),
    "share_below_5": ("privacy.k_anonymity.share_below_5",),
}


def threshold_overrides(thresholds: dict[str, Any] | None) -> dict[str, Limit]:
    """Read the evaluator's thresholds: ``<metric>[_ci_low][_warn|_fail]`` or plain ``<metric>``.

    ``_warn`` (or no suffix) is where a metric stops passing; ``_fail`` where it starts failing.
    """
    found: dict[tuple[str, bool], dict[str, Any]] = {}
    for name, value in (thresholds or {}).items():
        x = as_number(value)
        if x is None:
            continue
        base, level = str(name), "good"
        if base.endswith("_fail"):
            base, level = base[:-5], "warn"
        elif base.endswith("_warn"):
            base = base[:-5]
        on_ci_low = base.endswith("_ci_low")
        base = base[:-7] if on_ci_low else base
        for key in _THRESHOLD_ALIASES.get(base, ()):
            found.setdefault((key, on_ci_low), {"on_ci_low": on_ci_low})[level] = x
    # a metric judged on its value and on its interval (membership AUC: fail > 0.60 *and* CI low
    # > 0.55) is shown with its value limits; the interval one is an extra condition, not a limit
    limits = {key: e for (key, ci), e in sorted(found.items(), key=lambda kv: not kv[0][1])}
    out = {}
    for key, e in limits.items():
        spec = SPECS[key]
        good = e.get("good", e.get("warn", spec.threshold))
        out[key] = Limit(good=good, warn=e.get("warn", spec.warn if "good" not in e else good), on_ci_low=e["on_ci_low"])
    return out


def as_number(v: Any) -> float | None:
    """A finite float from any real number (numpy scalars included), else None."""
    if isinstance(v, (bool,)) or not isinstance(v, numbers.Real) or type(v).__name__ == "bool_":
        return None
    return float(v) if math.isfinite(v) else None


def fmt_value(v: Any, percent: bool = False) -> str:
    """Numbers for humans: percentages with one decimal, others with 3 significant digits."""
    x = as_number(v)
    if x is None:
        return "—" if v is None else str(v)
    if percent:
        return f"{100 * x:.1f}%"
    if x.is_integer() and abs(x) < 1e9:
        return f"{int(x):,}"
    return f"{x:.3g}" if abs(x) >= 1e-3 else f"{x:.2e}"


def status_of(value: Any, spec: Spec, limit: Limit) -> str:
    """'good' | 'warn' | 'bad' | 'info' | 'na'."""
    x = as_number(value)
    if x is None:
        return "na"
    threshold = limit.good
    if spec.direction == "info" or threshold is None:
        return "info"
    warn = limit.warn if limit.warn is not None else threshold
    if spec.direction == "higher":
        return "good" if x >= threshold else "warn" if x >= min(warn, threshold) else "bad"
    if spec.direction == "lower":
        return "good" if x <= threshold else "warn" if x <= max(warn, threshold) else "bad"
    dist = abs(x - 0.5)
    return "good" if dist <= threshold else "warn" if dist <= warn else "bad"


def threshold_text(spec: Spec, limit: Limit) -> str:
    if limit.good is None or spec.direction == "info":
        return ""
    shown = fmt_value(limit.good, spec.percent)
    text = {"higher": f"≥ {shown}", "lower": f"≤ {shown}", "near_half": f"|x − 0.5| ≤ {shown}"}[spec.direction]
    if limit.warn is not None and limit.warn != limit.good and limit.warn < 1e9:
        fail = fmt_value(limit.warn, spec.percent)
        text += {"higher": f"; fail < {fail}", "lower": f"; fail > {fail}", "near_half": f"; fail > {fail}"}[spec.direction]
    return ("CI low " + text) if limit.on_ci_low else text


def metric_row(
    key: str,
    value: Any,
    *,
    ci: Any = None,
    skipped: str | None = None,
    overrides: dict[str, Limit] | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Everything a template needs to show one metric: value, interval, threshold, status, meaning."""
    spec = SPECS[key]
    limit = (overrides or {}).get(key) or Limit(spec.threshold, spec.warn)
    ci_pair = None
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(as_number(c) is not None for c in ci):
        ci_pair = (float(ci[0]), float(ci[1]))
    x = as_number(value)
    judged = ci_pair[0] if limit.on_ci_low and ci_pair is not None else value
    gauge = None
    if x is not None and spec.gauge and spec.direction != "info" and 0 <= x <= 1:
        gauge = interval_bar(x, *(ci_pair or (None, None)), limit.good)
    good = spec.good
    if key in (overrides or {}) and " Good" in good:  # the evaluator's threshold replaces the default wording
        good = good[: good.index(" Good")] + f" Good: {threshold_text(spec, limit)}."
    return {
        "key": key,
        "label": label or spec.label,
        "value": fmt_value(value, spec.percent) if value is not None else None,
        "ci": f"{fmt_value(ci_pair[0], spec.percent)} – {fmt_value(ci_pair[1], spec.percent)}" if ci_pair else None,
        "threshold": threshold_text(spec, limit),
        "status": status_of(judged, spec, limit),
        "good": good,
        "skipped": skipped if value is None else None,
        "gauge": gauge,
    }
