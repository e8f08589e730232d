"""Django signals mirroring the receiver's callbacks.

Each transition signal is sent once each time an envelope (or recipient) enters the
status by DocuSign's timeline, like ``on_envelope_completed``; ``connect_event`` for every
unique delivery, like ``on_any``. Every signal is sent with the receiver as ``sender`` and the
:class:`~connect_mw.Delivery` as ``delivery``::

    from django.dispatch import receiver
    from connect_mw.adapters.django.signals import envelope_completed

    @receiver(envelope_completed)
    def completed(sender, delivery, **kwargs):
        Contract.objects.filter(envelope_id=delivery.envelope_id).update(signed=True)

Receivers run where callbacks run (a worker in deferred mode). Every receiver of a signal
runs even if another raised; then the first exception is re-raised, so the event is marked
failed and retried like a failing callback.

The signals are sent by the callbacks of a :class:`~connect_mw.routing.Router`
(:func:`signal_router`), which the project's receiver includes (:func:`connect_signals`).
That router counts as empty while no receiver is connected to any of the signals, so
``connect_mw_worker`` can tell that it has nothing to run.
"""

from __future__ import annotations

from django.dispatch import Signal

from ...receiver import Receiver
from ...routing import Callback, Delivery, Router

connect_event = Signal()
envelope_created = Signal()
envelope_sent = Signal()
envelope_delivered = Signal()
envelope_signed = Signal()
envelope_completed = Signal()
envelope_declined = Signal()
envelope_voided = Signal()
recipient_sent = Signal()
recipient_delivered = Signal()
recipient_completed = Signal()
recipient_declined = Signal()
recipient_autoresponded = Signal()
recipient_removed = Signal()

#: Transition name (as in ``Transition.name``) → the signal sent for it.
TRANSITION_SIGNALS: dict[str, Signal] = {
    "envelope-created": envelope_created,
    "envelope-sent": envelope_sent,
    "envelope-delivered": envelope_delivered,
    "envelope-signed": envelope_signed,
    "envelope-completed": envelope_completed,
    "envelope-declined": envelope_declined,
    "envelope-voided": envelope_voided,
    "recipient-sent": recipient_sent,
    "recipient-delivered": recipient_delivered,
    "recipient-completed": recipient_completed,
    "recipient-declined": recipient_declined,
    "recipient-autoresponded": recipient_autoresponded,
    "recipient-removed": recipient_removed,
}


def send(signal: Signal, sender: object, delivery: Delivery) -> None:
    """Send ``signal`` to every receiver; re-raise the first exception one of them raised."""
    for _receiver, response in signal.send_robust(sender=sender, delivery=delivery):
        if isinstance(response, Exception):
            raise response


def _sender(signal: Signal, name: str, sender: object) -> Callback:
    def send_signal(delivery: Delivery) -> None:
        send(signal, sender, delivery)

    send_signal.__qualname__ = f"signal {name}"
    return send_signal


#: Every signal the receiver sends.
ALL_SIGNALS: tuple[Signal, ...] = (*TRANSITION_SIGNALS.values(), connect_event)


class SignalRouter(Router):
    """The callbacks sending the signals; :attr:`empty` while no signal has a receiver."""

    def __init__(self, sender: object) -> None:
        super().__init__()
        self.sender = sender

    @property
    def empty(self) -> bool:
        """Whether no receiver is connected to any signal (for ``sender``) nor callback included."""
        listened = any(s.has_listeners(self.sender) for s in ALL_SIGNALS)
        return not listened and all(other.empty for other in self.others)


def signal_router(sender: object) -> Router:
    """A router with one callback per transition (and ``on_any``), each sending its signal.

    The signals go out with ``sender`` as their sender (the project's receiver).
    """
    router = SignalRouter(sender)
    for name, signal in TRANSITION_SIGNALS.items():
        kind, status = name.split("-", 1)
        router.on_transition(kind, status)(_sender(signal, name, sender))
    router.on_any(_sender(connect_event, "connect_event", sender))
    return router


def connect_signals(receiver: Receiver) -> None:
    """Make ``receiver`` send the signals: its router includes :func:`signal_router`.

    Callbacks registered on the receiver itself run first, then the signals' receivers.
    """
    receiver.router.include(signal_router(receiver))
