"""Keyed signatures of saved models: HMAC-SHA256 over ``model.json`` and ``weights.pt``.

The SHA-256 checksums inside ``model.json`` detect *damage*, not *forgery*: whoever edits a model
file can recompute them. A signature made with a secret key detects forgery: only a holder of the
key can produce it. The key comes from ``save(..., key=)`` / ``load(..., key=)``, else from
:func:`using_key` (the CLI's ``--key-file``), else from the environment variable
``SYNTHKIT_MODEL_KEY``; without any, models are saved unsigned as before.

* saving with a key writes ``model.sig`` beside the files (saving without one removes a stale one);
* loading with a key refuses an unsigned folder, a wrong key and any changed byte, before a single
  byte of the model is parsed;
* loading a signed model without a key works but warns that the signature was not checked.

Only the standard library's ``hmac`` is used; nothing here unpickles.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from synthkit.errors import ConfigError, ModelFileError
from synthkit.utils.atomic import write_text

__all__ = ["KEY_ENV", "SIGNATURE_FILE", "SignatureWarning", "read_key_file", "resolve_key", "sign", "using_key", "verify"]

log = logging.getLogger(__name__)

KEY_ENV = "SYNTHKIT_MODEL_KEY"
SIGNATURE_FILE = "model.sig"
SIGNED_FILES = ("model.json", "weights.pt")
MIN_KEY_BYTES = 16
_ALGORITHM = "hmac-sha256"
_DOMAIN = b"synthkit-model-signature-v1\0"
_CONTEXT_KEY: ContextVar[bytes | None] = ContextVar("synthkit_model_key", default=None)


class SignatureWarning(UserWarning):
    """A signed model was loaded without a key, so its signature was not checked."""


def _as_key(key: bytes | str, source: str) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigError(f"the model signing key from {source} is {len(raw)} bytes; use at least {MIN_KEY_BYTES} "
                          "(for example the output of `openssl rand -hex 32`)")
    return raw


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """The key stored in ``path`` (surrounding whitespace and the final newline ignored)."""
    path = Path(path)
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the model key file {path}: {exc.strerror or exc}") from None
    return _as_key(raw, f"key file {path}")


def resolve_key(key: bytes | str | None = None) -> bytes | None:
    """The key in force: the argument, else :func:`using_key`'s, else ``$SYNTHKIT_MODEL_KEY``, else None."""
    if key is not None:
        return _as_key(key, "key=")
    if _CONTEXT_KEY.get() is not None:
        return _CONTEXT_KEY.get()
    env = os.environ.get(KEY_ENV)
    return _as_key(env, f"${KEY_ENV}") if env else None


@contextlib.contextmanager
def using_key(key: bytes | str | None) -> Iterator[None]:
    """Sign and verify every model saved or loaded inside the block with ``key`` (None: no change)."""
    token = _CONTEXT_KEY.set(_as_key(key, "the key file") if key is not None else _CONTEXT_KEY.get())
    try:
        yield
    finally:
        _CONTEXT_KEY.reset(token)


def _digest(folder: Path, key: bytes) -> str:
    """HMAC over every signed file's name, length and bytes (no two folders sign the same)."""
    mac = hmac.new(key, _DOMAIN, hashlib.sha256)
    for name in SIGNED_FILES:
        data = (folder / name).read_bytes()
        mac.update(name.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return mac.hexdigest()


def sign(folder: str | os.PathLike[str], key: bytes | str | None = None) -> Path | None:
    """Sign a just-saved model folder with the key in force; without a key remove a stale signature."""
    folder = Path(folder)
    resolved = resolve_key(key)
    sig = folder / SIGNATURE_FILE
    if resolved is None:
        sig.unlink(missing_ok=True)
        return None
    doc = {"algorithm": _ALGORITHM, "files": list(SIGNED_FILES), "signature": _digest(folder, resolved)}
    return write_text(sig, json.dumps(doc, indent=1) + "\n")


def verify(folder: str | os.PathLike[str], key: bytes | str | None = None) -> bool:
    """Check a model folder's signature before it is read; True when it was checked and holds.

    With a key in force an unsigned, re-signed or changed folder raises :class:`ModelFileError`;
    without one a signed folder loads with a :class:`SignatureWarning` (nothing to check it with).
    """
    folder = Path(folder)
    resolved = resolve_key(key)
    sig = folder / SIGNATURE_FILE
    if resolved is None:
        if sig.exists():
            warnings.warn(f"{folder} is signed but no key was given (key= or ${KEY_ENV}): its signature was not checked",
                          SignatureWarning, stacklevel=3)
        return False
    if not sig.is_file():
        raise ModelFileError(f"{folder} is not signed (no {SIGNATURE_FILE}); a signing key is set, so only signed models load")
    try:
        doc = json.loads(sig.read_text(encoding="utf-8"))
        claimed = doc["signature"] if doc.get("algorithm") == _ALGORITHM and doc.get("files") == list(SIGNED_FILES) else None
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        claimed = None
    if not isinstance(claimed, str):
        raise ModelFileError(f"{folder / SIGNATURE_FILE} is not a synthkit {_ALGORITHM} signature")
    if not hmac.compare_digest(claimed, _digest(folder, resolved)):
        raise ModelFileError(f"{folder}: the model signature does not match; the files were changed or signed with another key")
    log.debug("model signature of %s verified", folder)
    return True
