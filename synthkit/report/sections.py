"""Turn a metrics.json dict into template context: summary, privacy, fidelity scores, utility.

Every lookup tolerates missing or null keys: a metric the evaluator skipped is shown as
"not computed" with the reason from its family's ``skipped`` dict, never as a crash or a blank.
"""

from __future__ import annotations

from typing import Any

from synthkit.report import svg
from synthkit.report.explain import (
    Limit,
    as_number,
    fmt_value,
    metric_row,
    threshold_overrides,
)

__all__ = ["fidelity_scores", "overall_verdict", "privacy_section", "summary_section", "utility_section"]

_VERDICT_TEXT = {
    "pass": ("Pass", "Ready to share: no privacy check, gate or headline score missed its threshold."),
    "warn": ("Review", "Review before sharing: some checks are close to or beyond their thresholds."),
    "fail": ("Fail", "Do not share: a privacy check or quality gate failed."),
    "unknown": ("Not assessed", "Privacy was not evaluated, so no sharing verdict can be given."),
}


def _family(metrics: dict[str, Any], name: str) -> dict[str, Any]:
    fam = metrics.get(name)
    return fam if isinstance(fam, dict) else {}


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _reason(metrics: dict[str, Any], family: str, *names: str) -> str:
    fam = metrics.get(family)
    if not isinstance(fam, dict):
        return f"{family} metrics were not computed"
    skipped = fam.get("skipped") or {}
    for n in names:
        if isinstance(skipped, dict) and skipped.get(n):
            return str(skipped[n])
    if isinstance(skipped, dict) and skipped.get(family):
        return str(skipped[family])
    return "not reported by the evaluator"


def _row(metrics: dict[str, Any], key: str, *path: str, ci: Any = None, overrides: dict[str, Limit] | None = None, label: str | None = None) -> dict[str, Any]:
    family = key.split(".")[0]
    value = _get(metrics, family, *path)
    return metric_row(key, value, ci=ci, skipped=_reason(metrics, family, *path), overrides=overrides, label=label)


# -- summary -----------------------------------------------------------------------------------


def overall_verdict(metrics: dict[str, Any], headline: list[dict[str, Any]] | None = None) -> tuple[str, list[str]]:
    """Worst of the privacy verdict, the pipeline's gates and the headline scores, with reasons.

    Privacy decides whether the data may be shared; a failing headline score (weak fidelity or
    utility) cannot make sharing unsafe, but it turns a pass into "review": safe yet maybe useless.
    """
    reasons: list[str] = []
    verdict = str(_get(metrics, "privacy", "verdict") or "unknown").lower()
    verdict = verdict if verdict in _VERDICT_TEXT else "unknown"
    reasons.extend(str(r) for r in (_get(metrics, "privacy", "reasons") or []))
    for row in headline or []:
        if row["status"] == "bad":
            reasons.append(f"{row['label'].lower()} {row['value']} misses its threshold ({row['threshold']})")
            verdict = "warn" if verdict == "pass" else verdict
    failed = [g for g in (metrics.get("gates") or []) if isinstance(g, dict) and not g.get("passed", True)]
    for g in failed:
        reasons.append(f"quality gate failed: {g.get('gate')} (value {fmt_value(g.get('value'))})")
    if failed or metrics.get("status") == "gate_failed":
        verdict = "fail"
    return verdict, reasons


def summary_section(metrics: dict[str, Any], run: dict[str, Any], n_columns: int, kinds: dict[str, int]) -> dict[str, Any]:
    headline = [
        _row(metrics, "fidelity.score", "score"),
        _row(metrics, "privacy.score", "score"),
        _row(metrics, "utility.score", "score"),
    ]
    verdict, reasons = overall_verdict(metrics, headline)
    title, meaning = _VERDICT_TEXT[verdict]
    privacy_verdict = str(_get(metrics, "privacy", "verdict") or "").lower()
    if verdict == "fail" and privacy_verdict != "fail":
        meaning = (f"A quality gate failed: the run missed the bar its configuration sets "
                   f"(privacy verdict: {privacy_verdict or 'not assessed'}).")
    elif verdict == "fail":
        meaning = "Do not share: a privacy check failed."
    rows = _get(metrics, "meta", "rows") or {}
    kinds_txt = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    dataset = run.get("dataset") or "dataset"
    dataset_line = str(dataset)
    if "training rows" not in dataset_line:  # the pipeline's description may already say it
        dataset_line += f" — {fmt_value(rows.get('real'))} training rows"
    if rows.get("holdout"):
        dataset_line += f", {fmt_value(rows.get('holdout'))} holdout rows"
    dataset_line += f", {n_columns} columns ({kinds_txt})"
    params = run.get("model_params") or {}
    shown = ", ".join(f"{k}={v}" for k, v in list(params.items())[:4]) if isinstance(params, dict) else ""
    model_line = f"{run.get('model') or 'model not recorded'}" + (f" ({shown})" if shown else "")
    model_line += f" — {fmt_value(rows.get('synthetic'))} synthetic rows"
    return {
        "verdict": verdict,
        "verdict_title": title,
        "verdict_meaning": meaning,
        "reasons": reasons,
        "gates": [{"gate": str(g.get("gate")), "passed": bool(g.get("passed")), "value": fmt_value(g.get("value"))}
                  for g in (metrics.get("gates") or []) if isinstance(g, dict)],
        "headline": headline,
        "dataset_line": dataset_line,
        "model_line": model_line,
        "status": metrics.get("status"),
    }


# -- privacy -----------------------------------------------------------------------------------


def _dcr_chart(ecdf: Any) -> str:
    """ECDF lines; the top 5% of distances are cut so that far outliers do not squash the near end,
    where memorisation shows."""
    if not isinstance(ecdf, dict):
        return ""
    qs = [float(q) for q in (ecdf.get("quantiles") or []) if as_number(q) is not None]
    keep = [i for i, q in enumerate(qs) if q <= 0.95]
    series = {}
    for key, name in (("synthetic_to_train", "synthetic → train"), ("synthetic_to_holdout", "synthetic → holdout"),
                      ("holdout_to_train", "holdout → train")):
        vals = ecdf.get(key) or []
        if len(vals) == len(qs) and vals and all(as_number(v) is not None for v in vals):
            series[name] = ([float(vals[i]) for i in keep], [qs[i] for i in keep])
    if len(series) < 1:
        return ""
    return svg.lines_chart(series, title="ECDF of distances to closest record", x_label="distance to closest record", y_label="share of synthetic rows", x_min=0.0, y_max=1.0)


def privacy_section(metrics: dict[str, Any], pii_columns: list[dict[str, str]]) -> dict[str, Any]:
    priv = _family(metrics, "privacy")
    ov = threshold_overrides(priv.get("thresholds"))
    rows = [
        _row(metrics, "privacy.score", "score", overrides=ov),
        _row(metrics, "privacy.dcr_share", "dcr_share", ci=priv.get("dcr_share_ci"), overrides=ov),
        _row(metrics, "privacy.ims_train", "ims_train", ci=priv.get("ims_train_ci"), overrides=ov),
        _row(metrics, "privacy.ims_holdout", "ims_holdout", ci=priv.get("ims_holdout_ci"), overrides=ov),
        _row(metrics, "privacy.nndr.synthetic_median", "nndr", "synthetic_median", overrides=ov),
        _row(metrics, "privacy.nndr.holdout_median", "nndr", "holdout_median", overrides=ov),
        _row(metrics, "privacy.membership_inference_auc", "membership_inference_auc", ci=priv.get("membership_inference_auc_ci"), overrides=ov),
    ]
    ims_t, ims_h = as_number(priv.get("ims_train")), as_number(priv.get("ims_holdout"))
    excess = max(ims_t - ims_h, 0.0) if ims_t is not None and ims_h is not None else None
    rows.insert(4, metric_row("privacy.ims_excess", excess, overrides=ov, skipped=_reason(metrics, "privacy", "ims_train", "ims_holdout")))
    rows.insert(7, _row(metrics, "privacy.nndr.share_synthetic_below_holdout_p05", "nndr", "share_synthetic_below_holdout_p05", overrides=ov))
    attacks = []
    for key, name, label in (("privacy.singling_out_risk", "singling_out", "Singling out"), ("privacy.linkability_risk", "linkability", "Linkability")):
        detail = priv.get(name) if isinstance(priv.get(name), dict) else {}
        row = metric_row(key, priv.get(f"{name}_risk"), ci=priv.get(f"{name}_risk_ci"), overrides=ov, label=label,
                         skipped=_reason(metrics, "privacy", f"{name}_risk", name))
        attacks.append(row | {"attack_rate": fmt_value(detail.get("attack_rate"), True), "control_rate": fmt_value(detail.get("control_rate"), True)})
    inference = priv.get("inference_risk")
    if isinstance(inference, dict) and inference:
        for col, r in inference.items():
            r = r if isinstance(r, dict) else {}
            row = metric_row("privacy.inference_risk", r.get("risk"), ci=r.get("risk_ci"), overrides=ov, label=f"Inference of {col}",
                             skipped="not reported by the evaluator")
            attacks.append(row | {"attack_rate": fmt_value(r.get("attack_rate"), True), "control_rate": fmt_value(r.get("control_rate"), True)})
    else:
        row = metric_row("privacy.inference_risk", None, overrides=ov, label="Attribute inference", skipped=_reason(metrics, "privacy", "inference_risk"))
        attacks.append(row | {"attack_rate": "—", "control_rate": "—"})
    kanon = priv.get("k_anonymity") if isinstance(priv.get("k_anonymity"), dict) else {}
    k_rows = [
        _row(metrics, "privacy.k_anonymity.k", "k_anonymity", "k", overrides=ov),
        _row(metrics, "privacy.k_anonymity.share_below_5", "k_anonymity", "share_below_5", overrides=ov),
    ]
    dp = priv.get("dp") if isinstance(priv.get("dp"), dict) else None
    verdict = str(priv.get("verdict") or "unknown").lower()
    return {
        "computed": bool(priv),
        "reason": _reason(metrics, "privacy", "privacy"),
        "verdict": verdict if verdict in _VERDICT_TEXT else "unknown",
        "verdict_title": _VERDICT_TEXT.get(verdict, _VERDICT_TEXT["unknown"])[0],
        "reasons": [str(r) for r in (priv.get("reasons") or [])],
        "rows": rows,
        "attacks": attacks,
        "k_rows": k_rows,
        "quasi_identifiers": [str(q) for q in (kanon.get("quasi_identifiers") or [])],
        "interval_entities": priv.get("synthetic_entities") if priv.get("row_intervals") == "by entity" else None,
        "dcr_svg": _dcr_chart(priv.get("dcr_ecdf")),
        "dcr_reason": _reason(metrics, "privacy", "dcr_ecdf", "dcr_share"),
        "dcr_baseline": isinstance(priv.get("dcr_ecdf"), dict) and bool(priv["dcr_ecdf"].get("holdout_to_train")),
        "pii_leak": _row(metrics, "privacy.pii_leaks", "pii_leaks", overrides=ov),
        "pii_columns": pii_columns,
        "dp": metric_row("privacy.dp.epsilon", dp.get("epsilon"), overrides=ov) | {"delta": fmt_value(dp.get("delta")), "statement": dp.get("statement")} if dp else None,
        "thresholds": [(k, fmt_value(v)) for k, v in (priv.get("thresholds") or {}).items()],
        "skipped": [(k, str(v)) for k, v in (priv.get("skipped") or {}).items()],
    }


# -- fidelity (scores; charts come from aggregates) ----------------------------------------------


def fidelity_scores(metrics: dict[str, Any]) -> dict[str, Any]:
    fid = _family(metrics, "fidelity")
    rows = [
        _row(metrics, "fidelity.score", "score"),
        _row(metrics, "fidelity.column_shapes", "column_shapes"),
        _row(metrics, "fidelity.column_pair_trends", "column_pair_trends"),
        _row(metrics, "fidelity.detection_auc", "detection_auc", ci=fid.get("detection_auc_ci")),
        _row(metrics, "fidelity.alpha_precision", "alpha_precision"),
        _row(metrics, "fidelity.beta_recall", "beta_recall"),
        _row(metrics, "fidelity.authenticity", "authenticity"),
    ]
    pairs = []
    for name, p in (fid.get("pairs") or {}).items():
        if isinstance(p, dict) and as_number(p.get("score")) is not None:
            a, _, b = str(name).partition("|")
            pairs.append({"a": a, "b": b, "metric": p.get("metric") or "", "score": float(p["score"]),
                          "real": fmt_value(p.get("real")), "synthetic": fmt_value(p.get("synthetic"))})
    pairs.sort(key=lambda p: p["score"])
    cols = {}
    for name, c in (fid.get("columns") or {}).items():
        if isinstance(c, dict):
            cols[str(name)] = {
                "metric": c.get("metric") or "",
                "score": c.get("score"),
                "score_txt": fmt_value(c.get("score")),
                "wasserstein": fmt_value(c.get("wasserstein")),
                "jensen_shannon": fmt_value(c.get("jensen_shannon")),
            }
    scored = sorted(((n, float(c["score"])) for n, c in cols.items() if as_number(c["score"]) is not None), key=lambda t: t[1])
    return {
        "computed": bool(fid),
        "reason": _reason(metrics, "fidelity", "fidelity"),
        "rows": rows,
        "columns": cols,
        "worst_svg": svg.hbars(scored[:15], title="lowest column scores", max_value=1.0, min_value=_axis_floor(scored)) if scored else "",
        "worst_floor": _axis_floor(scored) if scored else 0.0,
        "worst_pairs": pairs[:10],
        "definition": str(fid["score_definition"]) if fid.get("score_definition") else None,
        "n_pairs": len(pairs),
        "skipped": [(k, str(v)) for k, v in (fid.get("skipped") or {}).items()],
    }


# -- utility -----------------------------------------------------------------------------------


def _axis_floor(scored: list[tuple[str, float]]) -> float:
    """Start the score axis a little below the lowest score so that differences near 1 show."""
    low = min(v for _, v in scored)
    return max(0.0, float(int(low * 10)) / 10 - 0.1)


def utility_section(metrics: dict[str, Any]) -> dict[str, Any]:
    ut = _family(metrics, "utility")
    models = []
    for name, m in (ut.get("models") or {}).items():
        if not isinstance(m, dict):
            continue
        trtr, tstr = m.get("trtr") or {}, m.get("tstr") or {}
        names = list(dict.fromkeys([*trtr, *tstr]))
        lines = []
        for metric in names:
            a, b = trtr.get(metric), tstr.get(metric)
            gap = float(b) - float(a) if as_number(a) is not None and as_number(b) is not None else None
            lines.append({"metric": metric, "trtr": fmt_value(a), "tstr": fmt_value(b), "gap": fmt_value(gap) if gap is not None else "—"})
        models.append({"name": name, "lines": lines, "ratio": metric_row("utility.ratio", m.get("ratio"), skipped="not reported")})
    lift = ut.get("augmentation_lift")
    fi = ut.get("feature_importance") if isinstance(ut.get("feature_importance"), dict) else {}
    return {
        "fi_svg": _importance_chart(fi),
        "fi_method": str(fi.get("method") or "feature importances"),
        "computed": bool(ut),
        "reason": _reason(metrics, "utility", "utility"),
        "target": ut.get("target"),
        "task": ut.get("task"),
        "primary_metric": ut.get("primary_metric"),
        "test_set": ut.get("test_set"),
        "rows": [
            _row(metrics, "utility.score", "score"),
            _row(metrics, "utility.ratio", "ratio"),
            _row(metrics, "utility.feature_importance_agreement", "feature_importance_agreement"),
        ],
        "models": models,
        "models_reason": _reason(metrics, "utility", "models", "tstr"),
        "lift": [(k, fmt_value(v)) for k, v in lift.items()] if isinstance(lift, dict) else None,
        "lift_text": _lift_text(lift) if isinstance(lift, dict) else None,
        "lift_reason": _reason(metrics, "utility", "augmentation_lift"),
        "skipped": [(k, str(v)) for k, v in (ut.get("skipped") or {}).items()],
    }


def _lift_text(lift: dict[str, Any]) -> str | None:
    """One sentence for the augmentation experiment, when the evaluator's usual keys are there."""
    base, aug, gain = (as_number(lift.get(k)) for k in ("real_only", "augmented", "lift"))
    if base is None or aug is None:
        return None
    gain = aug - base if gain is None else gain
    how = ", ".join(str(lift[k]) for k in ("model", "metric") if lift.get(k))
    rows = ""
    if lift.get("real_rows") is not None and lift.get("synthetic_rows") is not None:
        rows = f" ({fmt_value(lift['real_rows'])} real rows + {fmt_value(lift['synthetic_rows'])} synthetic rows)"
    return f"{how + ': ' if how else ''}real only {fmt_value(base)} → real + synthetic {fmt_value(aug)}{rows}; lift {gain:+.3f}"


def _importance_chart(fi: dict[str, Any]) -> str:
    real, syn = fi.get("real"), fi.get("synthetic")
    if not isinstance(real, dict) or not isinstance(syn, dict) or not real:
        return ""
    names = [n for n in real if as_number(real[n]) is not None]
    r = {n: max(float(real[n]), 0.0) for n in names}
    s = {n: max(as_number(syn.get(n)) or 0.0, 0.0) for n in names}
    rt, st = sum(r.values()) or 1.0, sum(s.values()) or 1.0
    names = sorted(names, key=lambda n: -r[n])[:20]
    return svg.paired_bars(names, [r[n] / rt for n in names], [s[n] / st for n in names], rotate=True, width=720, height=210,
                           title="feature importance shares")
