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
    raise DataError(f"unknown bundled dataset {name!r}; available: {', '.join(sorted(_DESCRIPTIONS))}")


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
