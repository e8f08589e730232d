"""connect-mw: receive DocuSign Connect webhooks.

Verify HMAC signatures over the raw body, normalize XML and JSON payloads into one typed
:class:`Notification`, record each delivery once, fold envelope state so it never regresses,
and call your callbacks once per transition::

    from connect_mw import Receiver
    from connect_mw.adapters.asgi import ConnectMiddleware

    receiver = Receiver(hmac_keys=["<your Connect HMAC key>"])

    @receiver.on_envelope_completed
    def completed(delivery):
        print("completed:", delivery.envelope_id)

    app = ConnectMiddleware(app, receiver=receiver)
"""

from __future__ import annotations

from .callbacks import CallbackRegistry, Delivery
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
    CustomField,
    DocumentRef,
    EnvelopeState,
    EnvelopeStatus,
    EnvelopeTimes,
    Notification,
    PayloadFormat,
    Recipient,
    RecipientState,
    RecipientStatus,
    Sender,
    Transition,
)
from .parse import parse
from .receiver import Receiver
from .stores import MemoryStore, ProcessingState, SQLiteStore, Store, StoredEvent, open_store
from .verify import HmacKeys, sign

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "CallbackRegistry",
    "ConfigurationError",
    "ConnectError",
    "CustomField",
    "Delivery",
    "DocumentRef",
    "EnvelopeState",
    "EnvelopeStatus",
    "EnvelopeTimes",
    "HmacKeys",
    "MemoryStore",
    "Notification",
    "ParseError",
    "PayloadFormat",
    "ProcessingState",
    "Receiver",
    "Recipient",
    "RecipientState",
    "RecipientStatus",
    "Request",
    "Response",
    "SQLiteStore",
    "Sender",
    "Store",
    "StoreUnavailable",
    "StoredEvent",
    "Transition",
    "__version__",
    "default_key",
    "open_store",
    "parse",
    "sign",
]
