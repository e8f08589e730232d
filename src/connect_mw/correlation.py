"""A correlation id per delivery, carried into every log record written on its behalf.

The id is derived from the event's idempotency key (:func:`correlation_id`: the first 16
hex digits of its SHA-256), so the request that recorded a delivery, every worker attempt
at it and every span (:mod:`connect_mw.tracing`) carry the same id without storing it.

The project's own activity lines always carry it (``correlation_id`` record attribute).
While a callback, an ``on_error`` handler or ``enrich`` runs, it is also in a context
variable (:func:`current_correlation_id`); add :class:`CorrelationFilter` to your handler
and your callbacks' own records carry it too::

    handler.addFilter(CorrelationFilter())  # then %(correlation_id)s in the format
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["CorrelationFilter", "bound", "correlation_id", "current_correlation_id"]

_current: ContextVar[str | None] = ContextVar("connect_mw_correlation_id", default=None)


def correlation_id(key: str) -> str:
    """The correlation id of the delivery stored under idempotency key ``key``."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def current_correlation_id() -> str | None:
    """The id of the delivery whose callback is running here (``None`` outside one)."""
    return _current.get()


@contextmanager
def bound(identifier: str) -> Iterator[str]:
    """Make ``identifier`` the current correlation id inside the block."""
    token = _current.set(identifier)
    try:
        yield identifier
    finally:
        _current.reset(token)


class CorrelationFilter(logging.Filter):
    """Sets ``record.correlation_id`` (``"-"`` outside a delivery) unless the record has one.

    Install it on a handler (it then sees records of every logger, your callbacks' too) and
    use ``%(correlation_id)s`` in its format, or :class:`~connect_mw.logs.JsonFormatter`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the attribute; keep every record."""
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = _current.get() or "-"
        return True
