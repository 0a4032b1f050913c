"""Evaluate: how faithful, how private and how useful synthetic data is (``metrics.json``)."""

from synthkit.evaluate.evaluation import FAMILIES, SCHEMA_VERSION, Evaluation, evaluate
from synthkit.evaluate.inputs import split_holdout, split_units
from synthkit.evaluate.verdict import THRESHOLDS

__all__ = ["FAMILIES", "SCHEMA_VERSION", "THRESHOLDS", "Evaluation", "evaluate", "split_holdout", "split_units"]
