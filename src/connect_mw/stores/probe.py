"""Probing a store: does it answer within a bound? (:meth:`Store.probe <.api.Store.probe>`).

A command or a health check asks before it relies on the store, so a server that is down
shows as one clear error within about the bound, not as a wait of a pool's timeout followed
by a traceback. :func:`answer_within` runs one blocking call in a daemon thread and waits at
most the bound for it; a call still running then is left to finish (or fail) on its own.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..errors import ConfigurationError, StoreUnavailable
from ..redaction import redact

__all__ = [
    "PROBE_ENVELOPE",
    "NoAnswer",
    "answer_within",
    "call_within",
    "check_timeout",
    "one_line",
]

_R = TypeVar("_R")

#: The envelope id the default probe loads: any id will do, none needs to exist.
PROBE_ENVELOPE = "connect-mw-probe"


def one_line(exc: BaseException) -> str:
    """``exc`` as one line without credentials: its type when it has no message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)


def check_timeout(timeout: float) -> None:
    """``ValueError`` unless ``timeout`` is a positive, finite number of seconds.

    NaN passes ``timeout <= 0`` and would switch the bound off.
    """
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive, finite number of seconds: {timeout!r}")


class NoAnswer(TimeoutError):
    """A call given a bound (:func:`call_within`) had not returned when the bound passed."""


def call_within(timeout: float, call: Callable[[], _R], name: str = "connect-mw-probe") -> _R:
    """``call()``'s result, run in a daemon thread ``name`` and waited for ``timeout`` seconds.

    Raises :class:`NoAnswer` when it has not returned by then (the thread is left to finish
    on its own), and whatever ``call`` raised.
    """
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise NoAnswer(f"no answer within {timeout:g} s")
    returned, value = outcome[0]
    if not returned:
        raise value
    return cast("_R", value)


def answer_within(timeout: float, call: Callable[[], object]) -> None:
    """Run ``call`` and return once it returned, within ``timeout`` seconds.

    Raises :class:`~connect_mw.errors.StoreUnavailable` (its ``reason`` one line, redacted)
    when ``call`` raised or had not returned in time; a
    :class:`~connect_mw.errors.ConfigurationError` it raised is re-raised as it is (the
    store answered: it is set up wrong).
    """
    check_timeout(timeout)
    try:
        call_within(timeout, call)
    except NoAnswer as late:
        raise StoreUnavailable(str(late)) from None
    except ConfigurationError:
        raise
    except BaseException as error:
        raise StoreUnavailable(one_line(error)) from error
