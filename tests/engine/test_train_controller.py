"""How a Ray Train fit sets up its controller, checked without Ray (the fits themselves: test_train_ray)."""

from __future__ import annotations

import os

import pytest

from synthkit.engine.train import _POLL_ENV, CONTROLLER_POLL_SECONDS, _controller_poll


def test_controller_polls_often_during_a_fit_and_the_environment_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_POLL_ENV, raising=False)
    with _controller_poll():
        assert os.environ[_POLL_ENV] == CONTROLLER_POLL_SECONDS == "0.25"
    assert _POLL_ENV not in os.environ
    with pytest.raises(RuntimeError), _controller_poll():  # a failed fit restores it too
        raise RuntimeError("worker died")
    assert _POLL_ENV not in os.environ


def test_a_users_own_poll_interval_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_POLL_ENV, "5")
    with _controller_poll():
        assert os.environ[_POLL_ENV] == "5"
    assert os.environ[_POLL_ENV] == "5"
