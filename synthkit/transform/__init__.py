"""Reversible, vectorized encoders shared by the synthesizers.

- :class:`TableSchema`: user table ⇄ model frame (done by the ``Synthesizer`` base).
- :class:`TableEncoder`: model frame ⇄ float32 matrix for neural models (GMM / quantile numerics,
  one-hot categoricals with rare-category grouping, missing indicators), JSON state.
"""

from synthkit.transform.encoders import (
    CategoricalEncoder,
    NumericEncoder,
    Span,
    encoder_from_state,
)
from synthkit.transform.gmm import Mixture1D, fit_mixture
from synthkit.transform.schema import TableSchema
from synthkit.transform.table import TableEncoder

__all__ = [
    "CategoricalEncoder",
    "Mixture1D",
    "NumericEncoder",
    "Span",
    "TableEncoder",
    "TableSchema",
    "encoder_from_state",
    "fit_mixture",
]
