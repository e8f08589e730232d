"""connect-mw: receive DocuSign Connect webhooks.

Verify HMAC signatures over the raw body, normalize XML and JSON payloads into one typed
:class:`Notification`, record each delivery once, fold envelope state by DocuSign's own timeline,
and call your callbacks once per transition::

    from connect_mw import Receiver
    from connect_mw.adapters.asgi import ConnectASGIMiddleware

    receiver = Receiver(hmac_keys=["<your Connect HMAC key>"])

    @receiver.on_envelope_completed
    def completed(delivery):
        print("completed:", delivery.envelope_id)

    app = ConnectASGIMiddleware(app, receiver=receiver)
"""

from __future__ import annotations

from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ParseError,
    StoreUnavailable,
)
from .http import Request, Response
from .keys import default_key
from .model import (
    EnvelopeState,
    EnvelopeStatus,
    Notification,
    PayloadFormat,
    RecipientStatus,
    Transition,
)
from .parse import parse
from .processing import Processor, RetryPolicy
from .queues import Queue
from .receiver import Receiver
from .recording import RecordOutcome
from .routing import Delivery, Router
from .stores import MemoryStore, ProcessingState, SQLiteStore, Store, StoredEvent, open_store
from .verify import sign
from .worker import Worker

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConnectError",
    "Delivery",
    "EnvelopeState",
    "EnvelopeStatus",
    "MemoryStore",
    "Notification",
    "ParseError",
    "PayloadFormat",
    "ProcessingState",
    "Processor",
    "Queue",
    "Receiver",
    "RecipientStatus",
    "RecordOutcome",
    "Request",
    "Response",
    "RetryPolicy",
    "Router",
    "SQLiteStore",
    "Store",
    "StoreUnavailable",
    "StoredEvent",
    "Transition",
    "Worker",
    "__version__",
    "default_key",
    "open_store",
    "parse",
    "sign",
]
