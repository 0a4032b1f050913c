"""Sampling arguments and model-file safety: bad ``n``, bad conditions, tampered or foreign files.

Loading a model must never unpickle: a ``weights.pt`` carrying a pickle payload is refused even
when its checksum is made to match, and the payload never runs.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthkit.errors import ModelFileError
from synthkit.models import Synthesizer, create

from .conftest import attempt


@pytest.fixture(scope="module")
def model(adult_small):
    return create("copula", n_quantiles=51).fit(adult_small.iloc[:300])


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> Path:
    return model.save(tmp_path_factory.mktemp("m") / "model")


N_CASES = {
    "zero": (0, "error", ("positive",)),
    "negative": (-5, "error", ("positive",)),
    "huge": (10**12, "error", ("exceeds", "limit")),
    "float_whole": (5.0, "ok", ()),
    "float_fraction": (2.5, "error", ("whole number",)),
    "nan": (float("nan"), "error", ("whole number",)),
    "inf": (float("inf"), "error", ("whole number",)),
    "string": ("10", "error", ("whole number",)),
    "none": (None, "error", ("whole number",)),
    "bool": (True, "error", ("whole number",)),
    "numpy_int": (np.int64(7), "ok", ()),
    "numpy_uint_big": (np.uint64(2**63), "error", ("exceeds", "limit")),
    "one": (1, "ok", ()),
}


@pytest.mark.parametrize("case", list(N_CASES))
def test_sample_n(model, case):
    n, expect, words = N_CASES[case]
    out = attempt("sample", lambda: model.sample(n, seed=0), expect=expect, words=words)
    if isinstance(out, pd.DataFrame):
        assert len(out) == int(n)


COND_CASES = {
    "unknown_column": ({"no_such": 1}, "error", ("no_such",)),
    "unseen_category": ({"workclass": "Astronaut"}, "error", ("workclass",)),
    "numeric_text": ({"age": "abc"}, "error", ("age",)),
    "nan_value": ({"sex": float("nan")}, "error", ("sex",)),
    "empty_list": ({"sex": []}, "error", ("sex",)),
    "not_a_dict": (["sex", "Male"], "error", ("conditions",)),
    "seen_category": ({"sex": "Female"}, "ok", ()),
    "list_of_values": ({"race": ["White", "Black"]}, "ok", ()),
    "numeric_exact_value": ({"age": 37}, "any", ("age",)),
}


@pytest.mark.parametrize("case", list(COND_CASES))
def test_sample_conditions(model, case):
    conditions, expect, words = COND_CASES[case]
    out = attempt("sample", lambda: model.sample(50, seed=0, conditions=conditions), expect=expect, words=words, limit=60)
    if isinstance(out, pd.DataFrame) and isinstance(conditions, dict):
        for column, wanted in conditions.items():
            allowed = wanted if isinstance(wanted, list) else [wanted]
            assert out[column].isin(allowed).all()


def _rehash(folder: Path) -> None:
    """Make the checksums match again, as an attacker who edits both files would."""
    from synthkit.models import base

    doc = json.loads((folder / "model.json").read_text())
    doc["weights_sha256"] = hashlib.sha256((folder / "weights.pt").read_bytes()).hexdigest()
    content = getattr(base, "_content_sha256", None)  # whole-document checksum, where base.py has one
    if content is not None:
        doc["state_sha256"] = content(doc)
    else:
        state = json.dumps(doc.get("state"), sort_keys=True, allow_nan=False)
        doc["state_sha256"] = hashlib.sha256(state.encode()).hexdigest()
    (folder / "model.json").write_text(json.dumps(doc))


def _edit(key_path: list, value, rehash: bool = False):
    def apply(folder: Path) -> None:
        doc = json.loads((folder / "model.json").read_text())
        node = doc
        for key in key_path[:-1]:
            node = node[key]
        if value is _DELETE:
            node.pop(key_path[-1], None)
        else:
            node[key_path[-1]] = value
        (folder / "model.json").write_text(json.dumps(doc))
        if rehash:
            _rehash(folder)

    return apply


_DELETE = object()


class _Payload:
    """A pickle that would create a marker file when unpickled."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _pickle_weights(folder: Path) -> None:
    payload = _Payload()
    _Payload.marker = folder / "PWNED"
    import torch

    torch.save({"correlation": payload}, folder / "weights.pt")
    _rehash(folder)


def _write(name: str, data: bytes):
    def apply(folder: Path) -> None:
        (folder / name).write_bytes(data)

    return apply


TAMPER = {
    "weights_changed": (_write("weights.pt", b"PK\x03\x04 not the weights"), ("checksum",)),
    "weights_empty": (_write("weights.pt", b""), ("checksum",)),
    "weights_missing": (lambda f: (f / "weights.pt").unlink(), ("weights.pt", "not a synthkit model")),
    "model_json_missing": (lambda f: (f / "model.json").unlink(), ("model.json", "not a synthkit model")),
    "model_json_not_json": (_write("model.json", b"{not json"), ("not valid JSON",)),
    "model_json_binary": (_write("model.json", b"\xff\xfe\x00garbage"), ("not valid JSON", "model.json")),
    "model_json_list": (_write("model.json", b"[1, 2, 3]"), ("not a synthkit model",)),
    "model_json_deep_nesting": (_write("model.json", b"[" * 100_000 + b"]" * 100_000), ("model.json",)),
    "other_model_class": (_edit(["model"], "gan", rehash=True), ("gan", "model", "weights", "state")),
    "unknown_param": (_edit(["params", "exec"], "rm -rf /", rehash=True), ("exec", "param", "model")),
    "schema_missing": (_edit(["schema"], _DELETE, rehash=True), ("schema", "model")),
    "fit_info_garbage": (_edit(["fit_info"], "x", rehash=True), ("fit_info", "model")),
    "state_missing_marginals": (_edit(["state"], {}, rehash=True), ("state", "marginals", "model")),
    "foreign_format": (_edit(["format"], "sdv-model"), ("not a synthkit model",)),
    "wrong_version": (_edit(["format_version"], 99), ("version",)),
    "version_as_text": (_edit(["format_version"], "1"), ("version",)),
    "extra_key": (_edit(["__reduce__"], "os.system"), ("unexpected keys",)),
    "state_changed": (_edit(["state", "marginals", 0, "column"], "evil"), ("checksum",)),
    "pickle_payload_rehashed": (_pickle_weights, ("weights",)),
    "unknown_model_name": (_edit(["model"], "evil-model", rehash=True), ("evil-model",)),
    "param_wrong_type": (_edit(["params", "n_quantiles"], "many", rehash=True), ("n_quantiles",)),
    "metadata_invalid": (_edit(["metadata", "tables"], "nope", rehash=True), ("metadata",)),
    "schema_column_extra_field": (_edit(["schema", "columns", 0, "evil"], 1, rehash=True), ("schema",)),
}


HARMLESS = {"param_wrong_type"}


@pytest.mark.parametrize("case", list(TAMPER))
def test_tampered_model_is_refused(saved, case, tmp_path):
    tamper, words = TAMPER[case]
    folder = tmp_path / "model"
    shutil.copytree(saved, folder)
    tamper(folder)
    # a parameter that only matters when fitting may be edited harmlessly; everything else is refused
    expect = "any" if case in HARMLESS else "error"
    attempt("load", lambda: Synthesizer.load(folder).sample(5, seed=0), expect=expect, words=words)
    assert not (folder / "PWNED").exists(), "loading a model executed a pickle payload"


def test_load_path_that_is_a_file_or_missing(tmp_path):
    (tmp_path / "file").write_text("x")
    attempt("load", lambda: Synthesizer.load(tmp_path / "file"), expect="error", words=("not a synthkit model",), error=ModelFileError)
    attempt("load", lambda: Synthesizer.load(tmp_path / "nope"), expect="error", words=("not a synthkit model",), error=ModelFileError)


def test_save_over_a_file_is_refused(model, tmp_path):
    (tmp_path / "taken").write_text("x")
    attempt("load", lambda: model.save(tmp_path / "taken"), expect="error", words=("not a directory",), error=ModelFileError)


def test_unfitted_model_cannot_sample_or_save(tmp_path):
    fresh = create("copula")
    attempt("sample", lambda: fresh.sample(5), expect="error", words=("not fitted",))
    attempt("sample", lambda: fresh.save(tmp_path / "m"), expect="error", words=("not fitted",))


def test_pickle_module_is_not_used_to_load(saved, monkeypatch):
    """Belt and braces: loading works with pickle.loads/Unpickler.load forbidden."""

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used while loading a model")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    loaded = attempt("load", lambda: Synthesizer.load(saved), expect="ok")
    assert len(loaded.sample(3, seed=0)) == 3
