"""The bad-input corpus harness: every case works or raises a clear synthkit error, never hangs.

``attempt(stage, fn, ...)`` runs one case under a time limit and classifies it:
``ok`` (returned), ``clear_error`` (a :class:`~synthkit.errors.SynthkitError` whose message names
the problem: it contains one of ``words``), or a failure (an unhandled exception from pandas,
numpy or torch; a vague synthkit message; a hang). Outcomes are collected and printed as a summary
table at the end of the session (cases, works, clear errors, per stage).
"""

from __future__ import annotations

import contextlib
import signal
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from synthkit.errors import SynthkitError

OUTCOMES: list[tuple[str, str]] = []  # (stage, outcome)
DEFAULT_LIMIT = 60


class Hang(Exception):
    """A case ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """SIGALRM-based limit (pytest runs tests in the main thread)."""

    def _raise(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def attempt(
    stage: str,
    fn: Callable[[], Any],
    *,
    expect: str = "any",
    words: Sequence[str] = (),
    error: type[SynthkitError] = SynthkitError,
    limit: int = DEFAULT_LIMIT,
) -> Any:
    """Run one case; returns the result (or the synthkit error) after checking the contract.

    ``expect``: "ok" (must work), "error" (must raise ``error``), "any" (either is fine).
    ``words``: when it raises, the message must contain at least one of them (case-insensitive).
    """
    try:
        with time_limit(limit):
            value = fn()
    except Hang as exc:
        OUTCOMES.append((stage, "hang"))
        pytest.fail(f"[{stage}] hang: {exc}")
    except SynthkitError as exc:
        message = str(exc)
        named = not words or any(w.lower() in message.lower() for w in words)
        if expect == "ok" or not isinstance(exc, error) or not message.strip() or not named:
            OUTCOMES.append((stage, "vague_or_unexpected_error"))
            pytest.fail(f"[{stage}] {type(exc).__name__}: {message!r} (expected {expect}, {error.__name__} naming one of {list(words)})")
        OUTCOMES.append((stage, "clear_error"))
        return exc
    except Exception as exc:  # noqa: BLE001 - exactly what the corpus hunts for
        OUTCOMES.append((stage, "unhandled"))
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        pytest.fail(f"[{stage}] unhandled {type(exc).__module__}.{type(exc).__name__}: {first}")
    if expect == "error":
        OUTCOMES.append((stage, "no_error"))
        pytest.fail(f"[{stage}] expected a {error.__name__}, but it worked and returned {type(value).__name__}")
    OUTCOMES.append((stage, "ok"))
    return value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not OUTCOMES:
        return
    per_stage: dict[str, Counter[str]] = defaultdict(Counter)
    for stage, outcome in OUTCOMES:
        per_stage[stage][outcome] += 1
    total = Counter(outcome for _, outcome in OUTCOMES)
    tr = terminalreporter
    tr.write_sep("=", "bad-input corpus summary")
    tr.write_line(f"{'stage':<10} {'cases':>6} {'works':>6} {'clear errors':>13} {'failures':>9}")
    for stage in sorted(per_stage):
        c = per_stage[stage]
        bad = sum(v for k, v in c.items() if k not in ("ok", "clear_error"))
        tr.write_line(f"{stage:<10} {sum(c.values()):>6} {c['ok']:>6} {c['clear_error']:>13} {bad:>9}")
    bad = sum(v for k, v in total.items() if k not in ("ok", "clear_error"))
    tr.write_line(f"{'total':<10} {len(OUTCOMES):>6} {total['ok']:>6} {total['clear_error']:>13} {bad:>9}")
