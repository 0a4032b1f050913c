"""Small bundled demo data with license notes (see ``LICENSES.md`` beside this file).

Only what the demo and example pipelines need ships inside the package, compressed; tests and
benchmarks read the full public datasets from ``../shared/datasets`` instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from synthkit.errors import DataError

__all__ = ["load", "names", "path", "ADULT_COLUMNS"]

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
]

_DESCRIPTIONS = {
    "adult": "UCI Adult census income (1994 US Census extract): 32,561 train + 16,281 test rows, 15 columns. CC BY 4.0.",
    "diabetes": "UCI Diabetes 130-US hospitals 1999-2008 (Strack et al. 2014): 20,000-encounter subset, "
    "16,000 train + 4,000 test rows, 50 columns; target readmitted. CC BY 4.0.",
}


def names() -> dict[str, str]:
    """Bundled dataset names with a one-line description each."""
    return dict(_DESCRIPTIONS)


def path(filename: str) -> Path:
    """Filesystem path of a bundled data file."""
    return Path(str(resources.files("synthkit.datasets") / "data" / filename))


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)`` DataFrames of a bundled dataset."""
    if name == "adult":
        return _read_adult("adult.data.gz"), _read_adult("adult.test.gz")
    if name == "diabetes":
        return _read_diabetes()
    raise DataError(f"unknown bundled dataset {name!r}; available: {', '.join(sorted(_DESCRIPTIONS))}")


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
