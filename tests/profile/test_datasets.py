"""Every public dataset in ../shared/datasets loads and profiles with sensible kinds (subsets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthkit.datasets import ADULT_COLUMNS
from synthkit.io import read
from synthkit.profile import profile

# (path, read options, expected kinds, expected primary key)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, str], str | None]] = {
    "adult": ("adult/adult.data", {"header": False, "names": ADULT_COLUMNS, "nrows": 2000},
              {"age": "numerical", "workclass": "categorical", "fnlwgt": "numerical", "income": "categorical"}, None),
    "bank": ("bank-marketing/bank-full.csv.gz", {"nrows": 2000},
             {"age": "numerical", "job": "categorical", "deposit": "boolean", "balance": "numerical"}, None),
    "credit": ("default-credit-card/default_of_credit_card_clients.csv.gz", {"nrows": 2000},
               {"ID": "id", "X1": "numerical", "X2": "categorical", "X12": "numerical", "Y": "boolean"}, "ID"),
    "diabetes": ("diabetes-130-us-hospitals/diabetic_data.csv.gz", {"nrows": 3000},
                 {"encounter_id": "id", "patient_nbr": "id", "diag_1": "categorical", "num_lab_procedures": "numerical",
                  "readmitted": "categorical"}, "encounter_id"),
    "german": ("german-credit/germancredit.csv", {}, {"credit_amount": "numerical", "purpose": "categorical"}, None),
    "heart": ("heart-disease-uci/processed.cleveland.data", {}, {"column_1": "numerical", "column_2": "boolean"}, None),
    "insurance": ("insurance/insurance.csv", {}, {"age": "numerical", "sex": "categorical", "charges": "numerical"}, None),
    "physionet-outcomes": ("physionet-2012-icu/Outcomes-a.txt", {}, {"RecordID": "id", "SAPS-I": "numerical"}, "RecordID"),
    "stocks": ("stocks/bokeh_stocks_5tickers_daily.csv.gz", {}, {"Ticker": "categorical", "Date": "datetime", "Close": "numerical"}, None),
    "survival-arff": ("survival/sksurv_whas500.arff", {}, {"age": "numerical", "gender": "categorical", "lenfol": "numerical"}, None),
    "survival-csv": ("survival/lifelines_rossi.csv", {}, {"week": "numerical", "arrest": "boolean", "prio": "numerical"}, None),
    "beijing": ("beijing-multisite-air-quality/PRSA_Data_Dongsi_20130301-20170228.csv.gz", {"nrows": 2000},
                {"PM2.5": "numerical", "wd": "categorical", "TEMP": "numerical"}, "No"),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(CASES))
def test_dataset_loads_and_profiles(shared_datasets: Path, name: str) -> None:
    path, opts, kinds, pk = CASES[name]
    df = read(shared_datasets / path, **opts)
    assert len(df) > 100
    table = profile(df, name=name).table()
    assert {c: table.column(c).kind for c in kinds} == kinds
    assert table.primary_key == pk
    assert table.pii_columns == []  # none of these public sets carries direct identifiers


@pytest.mark.integration
def test_stock_prices_are_sequences(shared_datasets: Path) -> None:
    table = profile(read(shared_datasets / "stocks" / "vega_stocks_monthly.csv")).table()
    assert (table.sequence_key, table.sequence_index) == ("symbol", "date")
    assert table.column("date").kind == "datetime"
