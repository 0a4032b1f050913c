"""FHIR R4 (Bundle JSON or NDJSON) <-> the Synthea-shaped :class:`~synthkit.io.Dataset`.

Patient, Encounter, Condition and Observation resources map to the Synthea tables ``patients``,
``encounters``, ``conditions`` and ``observations`` with the same columns and keys
(``PATIENT``/``ENCOUNTER`` references become the foreign-key columns), so every downstream stage
sees one shape whichever format the records came in. Columns without a FHIR home (costs, payer,
healthcare expenses ...) travel in a synthkit extension, so Synthea -> FHIR -> Synthea keeps every
column. Other resource types are skipped with a log message.

JSON documents are built per record (``to_dict("records")``): a document format has no
vectorised writer, so the per-row work here is dict assembly only.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.errors import DataError
from synthkit.io.coerce import CoercionReport, coerce_frame
from synthkit.io.dataset import Dataset
from synthkit.io.synthea import _TEXT_COLUMNS, _synthea_text, _with_keys
from synthkit.utils.atomic import atomic_path

__all__ = ["FHIR_TABLES", "read_fhir", "write_fhir"]

log = logging.getLogger(__name__)

FHIR_TABLES = {"Patient": "patients", "Encounter": "encounters", "Condition": "conditions", "Observation": "observations"}
_EXT = "https://synthkit.dev/fhir/StructureDefinition/column"
_GEO = "http://hl7.org/fhir/StructureDefinition/geolocation"
_SCT = "http://snomed.info/sct"
_LOINC = "http://loinc.org"
_SSN = "http://hl7.org/fhir/sid/us-ssn"
_DL = "urn:oid:2.16.840.1.113883.4.3.25"
_PPN = "http://hl7.org/fhir/sid/passport-USA"
_NS = uuid.UUID("6f1c2d3e-7a8b-4c5d-9e0f-1a2b3c4d5e6f")
_COLUMNS = {
    "patients": ["Id", "BIRTHDATE", "DEATHDATE", "SSN", "DRIVERS", "PASSPORT", "PREFIX", "FIRST", "LAST", "SUFFIX",
                 "MAIDEN", "MARITAL", "RACE", "ETHNICITY", "GENDER", "BIRTHPLACE", "ADDRESS", "CITY", "STATE", "COUNTY",
                 "ZIP", "LAT", "LON"],
    "encounters": ["Id", "START", "STOP", "PATIENT", "ORGANIZATION", "PROVIDER", "PAYER", "ENCOUNTERCLASS", "CODE",
                   "DESCRIPTION", "REASONCODE", "REASONDESCRIPTION"],
    "conditions": ["START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"],
    "observations": ["DATE", "PATIENT", "ENCOUNTER", "CATEGORY", "CODE", "DESCRIPTION", "VALUE", "UNITS", "TYPE"],
}
# Synthea's own column order (mapped and extension-carried columns), restored on import
_ORDER = {
    **_COLUMNS,
    "patients": [*_COLUMNS["patients"], "HEALTHCARE_EXPENSES", "HEALTHCARE_COVERAGE"],
    "encounters": ["Id", "START", "STOP", "PATIENT", "ORGANIZATION", "PROVIDER", "PAYER", "ENCOUNTERCLASS", "CODE",
                   "DESCRIPTION", "BASE_ENCOUNTER_COST", "TOTAL_CLAIM_COST", "PAYER_COVERAGE", "REASONCODE",
                   "REASONDESCRIPTION"],
}


# -- writing ----------------------------------------------------------------------------------
def _present(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _clean(obj: Any) -> Any:
    """Drop missing values and empty containers (FHIR forbids nulls and empty arrays)."""
    if isinstance(obj, str):
        return obj or None
    if isinstance(obj, dict):
        out = {k: _clean(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v is not None} or None
    if isinstance(obj, list):
        items = [_clean(v) for v in obj]
        return [v for v in items if v is not None] or None
    if hasattr(obj, "item"):
        obj = obj.item()
    return obj if _present(obj) else None


def _extras(row: dict[str, Any], table: str) -> list[dict[str, Any]]:
    known = set(_COLUMNS[table])
    out = []
    for key, value in row.items():
        if key in known or not _present(value):
            continue
        typed = {"valueDecimal": value} if isinstance(value, (int, float)) and not isinstance(value, bool) else {"valueString": str(value)}
        out.append({"url": f"{_EXT}/{key}", **typed})
    return out


def _ref(kind: str, value: Any) -> dict[str, Any] | None:
    return {"reference": f"{kind}/{value}"} if _present(value) else None


def _coding(system: str, code: Any, display: Any) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": str(code) if _present(code) else None, "display": display}], "text": display}


def _patient(r: dict[str, Any]) -> dict[str, Any]:
    gender = {"M": "male", "F": "female"}.get(str(r.get("GENDER")), "unknown") if _present(r.get("GENDER")) else None
    return {
        "resourceType": "Patient", "id": r.get("Id"),
        "identifier": [
            {"system": _SSN, "value": r.get("SSN")} if _present(r.get("SSN")) else None,
            {"system": _DL, "value": r.get("DRIVERS")} if _present(r.get("DRIVERS")) else None,
            {"system": _PPN, "value": r.get("PASSPORT")} if _present(r.get("PASSPORT")) else None,
        ],
        "name": [
            {"use": "official", "family": r.get("LAST"), "given": [r.get("FIRST")], "prefix": [r.get("PREFIX")], "suffix": [r.get("SUFFIX")]},
            {"use": "maiden", "family": r.get("MAIDEN")} if _present(r.get("MAIDEN")) else None,
        ],
        "gender": gender, "birthDate": r.get("BIRTHDATE"), "deceasedDateTime": r.get("DEATHDATE"),
        "maritalStatus": {"coding": [{"code": r.get("MARITAL")}]} if _present(r.get("MARITAL")) else None,
        "address": [{
            "line": [r.get("ADDRESS")], "city": r.get("CITY"), "state": r.get("STATE"), "district": r.get("COUNTY"),
            "postalCode": None if not _present(r.get("ZIP")) else str(r.get("ZIP")),
            "extension": [{"url": _GEO, "extension": [
                {"url": "latitude", "valueDecimal": r.get("LAT")}, {"url": "longitude", "valueDecimal": r.get("LON")}]}],
        }],
        "extension": [
            {"url": f"{_EXT}/RACE", "valueString": r.get("RACE")},
            {"url": f"{_EXT}/ETHNICITY", "valueString": r.get("ETHNICITY")},
            {"url": f"{_EXT}/BIRTHPLACE", "valueString": r.get("BIRTHPLACE")},
            {"url": f"{_EXT}/GENDER", "valueString": r.get("GENDER")},
            *_extras(r, "patients"),
        ],
    }


def _encounter(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Encounter", "id": r.get("Id"), "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": r.get("ENCOUNTERCLASS")},
        "type": [_coding(_SCT, r.get("CODE"), r.get("DESCRIPTION"))],
        "subject": _ref("Patient", r.get("PATIENT")), "period": {"start": r.get("START"), "end": r.get("STOP")},
        "serviceProvider": _ref("Organization", r.get("ORGANIZATION")),
        "participant": [{"individual": _ref("Practitioner", r.get("PROVIDER"))}],
        "reasonCode": [_coding(_SCT, r.get("REASONCODE"), r.get("REASONDESCRIPTION"))] if _present(r.get("REASONCODE")) else None,
        "extension": [{"url": f"{_EXT}/PAYER", "valueString": r.get("PAYER")}, *_extras(r, "encounters")],
    }


def _condition(r: dict[str, Any], i: int) -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": str(uuid.uuid5(_NS, f"condition/{i}/{r.get('PATIENT')}/{r.get('CODE')}")),
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "resolved" if _present(r.get("STOP")) else "active"}]},
        "code": _coding(_SCT, r.get("CODE"), r.get("DESCRIPTION")),
        "subject": _ref("Patient", r.get("PATIENT")), "encounter": _ref("Encounter", r.get("ENCOUNTER")),
        "onsetDateTime": r.get("START"), "abatementDateTime": r.get("STOP"),
        "extension": _extras(r, "conditions"),
    }


def _observation(r: dict[str, Any], i: int) -> dict[str, Any]:
    value, kind = r.get("VALUE"), r.get("TYPE")
    number = None
    if kind == "numeric" and _present(value):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
    return {
        "resourceType": "Observation", "id": str(uuid.uuid5(_NS, f"observation/{i}/{r.get('PATIENT')}/{r.get('CODE')}")),
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": r.get("CATEGORY")}]}],
        "code": _coding(_LOINC, r.get("CODE"), r.get("DESCRIPTION")),
        "subject": _ref("Patient", r.get("PATIENT")), "encounter": _ref("Encounter", r.get("ENCOUNTER")),
        "effectiveDateTime": r.get("DATE"),
        "valueQuantity": {"value": number, "unit": r.get("UNITS"), "system": "http://unitsofmeasure.org", "code": r.get("UNITS")} if number is not None else None,
        "valueString": None if number is not None else value,
        "extension": [{"url": f"{_EXT}/TYPE", "valueString": kind},
                      {"url": f"{_EXT}/UNITS", "valueString": r.get("UNITS")} if number is None else None,
                      *_extras(r, "observations")],
    }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = df.copy()
    for col in out.columns:
        out[col] = _synthea_text(out[col])
    return out.astype(object).where(out.notna(), None).to_dict("records")


def _resources(dataset: Dataset) -> Iterator[dict[str, Any]]:
    builders = {"patients": _patient, "encounters": _encounter, "conditions": _condition, "observations": _observation}
    skipped = [t for t in dataset.tables if t not in builders]
    if skipped:
        log.info("FHIR export skips tables without a mapping: %s", skipped)
    if "patients" not in dataset.tables:
        raise DataError("a FHIR export needs a 'patients' table (Synthea layout)")
    for table, build in builders.items():
        if table not in dataset.tables:
            continue
        for i, row in enumerate(_records(dataset.tables[table])):
            yield _clean(build(row) if table in ("patients", "encounters") else build(row, i))  # type: ignore[call-arg]


def write_fhir(dataset: Dataset, path: str | Path, *, ndjson: bool = False) -> Path:
    """Write a FHIR R4 collection Bundle (``.json``) or NDJSON (one resource per line), atomically."""
    if not isinstance(dataset, Dataset):
        raise DataError(f"write_fhir needs a Dataset, got {type(dataset).__name__}")
    path = Path(path)
    resources = list(_resources(dataset))
    with atomic_path(path) as tmp:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(tmp, "wt", encoding="utf-8") as fh:  # type: ignore[operator]
            if ndjson:
                for res in resources:
                    fh.write(json.dumps(res, separators=(",", ":"), allow_nan=False) + "\n")
            else:
                entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
                # dumps (C encoder) then one write: json.dump to a file uses the slow Python encoder
                fh.write(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}, allow_nan=False))
    log.info("wrote %d FHIR resources to %s", len(resources), path)
    return path


# -- reading ----------------------------------------------------------------------------------
def _load_resources(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().removesuffix(".gz").endswith((".json", ".ndjson")))
        if not files:
            raise DataError(f"folder {path} holds no FHIR .json or .ndjson files")
        return [r for f in files for r in _load_resources(f)]
    if not path.exists():
        raise DataError(f"FHIR file not found: {path}")
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
            text = fh.read()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataError(f"cannot read FHIR file {path}: {exc}") from None
    if path.name.lower().removesuffix(".gz").endswith(".ndjson"):
        out = []
        for no, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path} line {no} is not valid JSON: {exc.msg}") from None
        return _checked(out, path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(doc, dict) or "resourceType" not in doc:
        raise DataError(f"{path} is not a FHIR resource (no resourceType)")
    if doc["resourceType"] == "Bundle":
        entries = doc.get("entry") or []
        if not isinstance(entries, list):
            raise DataError(f"{path}: Bundle.entry must be a list")
        return _checked([e.get("resource") for e in entries if isinstance(e, dict)], path)
    return _checked([doc], path)


def _checked(resources: list[Any], path: Path) -> list[dict[str, Any]]:
    for i, res in enumerate(resources):
        if not isinstance(res, dict) or "resourceType" not in res:
            raise DataError(f"{path}: resource #{i + 1} has no resourceType")
    return resources


def _ext(res: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for e in res.get("extension") or []:
        url = str(e.get("url", ""))
        if url.startswith(_EXT + "/"):
            out[url[len(_EXT) + 1:]] = e.get("valueString", e.get("valueDecimal"))
    return out


def _refid(ref: dict[str, Any] | None) -> Any:
    if not ref or "reference" not in ref:
        return None
    return str(ref["reference"]).split("/")[-1].removeprefix("urn:uuid:")


def _code(concept: dict[str, Any] | None) -> tuple[Any, Any]:
    coding = ((concept or {}).get("coding") or [{}])[0]
    return coding.get("code"), coding.get("display", (concept or {}).get("text"))


def _parse_patient(r: dict[str, Any]) -> dict[str, Any]:
    names = r.get("name") or []
    official = next((n for n in names if n.get("use") in ("official", None)), {})
    maiden = next((n for n in names if n.get("use") == "maiden"), {})
    ids = {i.get("system"): i.get("value") for i in r.get("identifier") or []}
    addr = (r.get("address") or [{}])[0]
    geo = {e.get("url"): e.get("valueDecimal") for x in addr.get("extension") or [] if x.get("url") == _GEO for e in x.get("extension") or []}
    ext = _ext(r)
    return {
        "Id": r.get("id"), "BIRTHDATE": r.get("birthDate"), "DEATHDATE": r.get("deceasedDateTime"),
        "SSN": ids.get(_SSN), "DRIVERS": ids.get(_DL), "PASSPORT": ids.get(_PPN),
        "PREFIX": (official.get("prefix") or [None])[0], "FIRST": (official.get("given") or [None])[0],
        "LAST": official.get("family"), "SUFFIX": (official.get("suffix") or [None])[0], "MAIDEN": maiden.get("family"),
        "MARITAL": _code(r.get("maritalStatus"))[0], "GENDER": ext.pop("GENDER", {"male": "M", "female": "F"}.get(r.get("gender", ""))),
        "ADDRESS": (addr.get("line") or [None])[0], "CITY": addr.get("city"), "STATE": addr.get("state"),
        "COUNTY": addr.get("district"), "ZIP": addr.get("postalCode"), "LAT": geo.get("latitude"), "LON": geo.get("longitude"),
        **ext,
    }


def _parse_encounter(r: dict[str, Any]) -> dict[str, Any]:
    code, desc = _code((r.get("type") or [None])[0])
    reason, reason_desc = _code((r.get("reasonCode") or [None])[0])
    provider = ((r.get("participant") or [{}])[0] or {}).get("individual")
    period = r.get("period") or {}
    return {
        "Id": r.get("id"), "START": period.get("start"), "STOP": period.get("end"), "PATIENT": _refid(r.get("subject")),
        "ORGANIZATION": _refid(r.get("serviceProvider")), "PROVIDER": _refid(provider),
        "ENCOUNTERCLASS": (r.get("class") or {}).get("code"), "CODE": code, "DESCRIPTION": desc,
        "REASONCODE": reason, "REASONDESCRIPTION": reason_desc, **_ext(r),
    }


def _parse_condition(r: dict[str, Any]) -> dict[str, Any]:
    code, desc = _code(r.get("code"))
    return {"START": r.get("onsetDateTime"), "STOP": r.get("abatementDateTime"), "PATIENT": _refid(r.get("subject")),
            "ENCOUNTER": _refid(r.get("encounter")), "CODE": code, "DESCRIPTION": desc, **_ext(r)}


def _parse_observation(r: dict[str, Any]) -> dict[str, Any]:
    code, desc = _code(r.get("code"))
    qty = r.get("valueQuantity") or {}
    ext = _ext(r)
    value = qty.get("value", r.get("valueString"))
    return {
        "DATE": r.get("effectiveDateTime"), "PATIENT": _refid(r.get("subject")), "ENCOUNTER": _refid(r.get("encounter")),
        "CATEGORY": _code((r.get("category") or [None])[0])[0], "CODE": code, "DESCRIPTION": desc,
        "VALUE": None if value is None else str(value), "UNITS": qty.get("unit", ext.pop("UNITS", None)),
        "TYPE": ext.pop("TYPE", "numeric" if qty else "text"), **ext,
    }


_PARSERS = {"Patient": _parse_patient, "Encounter": _parse_encounter, "Condition": _parse_condition, "Observation": _parse_observation}


def read_fhir(path: str | Path) -> Dataset:
    """Read a Bundle JSON, an NDJSON file, or a folder of them into the Synthea-shaped Dataset."""
    path = Path(path)
    resources = _load_resources(path)
    rows: dict[str, list[dict[str, Any]]] = {}
    ignored: dict[str, int] = {}
    for res in resources:
        kind = res["resourceType"]
        if kind in _PARSERS:
            rows.setdefault(FHIR_TABLES[kind], []).append(_PARSERS[kind](res))
        else:
            ignored[kind] = ignored.get(kind, 0) + 1
    if ignored:
        log.info("FHIR import skipped resource types without a mapping: %s", ignored)
    if "patients" not in rows:
        raise DataError(f"{path} holds no Patient resources")
    frames, reports = {}, {}
    for table in [t for t in _COLUMNS if t in rows]:
        df = pd.DataFrame(rows[table])
        order = [c for c in _ORDER[table] if c in df.columns] + [c for c in df.columns if c not in _ORDER[table]]
        df = df[order]
        report = CoercionReport(source=f"{path} ({table})", sniffed={"format": "fhir"})
        frames[table] = coerce_frame(df, report, skip=set(_TEXT_COLUMNS) | {"VALUE"})
        reports[table] = report.to_dict()
    return _with_keys(frames, path.stem, reports)
