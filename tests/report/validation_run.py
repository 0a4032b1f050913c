"""A real Great Expectations run for report tests: expectations derived from the real data,
validated against the synthetic data, summarised in the dict layout ``render_report`` takes."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd


def run_suite(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    batch = (
        ctx.data_sources.add_pandas("synthkit")
        .add_dataframe_asset("synthetic")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": synthetic})
    )
    suite = gx.ExpectationSuite(name="real-profile")
    ex = gx.expectations
    suite.add_expectation(ex.ExpectTableColumnsToMatchSet(column_set=list(real.columns)))
    for col in real.columns:
        s = real[col]
        if s.notna().all():
            suite.add_expectation(ex.ExpectColumnValuesToNotBeNull(column=col))
        if pd.api.types.is_numeric_dtype(s):
            lo, hi = s.quantile([0.001, 0.999])
            suite.add_expectation(ex.ExpectColumnValuesToBeBetween(column=col, min_value=float(lo), max_value=float(hi), mostly=0.99))
            suite.add_expectation(ex.ExpectColumnMeanToBeBetween(column=col, min_value=float(s.mean() - 0.1 * s.std()), max_value=float(s.mean() + 0.1 * s.std())))
        elif s.nunique() <= 50:
            suite.add_expectation(ex.ExpectColumnValuesToBeInSet(column=col, value_set=sorted(s.dropna().unique().tolist())))
        else:
            suite.add_expectation(ex.ExpectColumnValuesToBeUnique(column=col, mostly=0.95))
    result = batch.validate(suite)
    results = []
    for r in result.results:
        cfg = r.expectation_config
        results.append({
            "expectation": cfg.type,
            "column": cfg.kwargs.get("column"),
            "success": bool(r.success),
            "details": dict(r.result or {}),
        })
    stats = result.statistics
    return {
        "success": bool(result.success),
        "evaluated": int(stats["evaluated_expectations"]),
        "successful": int(stats["successful_expectations"]),
        "success_percent": float(stats["success_percent"] or 0.0),
        "results": results,
    }
