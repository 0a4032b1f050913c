"""Metadata: what each column is, as versioned, human-editable JSON (the bottom layer).

Plain data classes shared by every package (``io`` reads relationships into them, ``profile`` fills
them, models and reports read them); this module imports nothing of synthkit but ``errors`` and
``utils``, so any layer may use it. Exports live with the code they need: SDV's format in
:func:`synthkit.profile.sdv_export.to_sdv_dict`, Great Expectations suites in
:func:`synthkit.profile.expectations.build_suite`.

The single source of truth every stage reads: models decide encoders from ``kind``, PII columns
(``pii != "none"``) are regenerated instead of learned, evaluation picks metrics by kind, the
report shows the schema. ``Metadata`` holds one or more tables plus their relationships; a
single-table dataset is the common case and has helpers of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthkit.errors import ConfigError
from synthkit.utils.atomic import write_json
from synthkit.utils.jsonfile import read_json

__all__ = [
    "METADATA_VERSION",
    "ColumnKind",
    "ColumnMeta",
    "Metadata",
    "PiiKind",
    "Relationship",
    "TableMeta",
]

METADATA_VERSION = 1

ColumnKind = Literal["numerical", "categorical", "boolean", "datetime", "id", "text"]
PiiKind = Literal[
    "none",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "ssn",
    "address",
    "city",
    "zip",
    "date_of_birth",
    "latitude",
    "longitude",
    "drivers_license",
    "passport",
    "identifier",
    "ip_address",
    "credit_card",
    "other",
]


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in hand-edited metadata must not pass silently."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ColumnMeta(_Strict):
    """One column: its kind, PII class and the statistics the profiler saw."""

    name: str
    kind: ColumnKind
    subtype: str | None = Field(
        None, description="numerical: 'integer' or 'float'; categorical: 'code' for medical codes"
    )
    dtype: str | None = Field(None, description="pandas dtype when profiled")
    pii: PiiKind = "none"
    missing_share: float = Field(0.0, ge=0.0, le=1.0)
    cardinality: int | None = Field(None, ge=0)
    datetime_format: str | None = None
    stats: dict[str, Any] = Field(default_factory=dict, description="profile statistics (aggregates only)")

    @property
    def is_pii(self) -> bool:
        return self.pii != "none"


class TableMeta(_Strict):
    """One table: ordered columns, keys and (for sequences) entity and time columns."""

    name: str = "table"
    columns: list[ColumnMeta]
    primary_key: str | None = None
    sequence_key: str | None = Field(None, description="entity id column of long-format sequences")
    sequence_index: str | None = Field(None, description="time/order column of long-format sequences")
    n_rows: int | None = None

    @model_validator(mode="after")
    def _check_names(self) -> TableMeta:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column names in table {self.name!r}: {dupes}")
        for key in (self.primary_key, self.sequence_key, self.sequence_index):
            if key is not None and key not in names:
                raise ValueError(f"key column {key!r} is not a column of table {self.name!r}")
        return self

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnMeta:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def names_of_kind(self, *kinds: str) -> list[str]:
        return [c.name for c in self.columns if c.kind in kinds]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.is_pii]


class Relationship(_Strict):
    """A foreign key: ``child_table.child_key`` refers to ``parent_table.parent_key``."""

    parent_table: str
    parent_key: str
    child_table: str
    child_key: str


class Metadata(_Strict):
    """All tables of a dataset with their relationships; JSON round-trips exactly."""

    version: int = METADATA_VERSION
    tables: dict[str, TableMeta]
    relationships: list[Relationship] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_relationships(self) -> Metadata:
        if self.version > METADATA_VERSION:
            raise ValueError(f"metadata version {self.version} is newer than this synthkit ({METADATA_VERSION})")
        for rel in self.relationships:
            for table, key in ((rel.parent_table, rel.parent_key), (rel.child_table, rel.child_key)):
                if table not in self.tables:
                    raise ValueError(f"relationship names unknown table {table!r}")
                if key not in self.tables[table].column_names:
                    raise ValueError(f"relationship names unknown column {table}.{key}")
        return self

    # -- single-table convenience -------------------------------------------------------
    @classmethod
    def single(cls, table: TableMeta) -> Metadata:
        return cls(tables={table.name: table})

    def table(self, name: str | None = None) -> TableMeta:
        """The named table, or the only table when ``name`` is None."""
        if name is None:
            if len(self.tables) != 1:
                raise ConfigError(f"metadata has {len(self.tables)} tables; name one of {sorted(self.tables)}")
            return next(iter(self.tables.values()))
        try:
            return self.tables[name]
        except KeyError:
            raise ConfigError(f"metadata has no table {name!r}; tables: {sorted(self.tables)}") from None

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metadata:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"invalid metadata: {_first_error(exc)}") from None

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> Metadata:
        return cls.from_dict(read_json(path, "metadata file", ConfigError))


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return f"{loc}: {err.get('msg')}" if loc else str(err.get("msg"))
