"""Idempotency keys: which deliveries are the same event.

DocuSign retries change the body (``retryCount`` goes up), so a hash of the body is not a
key. A key is built from fields that stay the same across retries and republishing:

* JSON SIM: account, envelope, event name, recipient id, ``generatedDateTime``; for an event
  about no envelope (template, click) also its ``subject_id`` and its ``data`` object
  (which retries do not change: ``retryCount`` is outside it), so two agreements to one
  clickwrap are two events.
* XML legacy: envelope id, envelope status, ``TimeGenerated``.
* JSON aggregate: envelope id, status, ``statusChangedDateTime`` (or the latest status time).

The parts are hashed so keys have a fixed length whatever the ids contain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from .errors import ConfigurationError
from .model import Notification, PayloadFormat

KeyFunc = Callable[[Notification], str]
MAX_KEY_LENGTH = 512


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _about_no_envelope(notification: Notification) -> tuple[str, ...]:
    """The subject id and the canonical ``data`` object of an event about no envelope."""
    data = json.dumps(notification.extras.get("data"), sort_keys=True, separators=(",", ":"))
    return (notification.subject_id or "", data)


def key_parts(notification: Notification) -> tuple[str, ...]:
    """The stable fields the default key is built from, in order."""
    n = notification
    status = n.status.value if n.status is not None else ""
    if n.format is PayloadFormat.JSON_SIM:
        return (
            "sim",
            (n.account_id or "").lower(),
            n.envelope_id.lower(),
            n.event,
            n.recipient_id or "",
            _stamp(n.generated_at),
        ) + (() if n.about_envelope else _about_no_envelope(n))
    return (n.format.value, n.envelope_id.lower(), status, _stamp(n.occurred_at))


def default_key(notification: Notification) -> str:
    """The default idempotency key: ``<format>:<sha256 of the stable fields>``."""
    parts = key_parts(notification)
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{parts[0]}:{digest[:40]}"


def derive_key(notification: Notification, key_func: KeyFunc | None = None) -> str:
    """Apply ``key_func`` (or the default) and check the result is a usable key."""
    key = (key_func or default_key)(notification)
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ConfigurationError(
            f"key_func must return a non-empty string of at most {MAX_KEY_LENGTH} characters"
        )
    return key
