"""Multi-table Dataset: key validation reports orphans and duplicates as counts."""

from __future__ import annotations

import pandas as pd
import pytest

from synthkit.errors import ConfigError, DataError
from synthkit.io import Dataset
from synthkit.meta import Relationship


def _dataset() -> Dataset:
    parents = pd.DataFrame({"id": [1, 2, 2, None], "name": list("abcd")})
    children = pd.DataFrame({"cid": [10, 11, 12, 13], "parent": [1, 2, 9, None]})
    return Dataset(
        {"parents": parents, "children": children},
        primary_keys={"parents": "id", "children": "cid"},
        relationships=[Relationship(parent_table="parents", parent_key="id", child_table="children", child_key="parent")],
    )


def test_validate_reports_duplicates_missing_and_orphans() -> None:
    report = _dataset().validate()
    assert not report.ok
    assert report.duplicate_keys == {"parents": 2}
    assert report.missing_keys == {"parents": 1}
    assert len(report.orphans) == 1 and report.orphans[0]["count"] == 1  # parent 9; null FK is no orphan
    with pytest.raises(DataError, match=r"children\.parent: 1 rows refer to no parents\.id"):
        report.raise_if_invalid()
    assert report.to_dict()["ok"] is False


def test_valid_dataset_and_bad_construction() -> None:
    ds = Dataset({"a": pd.DataFrame({"id": [1, 2]})}, primary_keys={"a": "id"})
    assert ds.validate().ok and ds["a"].shape == (2, 1) and "a" in ds
    with pytest.raises(DataError, match="no column 'nope'"):
        Dataset({"a": pd.DataFrame({"id": [1]})}, primary_keys={"a": "nope"})
    with pytest.raises(DataError, match="no table 'b'"):
        ds["b"]
    with pytest.raises(DataError, match="at least one table"):
        Dataset({})


def test_root_is_the_keyed_table_that_is_nobodys_child() -> None:
    assert _dataset().root() == ("parents", "id")
    no_key = Dataset({"a": pd.DataFrame({"x": [1]})})
    with pytest.raises(ConfigError, match="no root table"):
        no_key.root()
