"""Fake values for columns that are never learned: PII, ids and free text.

Vectorized with numpy over pools taken from Faker's en_US providers (Faker itself formats one value
per Python call, far too slow for millions of rows). Fakes are drawn so they cannot collide with
real identifiers where a format allows it: SSNs use area numbers 900-999, which are never issued;
phone numbers use the 555-01xx fictional range; emails use reserved example domains.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from faker.providers.address.en_US import Provider as AddressProvider
from faker.providers.person.en_US import Provider as PersonProvider

__all__ = ["fake_column"]

_EXAMPLE_DOMAINS = np.array(["example.com", "example.org", "example.net"])


@lru_cache(maxsize=1)
def _pools() -> dict[str, np.ndarray]:
    first = list(PersonProvider.first_names_male) + list(PersonProvider.first_names_female)
    return {
        "first": np.array(sorted(set(first))),
        "last": np.array(sorted(set(PersonProvider.last_names))),
        "street": np.array(sorted(set(PersonProvider.last_names))[:500]),
        "street_suffix": np.array(sorted(set(AddressProvider.street_suffixes))),
        "city_suffix": np.array(sorted(set(AddressProvider.city_suffixes))),
        "words": np.array(
            "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
            "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud".split()
        ),
    }


def _digits(rng: np.random.Generator, n: int, width: int) -> pd.Series:
    return pd.Series(rng.integers(0, 10**width, size=n)).astype(str).str.zfill(width)


def _choice(rng: np.random.Generator, pool: np.ndarray, n: int) -> pd.Series:
    return pd.Series(pool[rng.integers(0, len(pool), size=n)])


def fake_column(kind: str, pii: str, n: int, rng: np.random.Generator, hints: dict[str, Any]) -> pd.Series:
    """``n`` fake values for a column of metadata ``kind`` and PII class ``pii``."""
    pools = _pools()
    if pii in ("name", "first_name", "last_name"):
        first, last = _choice(rng, pools["first"], n), _choice(rng, pools["last"], n)
        values = first if pii == "first_name" else last if pii == "last_name" else first + " " + last
    elif pii == "email":
        values = (
            _choice(rng, pools["first"], n).str.lower()
            + "."
            + _choice(rng, pools["last"], n).str.lower()
            + _digits(rng, n, 3)
            + "@"
            + _choice(rng, _EXAMPLE_DOMAINS, n)
        )
    elif pii == "phone":
        values = _digits(rng, n, 3) + "-555-01" + _digits(rng, n, 2)
    elif pii == "ssn":
        values = (
            pd.Series(rng.integers(900, 1000, size=n)).astype(str) + "-" + _digits(rng, n, 2) + "-" + _digits(rng, n, 4)
        )
    elif pii == "address":
        values = (
            pd.Series(rng.integers(1, 9999, size=n)).astype(str)
            + " "
            + _choice(rng, pools["street"], n)
            + " "
            + _choice(rng, pools["street_suffix"], n)
        )
    elif pii == "city":
        values = _choice(rng, pools["last"], n) + " " + _choice(rng, pools["city_suffix"], n)
    elif pii == "zip":
        values = _digits(rng, n, 5)
    elif pii == "credit_card":
        values = "4000" + _digits(rng, n, 6) + _digits(rng, n, 6)
    elif pii == "ip_address":
        values = "192.0.2." + pd.Series(rng.integers(1, 255, size=n)).astype(str)  # TEST-NET-1
    elif kind == "text" and pii == "none":
        length = max(3, min(int(hints.get("median_length", 40)) // 6, 40))
        words = pools["words"][rng.integers(0, len(pools["words"]), size=(n, length))]
        values = pd.Series([" ".join(row) for row in words]) if n else pd.Series([], dtype=object)
    elif hints.get("format") == "integer":
        return pd.Series(np.arange(1, n + 1, dtype=np.int64))
    elif hints.get("uuid_like"):
        raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)
        hexes = pd.Series([f"{a:016x}{b:016x}" for a, b in raw]) if n else pd.Series([], dtype=object)
        values = (
            hexes.str[:8] + "-" + hexes.str[8:12] + "-4" + hexes.str[13:16] + "-a" + hexes.str[17:20] + "-" + hexes.str[20:32]
        )
    else:
        width = max(6, int(hints.get("median_length", 8)))
        values = "ID" + _digits(rng, n, min(width, 15))
        if hints.get("unique", False):
            values = "ID" + pd.Series(np.arange(n)).astype(str).str.zfill(min(width, 15))
    values = values.astype(object).reset_index(drop=True)
    missing = float(hints.get("missing_share", 0.0))
    if missing > 0 and n:
        values[rng.random(n) < missing] = np.nan
    return values
