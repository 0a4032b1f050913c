"""Fixtures shared by the model tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks train faster on one thread than on two oversubscribed ones (busy 2-core CI)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def refuses_pickled_weights():
    """Check that a saved model folder whose weights file holds a pickled object is refused, even
    with its checksum made to match (so the refusal is the unpickler's, not the checksum's)."""
    import hashlib
    import json
    from fractions import Fraction

    import torch

    from synthkit.errors import ModelFileError
    from synthkit.models import Synthesizer

    def check(folder) -> None:
        # any non-tensor object from an importable module: loading it would need pickle's full power
        torch.save({"x": Fraction(1, 3)}, folder / "weights.pt")
        doc = json.loads((folder / "model.json").read_text())
        doc["weights_sha256"] = hashlib.sha256((folder / "weights.pt").read_bytes()).hexdigest()
        (folder / "model.json").write_text(json.dumps(doc))
        with pytest.raises(ModelFileError, match="cannot read weights"):
            Synthesizer.load(folder)

    return check


@pytest.fixture
def skip_unless_pickle_free():
    """Known exception, listed with its reason (like scikit-learn's known failures): the sdv-*
    adapters cannot save without pickle (SDV's state is cloudpickled), so their save refuses."""

    def check(cls: type) -> None:
        if not getattr(cls, "pickle_free", True):
            pytest.skip(f"{cls.name} is not pickle-free by design (SDV state); its save raises ModelError")

    return check
