"""``python -m synthkit.cli``: the same as the ``synthkit`` console command."""

from __future__ import annotations

from synthkit.cli.commands import main

main()
