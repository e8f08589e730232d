"""The one error tree of connect-mw.

Every error that can end a request carries the HTTP status it maps to and a reason that is
safe to show to the sender (no secrets, no body bytes). Adapters never invent status codes:
they translate ``ConnectError.status`` and ``ConnectError.reason`` as they are.
"""

from __future__ import annotations


class ConnectError(Exception):
    """Base of every error connect-mw raises on the request path."""

    status: int = 400
    reason: str = "bad request"

    def __init__(self, reason: str | None = None) -> None:
        if reason is not None:
            self.reason = reason
        super().__init__(self.reason)


class MethodNotAllowed(ConnectError):
    """The Connect path was called with a method other than POST."""

    status = 405
    reason = "method not allowed: DocuSign Connect posts with POST"


class PayloadTooLarge(ConnectError):
    """The body is larger than the configured limit."""

    status = 413
    reason = "body too large"


class UnsupportedMediaType(ConnectError):
    """The content type or content encoding is not one Connect sends."""

    status = 415
    reason = "unsupported media type: expected XML or JSON"


class RequestTimeout(ConnectError):
    """The body did not arrive within the read timeout."""

    status = 408
    reason = "request body not received in time"


class AuthenticationError(ConnectError):
    """No configured credential matched the request."""

    status = 401
    reason = "authentication failed"


class ParseError(ConnectError):
    """The body is not a Connect notification; ``reason`` says why in plain words."""

    status = 400
    reason = "malformed notification"


class StoreUnavailable(ConnectError):
    """The store could not commit the notification, so it must not be acknowledged."""

    status = 503
    reason = "store unavailable, retry later"


class InternalError(ConnectError):
    """A fault on our side (a broken ``key_func``, a bug): not the sender's input."""

    status = 500
    reason = "internal error"


class ConfigurationError(ValueError):
    """The receiver or a store was configured in a way that cannot work.

    Raised at start-up, never on the request path.
    """
