"""Per-entity summaries of long-format sequences: what tells one whole sequence from another.

One row per entity: its length, the mean and spread of its time gaps, and for every numeric
measure its mean, spread, first and last value, the share of events it is read at and its mean
jump between readings. The temporal evaluation's discriminator reads these (``synthkit.evaluate.
temporal``), and so does the sequence model's critic (``synthkit.models.sequence_critic``), which
is why they live below both.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["entity_features"]


def entity_features(df: pd.DataFrame, entity: str, time: str | None, numeric: list[str]) -> pd.DataFrame:
    """Per-entity summaries a classifier can compare across real and synthetic data. ``df`` is sorted
    by entity, then time; a datetime time column is read in seconds."""
    g = df.groupby(entity, sort=False)
    feats = {"length": g.size()}
    if time is not None:
        t = df[time]
        if pd.api.types.is_datetime64_any_dtype(t.dtype):
            t = (t - pd.Timestamp("1970-01-01", tz=t.dt.tz)).dt.total_seconds()
        gap = t.groupby(df[entity], sort=False).diff()
        feats["gap_mean"] = gap.groupby(df[entity], sort=False).mean()
        feats["gap_std"] = gap.groupby(df[entity], sort=False).std()
    for m in numeric:
        col = g[m]
        step = df[m].groupby(df[entity], sort=False).diff().abs()
        feats.update({f"{m}_mean": col.mean(), f"{m}_std": col.std(), f"{m}_first": col.first(), f"{m}_last": col.last(),
                      f"{m}_present": col.count() / g.size(), f"{m}_step": step.groupby(df[entity], sort=False).mean()})
    return pd.DataFrame(feats)
