"""``relational``: synthetic multi-table datasets with parent → child relationships.

Tables are generated parents first. A root table (patients) is a flat synthesizer (``root_model``)
whose rows also carry, per child table, the number of children and the time from the row's own date
(birth date) to its first child. Each child table is a :class:`SequenceSynthesizer` over the
children of one parent, conditioned on the parent's columns, writing exactly that many rows from
that start with learned time gaps; a child's own child counts are event columns of its sequence
(an encounter carries how many observations it has). So the number of children and their rows
depend on the parent, child dates follow the parent's date and stay in order, and every key is
regenerated: primary keys are fresh, foreign keys point at synthetic parents (0 orphans). A second
foreign key to an ancestor (observations.PATIENT) is copied down the chain; one to an unrelated
table is drawn among that table's synthetic keys.

Medical specifics come from :mod:`synthkit.models.medical`: descriptions/units derived from their
codes, mixed number/text values split, optional per-patient date shifting (``date_shift_days``).
Child dates are finally kept on or after the root row's date (a birth date), the one hard rule.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthkit.errors import ConfigError, DataError
from synthkit.io.dataset import Dataset
from synthkit.meta import Metadata, Relationship, TableMeta
from synthkit.models.base import MultiTableSynthesizer as MultiTableProtocol
from synthkit.models.base import Synthesizer, _validate_n
from synthkit.models.fakes import fake_column
from synthkit.models.medical import (
    CodeBook,
    join_mixed,
    root_ids,
    shift_dates,
    split_mixed,
)
from synthkit.models.registry import create, register
from synthkit.models.sequence import SequenceSynthesizer, export_model, import_model
from synthkit.profile import profile_table
from synthkit.transform.schema import TableSchema
from synthkit.utils.seeding import seed_everything

__all__ = ["RelationalSynthesizer"]

log = logging.getLogger(__name__)

_EPOCH = pd.Timestamp("1970-01-01")


@register("relational")
class RelationalSynthesizer(Synthesizer):
    """Parent-first multi-table synthesizer; see the module docstring."""

    protocol: ClassVar[type] = MultiTableProtocol
    test_params: ClassVar[dict[str, Any]] = {"child_params": {"epochs": 2, "hidden": 32, "embed": 16, "n_bins": 16}}

    def __init__(self, metadata: Metadata | None = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 root_model: str = "copula", root_params: dict[str, Any] | None = None,
                 child_params: dict[str, Any] | None = None, time_columns: dict[str, str] | None = None,
                 max_context_columns: int = 12, date_shift_days: int = 0) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.root_model, self.root_params, self.child_params = root_model, root_params, child_params
        self.time_columns, self.max_context_columns, self.date_shift_days = time_columns, max_context_columns, date_shift_days

    # -- fit ---------------------------------------------------------------------------
    def fit(self, data: Any, relationships: list[Relationship] | None = None,  # type: ignore[override]
            primary_keys: dict[str, str] | None = None) -> RelationalSynthesizer:
        """Learn from a :class:`synthkit.io.Dataset` or a dict of DataFrames plus relationships."""
        tables, rels, pks = _unpack(data, relationships, primary_keys)
        if self.seed is not None:
            seed_everything(self.seed)
        self.metadata = self.metadata or _profile(tables, rels, pks)
        self.pks_ = {t: pks.get(t) or self.metadata.tables[t].primary_key for t in tables}
        self.rels_ = [r.model_dump() for r in rels]
        self.order_, self.parent_ = _plan(list(tables), rels)
        self.dtypes_ = {t: {c: str(df[c].dtype) for c in df.columns} for t, df in tables.items()}
        self.key_hints_ = {t: TableSchema.fit(df[[k]], _single(df[[k]], k)).columns[0].extra
                           for t, df in tables.items() if (k := self.pks_.get(t))}
        self.time_ = {t: (self.time_columns or {}).get(t) or _first_datetime(df, self._keys(t)) for t, df in tables.items()}
        self.prep_: dict[str, dict[str, Any]] = {}
        work = {t: self._prepare(t, df) for t, df in tables.items()}
        for t in self.order_:
            for child in self._children(t):
                work[t] = self._add_child_stats(t, work[t], child, work[child])
        self.models_: dict[str, Synthesizer] = {}
        self.context_: dict[str, list[str]] = {}
        for t in self.order_:
            frame = work[t].drop(columns=[c for c in self._keys(t) if c in work[t].columns])
            if self.parent_.get(t) is None:
                model = create(self.root_model, metadata=self._meta_for(t, frame), seed=self.seed, **(self.root_params or {}))
                self.models_[t] = model.fit(frame)
            else:
                self.models_[t] = self._fit_child(t, work)
        self.schema_ = TableSchema([])
        self.n_training_rows_ = int(sum(len(df) for df in tables.values()))
        self.n_root_rows_ = {t: len(tables[t]) for t in self.order_ if self.parent_.get(t) is None}
        self._sample_rng_ = np.random.default_rng(self.seed)
        self.fitted_ = True
        return self

    def _meta_for(self, table: str, frame: pd.DataFrame) -> Metadata:
        """Profile of a working frame with the PII classes of the user's metadata carried over."""
        meta = profile_table(frame, name=table)
        known = self.metadata.tables.get(table) if self.metadata else None
        for col in meta.columns:
            name = col.name.removeprefix("parent.")
            source = self.metadata.tables.get(self.parent_.get(table) or "") if col.name.startswith("parent.") and self.metadata else known
            if source is not None and name in source.column_names:
                col.pii = source.column(name).pii
        return Metadata.single(meta)

    def _keys(self, table: str) -> list[str]:
        keys = [r["child_key"] for r in self.rels_ if r["child_table"] == table]
        return ([self.pks_[table]] if self.pks_.get(table) else []) + keys

    def _children(self, table: str) -> list[str]:
        return [t for t in self.order_ if self.parent_.get(t) == table]

    def _rel(self, child: str) -> dict[str, Any]:
        parent = self.parent_[child]
        return next(r for r in self.rels_ if r["child_table"] == child and r["parent_table"] == parent)

    def _prepare(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        """Mixed columns split, dependent code columns dropped, root dates relative to the anchor."""
        df = df.copy()
        keys, mixed = self._keys(table), {}
        for col in [c for c in df.columns if c not in keys]:
            parts = split_mixed(df[col])
            if parts is not None:
                df[col], df[f"{col}__text"], mixed[col] = parts
        book = CodeBook.fit(df, exclude=keys)
        anchor = self.time_.get(table)
        relative = []
        if self.parent_.get(table) is None and anchor:
            for col in df.columns:
                if col != anchor and pd.api.types.is_datetime64_any_dtype(df[col]):
                    df[col] = (df[col] - df[anchor]).dt.total_seconds()
                    relative.append(col)
        self.prep_[table] = {"codebook": book.to_state(), "mixed": mixed, "relative": relative}
        return book.strip(df)

    def _add_child_stats(self, table: str, frame: pd.DataFrame, child: str, child_frame: pd.DataFrame) -> pd.DataFrame:
        rel = self._rel(child)
        counts = child_frame[rel["child_key"]].value_counts()
        frame = frame.copy()
        frame[f"__n__{child}"] = frame[rel["parent_key"]].map(counts).fillna(0).astype(float)
        anchor, ctime = self.time_.get(table), self.time_.get(child)
        if anchor and ctime:
            first = child_frame.groupby(rel["child_key"])[ctime].min()
            frame[f"__off__{child}"] = (frame[rel["parent_key"]].map(first) - frame[anchor]).dt.total_seconds()
        return frame

    def _fit_child(self, table: str, work: dict[str, pd.DataFrame]) -> SequenceSynthesizer:
        rel = self._rel(table)
        parent = work[rel["parent_table"]]
        stats = [c for c in parent.columns if c.startswith(("__n__", "__off__"))]
        candidates = [c for c in parent.columns if c not in self._keys(rel["parent_table"]) and c not in stats]
        context = candidates[: self.max_context_columns]
        renamed = {c: f"parent.{c}" for c in context}
        lookup = parent.set_index(rel["parent_key"])[context].rename(columns=renamed)
        lookup = lookup[~lookup.index.duplicated()]
        child = work[table]
        drop = [c for c in self._keys(table) if c != rel["child_key"]]
        long = child.drop(columns=drop).join(lookup, on=rel["child_key"])
        long = long[long[rel["child_key"]].isin(lookup.index)].reset_index(drop=True)
        if len(long) < len(child):
            log.warning("relational: %d %s rows refer to no %s row and are not learned", len(child) - len(long), table, rel["parent_table"])
        self.context_[table] = list(renamed.values())
        # children are drawn for given parents (sample_for), where no critic chooses among entities
        params = {"seed": self.seed, "critic_pool": 1, **(self.child_params or {})}
        model = SequenceSynthesizer(metadata=self._meta_for(table, long), **params)
        return model.fit(long, entity=rel["child_key"], time=self.time_.get(table), context=self.context_[table])

    # -- sample ------------------------------------------------------------------------
    def sample(self, n: int | None = None, seed: int | None = None, conditions: dict[str, Any] | None = None,  # type: ignore[override]
               scale: float | None = None) -> Dataset:
        """Synthetic tables with the training keys: ``n`` rows of the (first) root table, or ``scale`` × its
        real size. The :class:`~synthkit.io.Dataset` reads like a dict of tables (``out["patients"]``)."""
        self._require_fitted()
        if conditions:
            raise ConfigError("relational: conditions are not supported")
        roots = list(self.n_root_rows_)
        if scale is not None:
            if not (isinstance(scale, (int, float)) and scale > 0):
                raise DataError(f"relational: scale must be a positive number, got {scale!r}")
            n = max(1, round(scale * self.n_root_rows_[roots[0]]))
        if n is None:
            raise DataError("relational: give n (root rows) or scale")
        n = _validate_n(n)
        if seed is None:
            seed = int(self._sample_rng_.integers(0, 2**31 - 1))
        rng = np.random.default_rng(seed)
        seed_everything(seed)
        out: dict[str, pd.DataFrame] = {}
        for t in self.order_:
            sub_seed = int(rng.integers(0, 2**31 - 1))
            if self.parent_.get(t) is None:
                size = n if t == roots[0] else max(1, round(n * self.n_root_rows_[t] / self.n_root_rows_[roots[0]]))
                df = self.models_[t].sample(size, seed=sub_seed)
            else:
                df = self._sample_child(t, out, sub_seed)
            pk = self.pks_.get(t)
            if pk:
                hints = {**self.key_hints_.get(t, {}), "unique": True, "missing_share": 0.0}
                df.insert(0, pk, fake_column("id", "none", len(df), rng, hints).to_numpy())
            out[t] = df
        self._fill_foreign_keys(out, rng)
        tables = {t: self._finish(t, out[t]) for t in self.order_}
        self._keep_after_root(tables)
        if self.date_shift_days:
            for root in roots:
                if self.pks_.get(root):
                    tables = shift_dates(tables, self._relationships(), root, self.pks_[root], self.date_shift_days, seed)
        return Dataset(tables=tables, primary_keys={t: k for t, k in self.pks_.items() if k},
                       relationships=self._relationships(), name="synthetic")

    def _sample_child(self, table: str, out: dict[str, pd.DataFrame], seed: int) -> pd.DataFrame:
        rel = self._rel(table)
        parent = out[rel["parent_table"]]
        model = self.models_[table]
        assert isinstance(model, SequenceSynthesizer)
        counts = np.clip(np.round(np.nan_to_num(parent[f"__n__{table}"].to_numpy(dtype=float))), 0, model.max_length).astype(np.int64)
        context = parent[[c[len("parent."):] for c in self.context_[table]]].copy()
        context.columns = self.context_[table]
        starts = None
        if model.time_ is not None:
            anchor = self.time_.get(rel["parent_table"])
            base = _seconds(parent[anchor]) if anchor else np.zeros(len(parent))
            off_col = f"__off__{table}"
            offset = parent[off_col].to_numpy(dtype=float) if off_col in parent.columns else np.zeros(len(parent))
            starts = np.nan_to_num(base, nan=0.0) + np.nan_to_num(offset, nan=0.0)
        df = model.sample_for(context, counts, starts, seed=seed)
        df = df.drop(columns=self.context_[table])
        df[rel["child_key"]] = np.repeat(parent[rel["parent_key"]].to_numpy(), counts)
        return df

    def _fill_foreign_keys(self, out: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
        """Secondary foreign keys: copied from an ancestor along the chain, else drawn at random."""
        for r in self.rels_:
            child, parent = r["child_table"], r["parent_table"]
            if r is self._rel(child) if self.parent_.get(child) else False:
                continue
            if parent in self._chain(child):
                step = self._rel(child)
                ids = out[child][step["child_key"]]
                while step["parent_table"] != parent:  # climb one table towards the ancestor
                    table, up = step["parent_table"], self._rel(step["parent_table"])
                    lookup = pd.Series(out[table][up["child_key"]].to_numpy(), index=out[table][step["parent_key"]].to_numpy())
                    ids, step = ids.map(lookup), up
                ref = out[parent].set_index(step["parent_key"], drop=False)[r["parent_key"]]
                out[child][r["child_key"]] = ids.map(ref[~ref.index.duplicated()]).to_numpy()
            else:
                keys = out[parent][r["parent_key"]].to_numpy()
                out[child][r["child_key"]] = keys[rng.integers(0, len(keys), size=len(out[child]))]

    def _chain(self, table: str) -> list[str]:
        chain, t = [], self.parent_.get(table)
        while t is not None:
            chain.append(t)
            t = self.parent_.get(t)
        return chain

    def _finish(self, table: str, df: pd.DataFrame) -> pd.DataFrame:
        prep = self.prep_[table]
        anchor = self.time_.get(table)
        for col in prep["relative"]:
            df[col] = df[anchor] + pd.to_timedelta(df[col], unit="s")
        for col, decimals in prep["mixed"].items():
            df[col] = join_mixed(df[col], df.pop(f"{col}__text"), int(decimals))
        df = df.drop(columns=[c for c in df.columns if c.startswith(("__n__", "__off__"))])
        columns = list(self.dtypes_[table])
        df = CodeBook.from_state(prep["codebook"]).restore(df, columns)
        for col, dtype in self.dtypes_[table].items():
            if dtype.startswith("datetime64") and not pd.api.types.is_datetime64_any_dtype(df[col]):
                df[col] = pd.to_datetime(df[col])
            if str(df[col].dtype) != dtype:
                try:
                    df[col] = df[col].astype(dtype)
                except (TypeError, ValueError):
                    log.debug("relational: %s.%s kept as %s (cannot hold %s)", table, col, df[col].dtype, dtype)
        return df.reset_index(drop=True)

    def _keep_after_root(self, tables: dict[str, pd.DataFrame]) -> None:
        """Clip every child date to the root row's date (a child is never dated before a birth)."""
        for root in self.n_root_rows_:
            anchor, pk = self.time_.get(root), self.pks_.get(root)
            if not anchor or not pk:
                continue
            born = pd.Series(tables[root][anchor].to_numpy(), index=tables[root][pk].to_numpy())
            owners = root_ids(tables, [Relationship(**r) for r in self.rels_ if self.parent_.get(r["child_table"]) == r["parent_table"]], root, pk)
            for t, owner in owners.items():
                if t == root:
                    continue
                floor = owner.map(born)
                for col in tables[t].columns:
                    if pd.api.types.is_datetime64_any_dtype(tables[t][col]):
                        values = tables[t][col]
                        tables[t][col] = values.where(values.isna() | (values >= floor) | floor.isna(), floor)

    def _relationships(self) -> list[Relationship]:
        return [Relationship(**r) for r in self.rels_]

    # -- state -------------------------------------------------------------------------
    def save(self, path: Any, key: bytes | str | None = None) -> Any:
        """As the base class, with the multi-table metadata kept in the state (the base file's
        ``metadata`` slot describes one table)."""
        metadata, self.metadata = self.metadata, None
        try:
            return super().save(path, key=key)
        finally:
            self.metadata = metadata

    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        docs, tensors = {}, {}
        for t, model in self.models_.items():
            docs[t], sub = export_model(model)
            docs[t]["fit_state"] = {"fitted": True}
            tensors.update({f"{t}/{k}": v for k, v in sub.items()})
        state = {"dataset_metadata": self.metadata.to_dict() if self.metadata else None, "pks": self.pks_, "rels": self.rels_,
                 "order": self.order_, "parent": self.parent_, "dtypes": self.dtypes_, "key_hints": self.key_hints_,
                 "time": self.time_, "prep": self.prep_, "context": self.context_, "n_root_rows": self.n_root_rows_, "models": docs}
        return state, tensors

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.metadata = Metadata.from_dict(state["dataset_metadata"]) if state.get("dataset_metadata") else None
        self.pks_, self.rels_, self.order_, self.parent_ = state["pks"], state["rels"], state["order"], state["parent"]
        self.dtypes_, self.key_hints_, self.time_ = state["dtypes"], state["key_hints"], state["time"]
        self.prep_, self.context_, self.n_root_rows_ = state["prep"], state["context"], state["n_root_rows"]
        self.models_ = {}
        for t, doc in state["models"].items():
            doc = {k: v for k, v in doc.items() if k != "fit_state"}
            self.models_[t] = import_model(doc, {k[len(t) + 1:]: v for k, v in tensors.items() if k.startswith(f"{t}/")})


def _unpack(data: Any, relationships: list[Relationship] | None, primary_keys: dict[str, str] | None
            ) -> tuple[dict[str, pd.DataFrame], list[Relationship], dict[str, str]]:
    if hasattr(data, "tables") and hasattr(data, "relationships"):
        tables, rels = dict(data.tables), list(relationships or data.relationships)
        pks = {**getattr(data, "primary_keys", {}), **(primary_keys or {})}
    elif isinstance(data, dict):
        tables, rels, pks = dict(data), list(relationships or []), dict(primary_keys or {})
    else:
        raise DataError(f"relational: fit expects a synthkit.io.Dataset or a dict of DataFrames, got {type(data).__name__}")
    if not tables:
        raise DataError("relational: no tables given")
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame) or len(df) == 0:
            raise DataError(f"relational: table {name!r} is empty or not a DataFrame")
    for rel in rels:
        for t, k in ((rel.parent_table, rel.parent_key), (rel.child_table, rel.child_key)):
            if t not in tables or k not in tables[t].columns:
                raise DataError(f"relational: relationship names {t}.{k}, which is not in the data")
    for t, k in pks.items():
        if t not in tables or k not in tables[t].columns:
            raise DataError(f"relational: primary key {t}.{k} is not in the data")
        if tables[t][k].isna().any() or tables[t][k].duplicated().any():
            raise DataError(f"relational: primary key {t}.{k} has missing or duplicate values")
    for rel in rels:
        if pks.get(rel.parent_table) not in (None, rel.parent_key):
            raise DataError(f"relational: {rel.parent_table}.{rel.parent_key} is referenced but the primary key is {pks[rel.parent_table]}")
        pks.setdefault(rel.parent_table, rel.parent_key)
    return {k: v.reset_index(drop=True) for k, v in tables.items()}, rels, pks


def _plan(tables: list[str], rels: list[Relationship]) -> tuple[list[str], dict[str, str | None]]:
    """Topological order (every referenced table first) and each table's conditioning parent (deepest)."""
    order: list[str] = []
    pending = list(tables)
    while pending:
        ready = [t for t in pending if all(r.parent_table in order or r.parent_table == t for r in rels if r.child_table == t)]
        if not ready:
            raise DataError(f"relational: the relationships between {pending} form a cycle")
        order += ready
        pending = [t for t in pending if t not in ready]
    depth: dict[str, int] = {}
    parent: dict[str, str | None] = {}
    for t in order:
        parents = [r.parent_table for r in rels if r.child_table == t and r.parent_table != t]
        parent[t] = max(parents, key=lambda p: depth[p]) if parents else None
        depth[t] = depth[parent[t]] + 1 if parent[t] else 0
    return order, parent


def _profile(tables: dict[str, pd.DataFrame], rels: list[Relationship], pks: dict[str, str]) -> Metadata:
    metas = {}
    for name, df in tables.items():
        meta = profile_table(df, name=name)
        metas[name] = meta.model_copy(update={"primary_key": pks.get(name)}) if pks.get(name) else meta
    return Metadata(tables=metas, relationships=rels)


def _single(df: pd.DataFrame, key: str) -> TableMeta:
    meta = profile_table(df)
    meta.column(key).kind = "id"
    return meta


def _first_datetime(df: pd.DataFrame, keys: list[str]) -> str | None:
    return next((c for c in df.columns if c not in keys and pd.api.types.is_datetime64_any_dtype(df[c])), None)


def _seconds(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        return (values - _EPOCH).dt.total_seconds().to_numpy(dtype=float)
    return values.to_numpy(dtype=float)
