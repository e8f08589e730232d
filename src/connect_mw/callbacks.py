"""The callback registry: what users register, and which callbacks a delivery calls.

Two kinds, both may be plain functions or ``async def``:

* **transition callbacks** (``on_envelope_completed``, ``on_recipient_sent``, …, or
  ``on_transition("envelope", "completed")``) fire once per envelope (or recipient) the first
  time it *reaches* that status, whatever the format, however many duplicates or retries
  arrive and in whatever order;
* **event callbacks** (``on("envelope-corrected")``, ``on_any``) fire once per unique
  delivery.

``on_error`` handlers are told about every callback that raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TypeVar

from .model import EnvelopeState, Notification, Transition


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a callback receives.

    ``key`` is the idempotency key of the stored event and ``attempt`` counts invocations
    for it (1 on the first), so a callback can make an external side effect idempotent.
    ``transition`` is set for transition callbacks, ``None`` for event callbacks.
    """

    notification: Notification
    key: str
    state: EnvelopeState
    transition: Transition | None = None
    attempt: int = 1

    @property
    def envelope_id(self) -> str:
        """Shortcut for ``notification.envelope_id``."""
        return self.notification.envelope_id


Callback = Callable[[Delivery], Awaitable[None] | None]
ErrorCallback = Callable[[Delivery, BaseException], Awaitable[None] | None]
_C = TypeVar("_C", bound=Callback)
_E = TypeVar("_E", bound=ErrorCallback)
CallContext = Callable[[], AbstractContextManager[object]]


class CallbackRegistry:
    """Holds callbacks and says which to call for a stored delivery."""

    def __init__(self) -> None:
        #: Entered around every callback invocation; framework adapters set it (Flask uses
        #: ``app.app_context``) so callbacks run inside the framework's context.
        self.call_context: CallContext = nullcontext
        self._transitions: dict[str, list[Callback]] = {}
        self._events: dict[str, list[Callback]] = {}
        self._any: list[Callback] = []
        self._errors: list[ErrorCallback] = []

    # Registration -----------------------------------------------------------------

    def on_transition(self, kind: str, status: str) -> Callable[[_C], _C]:
        """Decorator: call when an envelope or a recipient first reaches ``status``.

        ``kind`` is ``"envelope"`` or ``"recipient"``.
        """
        if kind not in {"envelope", "recipient"}:
            raise ValueError("kind must be 'envelope' or 'recipient'")
        name = f"{kind}-{status.strip().lower()}"

        def register(func: _C) -> _C:
            self._transitions.setdefault(name, []).append(func)
            return func

        return register

    def on(self, event: str) -> Callable[[_C], _C]:
        """Decorator: call for every unique delivery of Connect event ``event``.

        XML and aggregate messages get ``envelope-<status>`` as their event name.
        """

        def register(func: _C) -> _C:
            self._events.setdefault(event.strip().lower(), []).append(func)
            return func

        return register

    def on_any(self, func: _C) -> _C:
        """Decorator: call for every unique delivery."""
        self._any.append(func)
        return func

    def on_error(self, func: _E) -> _E:
        """Decorator: call with the delivery and the exception whenever a callback raises."""
        self._errors.append(func)
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

    # Lookup -----------------------------------------------------------------------

    def calls_for(
        self,
        notification: Notification,
        key: str,
        state: EnvelopeState,
        transitions: tuple[Transition, ...],
        attempt: int = 1,
    ) -> list[tuple[Callback, Delivery]]:
        """Every (callback, delivery) pair one stored delivery triggers, in call order.

        Transition callbacks in lifecycle order, then event callbacks, then ``on_any``.
        """
        calls: list[tuple[Callback, Delivery]] = []
        for transition in transitions:
            delivery = Delivery(notification, key, state, transition, attempt)
            calls.extend((cb, delivery) for cb in self._transitions.get(transition.name, ()))
        plain = Delivery(notification, key, state, None, attempt)
        calls.extend((cb, plain) for cb in self._events.get(notification.event.lower(), ()))
        calls.extend((cb, plain) for cb in self._any)
        return calls

    @property
    def error_handlers(self) -> tuple[ErrorCallback, ...]:
        """The registered ``on_error`` handlers."""
        return tuple(self._errors)
