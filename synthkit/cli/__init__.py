"""The ``synthkit`` command line: option parsing (``commands``), what each command does over the
library (``actions``, loaded only when a command runs) and the end-of-run summary (``summary``)."""

from __future__ import annotations

from synthkit.cli.commands import app, main
from synthkit.cli.summary import summary_table

__all__ = ["app", "main", "summary_table"]
