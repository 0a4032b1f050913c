"""Small bundled demo data with license notes (see ``LICENSES.md`` beside this file).

Only what the demo and example pipelines need ships inside the package, compressed; tests and
benchmarks read the full public datasets from ``../shared/datasets`` instead.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from synthkit.errors import DataError
from synthkit.io import Dataset, write
from synthkit.io.sql import db_error, engine_for, redact_url
from synthkit.meta import Relationship

__all__ = ["ADULT_COLUMNS", "ICU_CONTEXT", "icu_wide", "load", "names", "path", "to_sql"]

log = logging.getLogger(__name__)

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
]

_DESCRIPTIONS = {
    "adult": "UCI Adult census income (1994 US Census extract): 32,561 train + 16,281 test rows, 15 columns. CC BY 4.0.",
    "diabetes": "UCI Diabetes 130-US hospitals 1999-2008 (Strack et al. 2014): 20,000-encounter subset, "
    "16,000 train + 4,000 test rows, 50 columns; target readmitted. CC BY 4.0.",
    "icu": "PhysioNet 2012 ICU (Silva et al. 2012): 500 stays, first 48 h, 15 vitals/labs in long format "
    "(RecordID, Time in minutes, static Age/Gender/Height) + outcomes. ODC-By 1.0.",
    "ehr": "Synthea synthetic EHR sample (MITRE Synthea, not real people): 59 patients -> 2,590 encounters -> "
    "1,534 conditions and 21,697 observations, as a multi-table Dataset. Apache-2.0 generator, synthetic content.",
}
ICU_CONTEXT = ["Age", "Gender", "Height"]


def names() -> dict[str, str]:
    """Bundled dataset names with a one-line description each."""
    return dict(_DESCRIPTIONS)


def path(filename: str) -> Path:
    """Filesystem path of a bundled data file."""
    return Path(str(resources.files("synthkit.datasets") / "data" / filename))


def load(name: str) -> Any:
    """``(train, test)`` DataFrames of a bundled dataset.

    Sequence and multi-table data have other shapes: ``load("icu")`` is ``(events, outcomes)`` —
    events in long format, one row per (RecordID, Time) with the per-stay context columns
    ``ICU_CONTEXT`` repeated on each row, outcomes one row per stay; ``load("ehr")`` is a
    :class:`synthkit.io.Dataset` (patients → encounters → conditions/observations, dates parsed).
    """
    if name == "adult":
        return _read_adult("adult.data.gz"), _read_adult("adult.test.gz")
    if name == "diabetes":
        return _read_diabetes()
    if name == "icu":
        events = icu_wide(pd.read_csv(path("icu_long.csv.gz"), compression="gzip"))
        return events, pd.read_csv(path("icu_outcomes.csv.gz"), compression="gzip")
    if name == "ehr":
        return _read_ehr()
    raise DataError(f"unknown bundled dataset {name!r}; available: {', '.join(sorted(_DESCRIPTIONS))}")


def to_sql(name: str, url: str, table: str) -> None:
    """Demo helper: fill SQL table ``table`` from a bundled dataset's training split when it does not exist yet."""
    engine = engine_for(url)
    try:
        exists = sa.inspect(engine).has_table(table)
    except sa.exc.SQLAlchemyError as exc:
        raise db_error(f"cannot open {redact_url(url)}", url, exc) from None
    finally:
        engine.dispose()
    if not exists:
        write(load(name)[0], url, table=table, if_exists="fail")
        log.info("created table %s in %s from bundled dataset %s", table, redact_url(url), name)


def _read_diabetes() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled encounter subset; a fixed 80/20 split by row order (it was drawn at random)."""
    df = pd.read_csv(path("diabetes.csv.gz"), na_values=["?"], keep_default_na=False, compression="gzip",
                     dtype={"diag_1": str, "diag_2": str, "diag_3": str})
    cut = int(len(df) * 0.8)
    return df.iloc[:cut].reset_index(drop=True), df.iloc[cut:].reset_index(drop=True)


def _read_adult(filename: str) -> pd.DataFrame:
    df = pd.read_csv(
        path(filename),
        header=None,
        names=ADULT_COLUMNS,
        sep=",",
        skipinitialspace=True,
        na_values=["?"],
        keep_default_na=False,
        compression="gzip",
    )
    df["income"] = df["income"].str.rstrip(".")
    return df


def icu_wide(long: pd.DataFrame) -> pd.DataFrame:
    """PhysioNet 2012 ``RecordID, Time ("HH:MM"), Parameter, Value`` rows → one row per
    (RecordID, Time in minutes) with a column per measure and the static descriptors
    (``ICU_CONTEXT``; -1 = unknown becomes missing, Gender as F/M) repeated on each row of the stay."""
    hours, minutes = long["Time"].str.split(":", expand=True).astype(int).T.to_numpy()
    long = long.assign(Time=hours * 60 + minutes, Value=long["Value"].where(long["Value"] != -1))
    static = long[long["Parameter"].isin(ICU_CONTEXT)].pivot_table(
        index="RecordID", columns="Parameter", values="Value", aggfunc="first", dropna=False)
    static = static.reindex(columns=ICU_CONTEXT)
    series = long[~long["Parameter"].isin(ICU_CONTEXT + ["RecordID"])].dropna(subset=["Value"])
    wide = series.pivot_table(index=["RecordID", "Time"], columns="Parameter", values="Value", aggfunc="last")
    wide = wide.reset_index().join(static, on="RecordID")
    wide["Gender"] = wide["Gender"].map({0.0: "F", 1.0: "M"})  # PhysioNet codes 0 = female, 1 = male
    measures = sorted(c for c in wide.columns if c not in ["RecordID", "Time", *ICU_CONTEXT])
    wide.columns.name = None
    return wide[["RecordID", "Time", *ICU_CONTEXT, *measures]].sort_values(["RecordID", "Time"]).reset_index(drop=True)


def _read_ehr() -> Any:
    """The bundled Synthea subset as a Dataset; codes stay strings, dates become datetime64."""
    dates = {"patients": ["BIRTHDATE", "DEATHDATE"], "encounters": ["START", "STOP"],
             "conditions": ["START", "STOP"], "observations": ["DATE"]}
    text = {"CODE", "REASONCODE", "VALUE", "Id", "PATIENT", "ENCOUNTER"}
    tables = {}
    for name, columns in dates.items():
        df = pd.read_csv(path(f"synthea_{name}.csv.gz"), compression="gzip", dtype={c: str for c in text})
        for col in columns:
            df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601").dt.tz_localize(None)
        tables[name] = df
    rels = [Relationship(parent_table=p, parent_key="Id", child_table=c, child_key=k) for p, c, k in [
        ("patients", "encounters", "PATIENT"), ("encounters", "conditions", "ENCOUNTER"),
        ("encounters", "observations", "ENCOUNTER"), ("patients", "conditions", "PATIENT"),
        ("patients", "observations", "PATIENT")]]
    return Dataset(tables=tables, primary_keys={"patients": "Id", "encounters": "Id"}, relationships=rels, name="ehr")
