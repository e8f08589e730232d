"""Routing: the callbacks users register, and which of them one delivery calls.

Two kinds, both may be plain functions or ``async def``:

* **transition callbacks** (``on_envelope_completed``, ``on_recipient_sent``, …, or
  ``on_transition("envelope", "completed")``) fire once each time an envelope (or recipient)
  *enters* that status by DocuSign's own timeline — again after a real step back such as
  a correction — whatever the format, however many duplicates or retries arrive and in
  whatever order (see docs/callbacks.md);
* **event callbacks** (``on("envelope-corrected")``, ``on_any``) fire once per unique
  delivery.

``on_error`` handlers are told about every callback that raised.

:class:`Router` holds registrations and composes with other routers (``Router(*others)``);
:class:`Routes` is the registration API, shared by ``Router`` and
:class:`~connect_mw.receiver.Receiver` (which hands registrations to its router).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .model import EnvelopeState, Notification, Transition, no_raw


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a callback receives.

    ``key`` is the idempotency key of the stored event and ``attempt`` counts invocations
    for it (1 on the first), so a callback can make an external side effect idempotent.
    ``transition`` is set for transition callbacks, ``None`` for event callbacks.

    ``raw`` is the message's body exactly as DocuSign sent it; ``body`` is that body decoded
    as a read-only mapping, on first use, for any field the model does not cover (JSON: the
    object; XML: a dict-like view of the elements, see
    :class:`~connect_mw.parse.raw_body.LazyBody`). Both are empty for a delivery built
    without its body.
    """

    notification: Notification
    key: str
    state: EnvelopeState
    transition: Transition | None = None
    attempt: int = 1
    raw: bytes = field(default=b"", repr=False, compare=False)
    body: Mapping[str, Any] = field(default_factory=no_raw, repr=False, compare=False)

    @property
    def envelope_id(self) -> str:
        """Shortcut for ``notification.envelope_id``."""
        return self.notification.envelope_id


Callback = Callable[[Delivery], Awaitable[None] | None]
ErrorCallback = Callable[[Delivery, BaseException], Awaitable[None] | None]
_C = TypeVar("_C", bound=Callback)
_E = TypeVar("_E", bound=ErrorCallback)
CallContext = Callable[[], AbstractContextManager[object]]


class Routes(abc.ABC):
    """The registration decorators; subclasses say where a registration goes."""

    @abc.abstractmethod
    def _add(self, table: str, name: str, func: Callable[..., object]) -> None:
        """Register ``func`` in ``table`` (transition, event, any, error) under ``name``."""

    # Registration -----------------------------------------------------------------

    def on_transition(self, kind: str, status: str) -> Callable[[_C], _C]:
        """Decorator: call each time an envelope or a recipient enters ``status``.

        ``kind`` is ``"envelope"`` or ``"recipient"``.
        """
        if kind not in {"envelope", "recipient"}:
            raise ValueError("kind must be 'envelope' or 'recipient'")
        name = f"{kind}-{status.strip().lower()}"

        def register(func: _C) -> _C:
            self._add("transition", name, func)
            return func

        return register

    def on(self, event: str) -> Callable[[_C], _C]:
        """Decorator: call for every unique delivery of Connect event ``event``.

        XML and aggregate messages get ``envelope-<status>`` as their event name.
        """

        def register(func: _C) -> _C:
            self._add("event", event.strip().lower(), func)
            return func

        return register

    def on_any(self, func: _C) -> _C:
        """Decorator: call for every unique delivery."""
        self._add("any", "", func)
        return func

    def on_error(self, func: _E) -> _E:
        """Decorator: call with the delivery and the exception whenever a callback raises."""
        self._add("error", "", func)
        return func

    def on_envelope_created(self, func: _C) -> _C:
        """Decorator: the envelope was first seen as created (a draft)."""
        return self.on_transition("envelope", "created")(func)

    def on_envelope_sent(self, func: _C) -> _C:
        """Decorator: the envelope was sent to its recipients."""
        return self.on_transition("envelope", "sent")(func)

    def on_envelope_delivered(self, func: _C) -> _C:
        """Decorator: every recipient so far has opened the envelope."""
        return self.on_transition("envelope", "delivered")(func)

    def on_envelope_signed(self, func: _C) -> _C:
        """Decorator: every signer has signed (completion may follow)."""
        return self.on_transition("envelope", "signed")(func)

    def on_envelope_completed(self, func: _C) -> _C:
        """Decorator: the envelope is completed: everyone signed, documents are final."""
        return self.on_transition("envelope", "completed")(func)

    def on_envelope_declined(self, func: _C) -> _C:
        """Decorator: a recipient declined to sign."""
        return self.on_transition("envelope", "declined")(func)

    def on_envelope_voided(self, func: _C) -> _C:
        """Decorator: the sender voided the envelope."""
        return self.on_transition("envelope", "voided")(func)

    def on_recipient_sent(self, func: _C) -> _C:
        """Decorator: a recipient was sent the envelope (its routing turn came)."""
        return self.on_transition("recipient", "sent")(func)

    def on_recipient_delivered(self, func: _C) -> _C:
        """Decorator: a recipient opened the envelope."""
        return self.on_transition("recipient", "delivered")(func)

    def on_recipient_completed(self, func: _C) -> _C:
        """Decorator: a recipient finished (signed, or received a copy)."""
        return self.on_transition("recipient", "completed")(func)

    def on_recipient_declined(self, func: _C) -> _C:
        """Decorator: a recipient declined."""
        return self.on_transition("recipient", "declined")(func)

    def on_recipient_autoresponded(self, func: _C) -> _C:
        """Decorator: a recipient's email bounced or auto-replied."""
        return self.on_transition("recipient", "autoresponded")(func)

    def on_recipient_removed(self, func: _C) -> _C:
        """Decorator: a newer full recipient list no longer names a recipient.

        A correction removed it, or a reassignment replaced it; it stays in
        ``state.recipients`` with ``removed_at`` set.
        """
        return self.on_transition("recipient", "removed")(func)


class Router(Routes):
    """Holds callbacks and says which to call for a stored delivery.

    ``Router(*others)`` also calls the callbacks of ``others`` (after its own), so a big app
    can register callbacks in several modules and compose them.
    """

    def __init__(self, *others: Router) -> None:
        #: Entered around every callback invocation; framework adapters set it (Flask uses
        #: ``app.app_context``) so callbacks run inside the framework's context.
        self.call_context: CallContext = nullcontext
        self.others: list[Router] = []
        self.include(*others)
        self._tables: dict[str, dict[str, list[Callable[..., object]]]] = {
            "transition": {},
            "event": {},
            "any": {},
            "error": {},
        }

    def include(self, *others: Router) -> None:
        """Also call the callbacks of ``others`` (after this router's own); once each."""
        for other in others:
            if other is self:
                raise ValueError("a router cannot include itself")
            if other not in self.others:
                self.others.append(other)

    def _add(self, table: str, name: str, func: Callable[..., object]) -> None:
        self._tables[table].setdefault(name, []).append(func)

    def _lookup(self, table: str, name: str) -> list[Callable[..., object]]:
        found = list(self._tables[table].get(name, ()))
        for other in self.others:
            found.extend(other._lookup(table, name))
        return found

    def calls_for(
        self,
        notification: Notification,
        key: str,
        state: EnvelopeState,
        transitions: tuple[Transition, ...],
        attempt: int = 1,
        *,
        raw: bytes = b"",
        body: Mapping[str, Any] | None = None,
    ) -> list[tuple[Callback, Delivery]]:
        """Every (callback, delivery) pair one stored delivery triggers, in call order.

        Transition callbacks in lifecycle order, then event callbacks, then ``on_any``.
        ``raw`` is the stored body and ``body`` its decoded mapping, handed to every delivery.
        """
        body = no_raw() if body is None else body
        calls: list[tuple[Callback, Delivery]] = []
        for transition in transitions:
            delivery = Delivery(notification, key, state, transition, attempt, raw, body)
            calls.extend((cb, delivery) for cb in self._callbacks("transition", transition.name))
        plain = Delivery(notification, key, state, None, attempt, raw, body)
        calls.extend((cb, plain) for cb in self._callbacks("event", notification.event.lower()))
        calls.extend((cb, plain) for cb in self._callbacks("any", ""))
        return calls

    def _callbacks(self, table: str, name: str) -> list[Callback]:
        return self._lookup(table, name)  # type: ignore[return-value]

    @property
    def error_handlers(self) -> tuple[ErrorCallback, ...]:
        """The registered ``on_error`` handlers (this router's, then the others')."""
        return tuple(self._lookup("error", ""))  # type: ignore[arg-type]

    @property
    def empty(self) -> bool:
        """Whether no callback at all is registered (``on_error`` aside)."""
        names = ("transition", "event", "any")
        mine = any(self._tables[t] for t in names)
        return not mine and all(other.empty for other in self.others)
