"""The report's "Sequences" section: how well synthetic entities' event sequences pass for real.

Built from ``metrics["temporal"]`` (:mod:`synthkit.evaluate.temporal`): the discriminator's accuracy
with its 95 % interval, said as a sentence, and the per-entity features that separate real from
synthetic entities most, each in words with its real and synthetic medians (aggregates over
entities, never an entity's own values). ``None`` when the run had no sequences.
"""

from __future__ import annotations

from typing import Any

from synthkit.report.explain import as_number, fmt_value

__all__ = ["temporal_section"]


def _pair(real: Any, synthetic: Any) -> str:
    return f"{fmt_value(real)} real vs {fmt_value(synthetic)} synthetic"


def temporal_section(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """Template context of the sequence section, or ``None`` without ``metrics["temporal"]``."""
    t = metrics.get("temporal")
    if not isinstance(t, dict):
        return None
    disc = t.get("discriminative") or {}
    acc, interval = as_number(disc.get("accuracy")), disc.get("interval")
    if acc is None:
        headline = f"No real-vs-synthetic classifier was trained: {disc.get('note') or 'too few entities'}."
    else:
        span = f" (95 % interval {fmt_value(interval[0], True)}–{fmt_value(interval[1], True)})" if interval else ""
        headline = (f"A classifier reading each entity's summary tells synthetic from real entities "
                    f"{fmt_value(acc, True)} of the time{span}; 50 % means it cannot tell them apart.")
    tells = [{"what": f.get("meaning") or f.get("feature"), "feature": f.get("feature"),
              "importance": fmt_value(f.get("importance"), True),
              "medians": _pair(f.get("real_median"), f.get("synthetic_median")) if "real_median" in f else "—"}
             for f in disc.get("top_features") or []]
    gap = (t.get("inter_event_time") or {}).get("ks")
    pred = t.get("predictive") or {}
    rows = [("Sequence length (KS, 0 ideal)", (t.get("length") or {}).get("ks")),
            ("Time between events (KS, 0 ideal)", gap),
            ("Lag-1 autocorrelation difference (0 ideal)", t.get("autocorrelation_lag1_mean_abs_diff")),
            ("The same by ranks, not led by a few extreme readings (0 ideal)", t.get("autocorrelation_lag1_rank_mean_abs_diff")),
            ("Next-step prediction error, trained on synthetic / on real (1 ideal)", pred.get("ratio"))]
    return {"headline": headline, "tells": tells,
            "rows": [{"label": label, "value": fmt_value(v)} for label, v in rows if v is not None]}
