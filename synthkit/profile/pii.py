"""PII detection from column names and values.

Why both: names catch what values cannot tell apart (a 5-digit ZIP vs a 5-digit amount), values
catch what names hide (an ``contact`` column full of e-mail addresses). False positives are costly
here: the transform layer regenerates PII columns instead of learning them, so a wrongly flagged
column loses all its statistical signal. Rules therefore require either an unambiguous value
pattern on >= 90 % of values, or a specific name *and* values consistent with it. Everything is
checked on a deterministic sample of values (see :func:`~synthkit.profile.names.sample_values`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthkit.profile.names import ColumnFacts, compact_name, name_tokens, sample_values

__all__ = ["PATTERNS", "detect_pii"]

PATTERNS = {
    "email": re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$"),
    "ssn": re.compile(r"^\d{3}-\d{2}-\d{4}$"),
    "ip_address": re.compile(r"^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$"),
    "phone": re.compile(r"^(\+?\d{1,3}[ .-]?)?(\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}(\s*(x|ext\.?)\s*\d+)?$"),
    "card": re.compile(r"^\d{4}([ -]?\d{4}){2}[ -]?\d{1,7}$"),
}
_ZIP = re.compile(r"^(\d{5}(-\d{4})?|\d{3,4}|[A-Z]\d[A-Z] ?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$", re.IGNORECASE)
_LICENCE = re.compile(r"^[A-Z0-9]{1,3}[ -]?\d{4,12}[A-Z0-9]{0,3}$", re.IGNORECASE)
_PERSON_NAME = re.compile(r"^[^\W\d_]+\d*([ '.-][^\W\d_]+\d*){0,3}$")
_STREET = re.compile(r"^\d+[A-Z]?\s+\S+")
_ORG_WORDS = re.compile(
    r"\b(hospital|clinic|cent(er|re)|medical|health|healthcare|inc|llc|ltd|corp|company|group|pharmacy|"
    r"care|insurance|medicare|medicaid|university|school|bank|eligible|services?|associates)\b",
    re.IGNORECASE,
)

_FIRST = {"first", "firstname", "givenname", "given", "fname", "forename", "forenames"}
_LAST = {"last", "lastname", "surname", "familyname", "family", "lname", "maiden", "maidenname"}
_FULL = {
    "name", "fullname", "patientname", "personname", "customername", "clientname", "membername",
    "contactname", "employeename", "providername", "physicianname", "doctorname", "ownername",
}
_ADDRESS = {
    "address", "streetaddress", "street", "addr", "address1", "address2", "addressline", "addressline1",
    "addressline2", "homeaddress", "mailingaddress", "residence",
}
_CITY = {"city", "town", "birthplace", "placeofbirth", "county", "municipality"}
_ZIPS = {"zip", "zipcode", "postal", "postalcode", "postcode", "zip5", "plz"}
_DOB = {"birthdate", "dob", "dateofbirth", "birthday", "bdate", "birthdt", "birthdatetime"}
_PHONE = {"phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "phonenumber", "telephonenumber"}
_DRIVERS = {"drivers", "driverslicense", "driverslicence", "driverlicense", "driverlicence", "dl", "dlnumber", "licensenumber", "licencenumber"}
_LAT = {"lat", "latitude"}
_LON = {"lon", "lng", "long", "longitude"}


def detect_pii(series: pd.Series, kind: str | None = None, facts: ColumnFacts | None = None) -> str:
    """The :data:`~synthkit.meta.PiiKind` of ``series`` ("none" when not PII)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "none"
    values = sample_values(series) if facts is None else facts.sample
    if values.empty:
        return "none"
    compact = compact_name(series.name)
    tokens = set(name_tokens(series.name))
    is_text = not (pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype))

    if is_text:
        found = _by_values(values)
        if found:
            return found
    by_name = _by_name(series, compact, tokens, values, is_text, kind)
    return by_name or "none"


def _share(values: pd.Series, pattern: re.Pattern[str]) -> float:
    return float(values.str.match(pattern).mean()) if len(values) else 0.0


def _by_values(values: pd.Series) -> str | None:
    for pii in ("email", "ssn", "ip_address", "phone"):
        if _share(values, PATTERNS[pii]) >= 0.9:
            return pii
    if _share(values, PATTERNS["card"]) >= 0.9 and _luhn_share(values) >= 0.9:
        return "credit_card"
    return None


def _luhn_share(values: pd.Series) -> float:
    digits = values.str.replace(r"[ -]", "", regex=True)
    ok = 0
    for number in digits.iloc[:500]:  # a checksum per value: bounded sample, not a loop over all rows
        nums = [int(c) for c in number[::-1]]
        total = sum(nums[0::2]) + sum(sum(divmod(2 * d, 10)) for d in nums[1::2])
        ok += total % 10 == 0
    return ok / max(min(len(digits), 500), 1)


def _by_name(
    series: pd.Series, compact: str, tokens: set[str], values: pd.Series, is_text: bool, kind: str | None
) -> str | None:
    if compact in {"ssn", "socialsecuritynumber", "socialsecurity", "socsecnum"} or "ssn" in tokens:
        return "ssn"
    if compact in {"email", "emailaddress", "mail"} or "email" in tokens:
        return "email" if _share(values, PATTERNS["email"]) >= 0.5 else None
    if compact in _PHONE or tokens & {"phone", "telephone", "mobile", "fax"}:
        digits = values.str.replace(r"\D", "", regex=True).str.len()
        return "phone" if len(values) and ((digits >= 7) & (digits <= 15)).mean() >= 0.9 else None
    if "passport" in tokens or compact.startswith("passport"):
        return "passport" if _looks_like_document_id(values) else None
    if compact in _DRIVERS or compact.startswith(("driverslicen", "driverlicen")):
        return "drivers_license" if _looks_like_document_id(values) else None
    if compact in _DOB or ({"birth", "date"} <= tokens) or ({"birth", "dt"} <= tokens):
        return "date_of_birth" if kind == "datetime" or pd.api.types.is_datetime64_any_dtype(series.dtype) else None
    if compact in _LAT:
        return "latitude" if _in_range(series, 90.0) else None
    if compact in _LON:
        return "longitude" if _in_range(series, 180.0) else None
    if compact in _ZIPS or tokens & {"zip", "zipcode", "postcode", "postalcode"}:
        return "zip" if len(values) and _share(values.str.replace(r"\.0$", "", regex=True), _ZIP) >= 0.9 else None
    if not is_text:
        return None
    if compact in _FIRST or {"first", "name"} <= tokens or {"given", "name"} <= tokens:
        return "first_name" if _person_like(values) else None
    if compact in _LAST or {"last", "name"} <= tokens or {"family", "name"} <= tokens or {"maiden", "name"} <= tokens:
        return "last_name" if _person_like(values) else None
    if compact in _FULL:
        return "name" if _person_like(values) and _share(values, _ORG_WORDS) < 0.3 else None
    if compact in _ADDRESS or ("address" in tokens and not tokens & {"ip", "mac", "email"}):
        return "address" if _share(values, _STREET) >= 0.5 else None
    if compact in _CITY:
        return "city" if _person_like(values, min_share=0.5, allow_long=True) else None
    return None


def _looks_like_document_id(values: pd.Series) -> bool:
    """Mostly distinct alphanumeric tokens with digits (licence and passport numbers)."""
    if values.empty:
        return False
    return _share(values, _LICENCE) >= 0.9 and values.nunique() >= 0.5 * len(values)


def _person_like(values: pd.Series, min_share: float = 0.8, allow_long: bool = False) -> bool:
    """Words of letters (Synthea appends digits to names) rather than numbers or codes."""
    if values.empty:
        return False
    pattern = re.compile(r"^[^\W\d_][\w'. -]*$") if allow_long else _PERSON_NAME
    return _share(values, pattern) >= min_share


def _in_range(series: pd.Series, bound: float) -> bool:
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return False
    arr = series.dropna().to_numpy(dtype=float)
    if not len(arr) or np.nanmax(np.abs(arr)) > bound:
        return False
    return bool(np.mean(arr % 1 != 0) >= 0.5)  # coordinates have decimals; codes and counts do not
