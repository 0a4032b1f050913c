"""Model files, stated honestly: checksums detect damage, a keyed HMAC signature detects forgery.

A forger who edits ``model.json`` and recomputes its checksums passes the checksum check (shown
below); with a signing key the same edit is refused, as are unsigned folders, re-signed folders
and any changed byte. Loading stays pickle-free even for a correctly signed folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from synthkit.errors import ConfigError, ModelFileError
from synthkit.models import Synthesizer, create, load
from synthkit.models.base import _content_sha256
from synthkit.models.signing import KEY_ENV, SIGNATURE_FILE, SignatureWarning, using_key

KEY = "k" * 32
OTHER = "attacker-key-0123456789abcdef"


@pytest.fixture(scope="module")
def fitted(adult_small: pd.DataFrame) -> Synthesizer:
    return create("copula", n_quantiles=21, seed=0).fit(adult_small.head(300))


@pytest.fixture
def signed(fitted: Synthesizer, tmp_path: Path) -> Path:
    return fitted.save(tmp_path / "m", key=KEY)


def _forge(folder: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Edit model.json and recompute both checksums, as anyone can."""
    doc = json.loads((folder / "model.json").read_text())
    change(doc)
    doc["weights_sha256"] = hashlib.sha256((folder / "weights.pt").read_bytes()).hexdigest()
    doc["state_sha256"] = _content_sha256(doc)
    (folder / "model.json").write_text(json.dumps(doc, indent=1))


def test_signed_model_round_trips_with_its_key(fitted: Synthesizer, signed: Path) -> None:
    assert (signed / SIGNATURE_FILE).is_file()
    pd.testing.assert_frame_equal(load(str(signed), key=KEY).sample(20, seed=3), fitted.sample(20, seed=3))


def test_checksum_misses_a_forgery_the_signature_catches(signed: Path) -> None:
    _forge(signed, lambda doc: doc["fit_info"].update(n_training_rows=999_999))
    with pytest.warns(SignatureWarning, match="not checked"):
        assert Synthesizer.load(signed).n_training_rows_ == 999_999  # checksums recomputed: damage check passes
    with pytest.raises(ModelFileError, match="signature does not match"):
        Synthesizer.load(signed, key=KEY)


@pytest.mark.parametrize("attack", ["weights_byte", "resigned_other_key", "signature_removed", "signature_garbage"])
def test_key_refuses_changed_resigned_or_unsigned(fitted: Synthesizer, signed: Path, attack: str) -> None:
    if attack == "weights_byte":
        data = bytearray((signed / "weights.pt").read_bytes())
        data[-1] ^= 1
        (signed / "weights.pt").write_bytes(bytes(data))
        expected = "signature does not match"
    elif attack == "resigned_other_key":
        fitted.save(signed, key=OTHER)
        expected = "signature does not match"
    elif attack == "signature_removed":
        (signed / SIGNATURE_FILE).unlink()
        expected = "not signed"
    else:
        (signed / SIGNATURE_FILE).write_text('{"algorithm": "md5", "signature": 1}')
        expected = "not a synthkit hmac-sha256 signature"
    with pytest.raises(ModelFileError, match=expected):
        Synthesizer.load(signed, key=KEY)


def test_key_from_environment_and_context(fitted: Synthesizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    folder = fitted.save(tmp_path / "env")
    assert (folder / SIGNATURE_FILE).is_file()
    Synthesizer.load(folder)  # verified with the environment's key
    with using_key(OTHER), pytest.raises(ModelFileError, match="signature does not match"):
        Synthesizer.load(folder)  # the CLI's --key-file wins over the environment
    monkeypatch.delenv(KEY_ENV)
    fitted.save(folder)  # saved again without a key: the stale signature goes
    assert not (folder / SIGNATURE_FILE).exists()
    with pytest.raises(ModelFileError, match="not signed"):
        Synthesizer.load(folder, key=KEY)


def test_short_key_is_refused(fitted: Synthesizer, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        fitted.save(tmp_path / "m", key="secret")


def test_signed_pickle_payload_is_still_refused(signed: Path) -> None:
    """The key holder's signature vouches for the bytes, never for unpickling them."""
    import torch

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, ("touch PWNED",))

    torch.save({"x": Payload()}, signed / "weights.pt")
    _forge(signed, lambda doc: None)
    from synthkit.models.signing import sign

    sign(signed, KEY)
    with pytest.raises(ModelFileError, match="cannot read weights"):
        Synthesizer.load(signed, key=KEY)
    assert not Path("PWNED").exists()


def _cli(*args: str) -> int:
    """``synthkit ARGS`` in this process (the console entry point: one-line errors, exit codes)."""
    from synthkit.cli import main

    sys.argv = ["synthkit", *args]
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_fit_sample_run_with_key_file(tmp_path: Path, adult_small: pd.DataFrame, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    adult_small.head(300).to_csv("data.csv", index=False)
    Path("model.key").write_text(KEY + "\n")
    Path("other.key").write_text(OTHER)
    assert _cli("fit", "data.csv", "-m", "copula", "-p", "n_quantiles=21", "-o", "m", "--key-file", "model.key") == 0
    assert Path("m", SIGNATURE_FILE).is_file()
    assert _cli("sample", "m", "-n", "10", "-o", "s.csv", "--key-file", "model.key") == 0
    assert len(pd.read_csv("s.csv")) == 10
    capsys.readouterr()
    assert _cli("sample", "m", "-n", "10", "-o", "t.csv", "--key-file", "other.key") == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "signature does not match" in err and err.count("\n") == 1
    assert not Path("t.csv").exists()
    with pytest.warns(SignatureWarning, match="signature was not checked"):
        assert _cli("sample", "m", "-n", "5", "-o", "u.csv") == 0
    monkeypatch.setenv(KEY_ENV, KEY)
    assert _cli("sample", "m", "-n", "5", "-o", "v.csv") == 0  # verified with the environment's key
    monkeypatch.delenv(KEY_ENV)
    config = {"name": "signed", "source": {"path": "data.csv"}, "model": {"name": "copula", "params": {"n_quantiles": 21}},
              "evaluate": {"max_rows": 200, "families": ["fidelity"]}, "output_dir": "out"}
    Path("p.yaml").write_text(yaml.safe_dump(config))
    assert _cli("run", "p.yaml", "--key-file", "model.key") == 0, capsys.readouterr().err
    [sig] = list(Path("out").rglob(SIGNATURE_FILE))  # the run's model was signed with the file's key
    assert Synthesizer.load(sig.parent, key=KEY).name == "copula"
