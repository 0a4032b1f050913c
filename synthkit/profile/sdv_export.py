"""Export :class:`Metadata` to SDV's metadata dict (``METADATA_SPEC_VERSION`` "V1").

Lets users compare against SDV synthesizers on the same schema. Only a plain dict is built here,
so the core never imports SDV (BSL-licensed, optional extra).
"""

from __future__ import annotations

from typing import Any

from synthkit.meta import ColumnMeta, Metadata, TableMeta

__all__ = ["SDV_PII_SDTYPES", "to_sdv_dict"]

#: our PII kinds -> SDV sdtypes (SDV accepts Faker method names as PII sdtypes)
SDV_PII_SDTYPES = {
    "name": "name", "first_name": "first_name", "last_name": "last_name", "email": "email",
    "phone": "phone_number", "ssn": "ssn", "address": "address", "city": "city", "zip": "postcode",
    "latitude": "latitude", "longitude": "longitude", "ip_address": "ipv4_address",
    "credit_card": "credit_card_number", "passport": "passport_number",
}


def _column(col: ColumnMeta, table: TableMeta, keys: set[str]) -> dict[str, Any]:
    if col.name in keys or (col.kind == "id" and col.pii == "none"):
        return {"sdtype": "id"}
    if col.pii == "date_of_birth" or col.kind == "datetime":
        out: dict[str, Any] = {"sdtype": "datetime"}
        if col.datetime_format and "%" in col.datetime_format:
            out["datetime_format"] = col.datetime_format
        return out
    if col.pii in SDV_PII_SDTYPES:
        return {"sdtype": SDV_PII_SDTYPES[col.pii], "pii": True}
    if col.pii != "none":
        return {"sdtype": "unknown", "pii": True}
    if col.kind == "numerical":
        return {"sdtype": "numerical"}
    if col.kind == "text":
        return {"sdtype": "unknown", "pii": False}
    return {"sdtype": {"boolean": "boolean"}.get(col.kind, "categorical")}


def to_sdv_dict(metadata: Metadata) -> dict[str, Any]:
    """The SDV metadata dict for all tables and relationships."""
    tables: dict[str, Any] = {}
    for name, table in metadata.tables.items():
        keys = {r.child_key for r in metadata.relationships if r.child_table == name}
        keys |= {k for k in (table.primary_key, table.sequence_key) if k}
        entry: dict[str, Any] = {"columns": {c.name: _column(c, table, keys) for c in table.columns}}
        if table.primary_key:
            entry["primary_key"] = table.primary_key
        if table.sequence_key:
            entry["sequence_key"] = table.sequence_key
        if table.sequence_index:
            entry["sequence_index"] = table.sequence_index
        tables[name] = entry
    relationships = [
        {
            "parent_table_name": r.parent_table,
            "parent_primary_key": r.parent_key,
            "child_table_name": r.child_table,
            "child_foreign_key": r.child_key,
        }
        for r in metadata.relationships
    ]
    return {"METADATA_SPEC_VERSION": "V1", "tables": tables, "relationships": relationships}
