"""ARFF (Weka) files, as the scikit-survival data sets ship them.

Parsing is scipy's (``scipy.io.arff.loadarff``); this module only opens gzip transparently, decodes
nominal values (scipy returns bytes) into pandas categoricals with the declared levels, maps ``?`` to
missing and turns scipy's parse errors into :class:`~synthkit.errors.DataError`.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import arff

from synthkit.errors import DataError

__all__ = ["read_arff"]


def read_arff(path: str | Path) -> pd.DataFrame:
    """Read an ARFF file; nominal attributes become categoricals with their declared levels."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        data, meta = arff.loadarff(io.StringIO(raw.decode("utf-8", errors="replace")))
    except (ValueError, arff.ParseArffError, NotImplementedError, IndexError, StopIteration) as exc:  # StopIteration: no @data
        raise DataError(f"cannot parse ARFF file {path}: {(str(exc).splitlines() or ['no @data section or truncated header'])[0][:200]}") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read ARFF file {path}: {exc}") from None
    df = pd.DataFrame(data)
    for name in meta.names():
        kind, levels = meta[name]
        if kind != "nominal":
            continue
        text = df[name].str.decode("utf-8") if df[name].dtype == object else df[name].astype(str)
        text = text.where(text != "?", np.nan)
        df[name] = pd.Categorical(text, categories=[str(v) for v in levels])
    return df
