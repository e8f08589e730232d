"""A dict-backed stand-in for the core's recorder and marker store.

``DictRecorder`` does what the core's recording does, in memory: deduplicates by the
default idempotency key and folds each notification into its envelope's state with the
real :func:`connect_mw.state.fold`, reporting the transitions it caused. It can be told to
crash on its n-th call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from connect_mw.keys import default_key
from connect_mw.model import EnvelopeState, Notification, Transition
from connect_mw.state import fold

_R = TypeVar("_R")


@dataclass(frozen=True)
class Outcome:
    """What one record did."""

    inserted: bool
    transitions: tuple[Transition, ...] = ()


class Crash(RuntimeError):
    """The recorder's simulated crash."""


@dataclass
class DictRecorder:
    """Records notifications in dicts; ``crash_on`` makes that call (1-based) raise."""

    crash_on: int | None = None
    calls: int = 0
    events: dict[str, Notification] = field(default_factory=dict)
    raws: dict[str, bytes] = field(default_factory=dict)
    states: dict[str, EnvelopeState] = field(default_factory=dict)
    fired: list[tuple[str, str]] = field(default_factory=list)

    def record(self, notification: Notification, raw: bytes) -> Outcome:
        """Record synchronously (also used to play a Connect delivery)."""
        self.calls += 1
        if self.calls == self.crash_on:
            raise Crash(f"crash on call {self.calls}")
        key = default_key(notification)
        if key in self.events:
            return Outcome(False)
        result = fold(self.states.get(notification.envelope_id), notification)
        self.events[key] = notification
        self.raws[key] = raw
        self.states[notification.envelope_id] = result.state
        for transition in result.transitions:
            name = transition.name + (
                f":{transition.recipient_id}" if transition.recipient_id else ""
            )
            self.fired.append((notification.envelope_id, name))
        return Outcome(True, result.transitions)

    async def arecord(self, notification: Notification, raw: bytes) -> Outcome:
        """The ``Recorder`` protocol's method."""
        return self.record(notification, raw)


@dataclass
class DictWatermarks:
    """Markers in a dict, with the history of writes."""

    values: dict[str, str] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)

    def read_marker(self, name: str) -> str | None:
        """The ``Watermarks`` protocol's read."""
        return self.values.get(name)

    def write_marker(self, name: str, value: str) -> None:
        """The ``Watermarks`` protocol's write."""
        self.values[name] = value
        self.writes.append((name, value))

    async def offload(self, call: Callable[[], _R]) -> _R:
        """The ``Watermarks`` protocol's offload: a dict needs no thread."""
        return call()
