"""Markdown-table cells of the benchmark tables."""

from __future__ import annotations

from synthkit.utils.formatting import cell


def test_cells_show_missing_values_decimals_and_thousands():
    assert cell(None) == "–"
    assert cell(0.12345) == "0.12" and cell(0.12345, 3) == "0.123" and cell(3.0, 0) == "3"
    assert cell(747495.4) == "747,495" and cell(-1500.0) == "-1,500"
    assert cell(12) == "12" and cell("sdv-ctgan") == "sdv-ctgan"
