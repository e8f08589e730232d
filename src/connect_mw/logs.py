"""The ``connect_mw`` logger: visible without configuration, in text or structured JSON.

Every line the project writes goes to the ``connect_mw`` logger. Its activity lines carry
stable fields as record attributes (:data:`FIELDS`: ``envelope_id``, ``event``, ``key``,
``outcome``, ``status``, ``duration_ms``, ``correlation_id``, …), which
:class:`JsonFormatter` writes as one JSON object per line.

When nothing is configured — no handler on ``connect_mw`` and none on the root logger, as
under uvicorn, gunicorn or ``flask run`` with their default settings — a
:class:`~connect_mw.Receiver` attaches one handler (:func:`ensure_visible`): stderr, with
time and level, at ``INFO``, credentials redacted. It removes itself (and the level it set)
as soon as the root logger gets a handler, so configuring logging later never duplicates
lines. Configure ``logging`` yourself (``basicConfig``, Django's ``LOGGING``, a handler on
``connect_mw``) and it never appears.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import datetime, timezone
from typing import Any, Literal

from .redaction import RedactingFilter, redact

__all__ = [
    "FIELDS",
    "LOGGER_NAME",
    "TEXT_FORMAT",
    "JsonFormatter",
    "LogFormat",
    "configure",
    "ensure_visible",
]

LOGGER_NAME = "connect_mw"
#: The text format of the fallback handler and of the command line.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]

#: The structured fields activity lines carry (record attributes, JSON keys), in output order.
#: ``status`` is the HTTP status answered; ``envelope_status`` the envelope's status in the
#: message; ``outcome`` is ``new``/``duplicate``/``stale`` (received), the HTTP refusal
#: (``rejected``) or ``processed``/``failed``/``dead`` (worker). ``subject_id`` is the template
#: or clickwrap an event about no envelope concerns (its ``envelope_id`` is empty).
FIELDS = (
    "correlation_id",
    "outcome",
    "status",
    "envelope_id",
    "subject_id",
    "event",
    "envelope_status",
    "key",
    "attempt",
    "duration_ms",
    "retry_at",
    "callback",
    "transitions",
    "format",
    "size",
    "worker",
)
_LOCK = threading.Lock()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with stable keys.

    ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, then each field of
    :data:`FIELDS` the record carries, then ``exception`` (the traceback).

    Message and traceback are redacted (:func:`connect_mw.redaction.redact`), so a
    credential in a URI never reaches the output even on a handler without a
    :class:`~connect_mw.redaction.RedactingFilter`.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None and value != "-":
                entry[name] = value if isinstance(value, (int, float, bool)) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, separators=(",", ":"))


def formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter for ``text`` (:data:`TEXT_FORMAT`) or ``json`` (:class:`JsonFormatter`)."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"log format must be 'text' or 'json', not {log_format!r}")


def configure(level: str = "info", log_format: LogFormat = "text") -> bool:
    """Configure the root logger as the command line does: one stderr handler.

    ``level`` applies to the root logger (so to ``connect_mw`` and the servers' loggers
    that propagate); credentials are redacted (a :class:`RedactingFilter` on the handler)
    and records carry ``correlation_id``. Like :func:`logging.basicConfig`, it does nothing
    when the root logger already has a handler; returns whether it configured.
    """
    from .correlation import CorrelationFilter  # noqa: PLC0415 - avoids an import cycle

    root = logging.getLogger()
    if root.handlers:
        return False
    handler = StderrHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RedactingFilter())
    handler.addFilter(CorrelationFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when writing, not as it was when created."""

    @property
    def stream(self) -> Any:
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # StreamHandler.__init__ sets it


class _Fallback(StderrHandler):
    """The handler :func:`ensure_visible` attaches; it leaves once the root has a handler."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(TEXT_FORMAT))
        self.addFilter(RedactingFilter())
        self.set_level_by_us = False

    def handle(self, record: logging.LogRecord) -> bool:
        """Write the record, unless logging was configured since: then step aside."""
        if logging.getLogger().handlers:
            self.detach()
            return False  # the record propagates to the root's handlers
        return super().handle(record)

    def detach(self) -> None:
        """Remove this handler from ``connect_mw`` and undo the level it set."""
        logger = logging.getLogger(LOGGER_NAME)
        with _LOCK:
            logger.handlers = [h for h in logger.handlers if h is not self]
            if self.set_level_by_us and logger.level == logging.INFO:
                logger.setLevel(logging.NOTSET)


def ensure_visible() -> bool:
    """Attach the fallback handler if no handler would show ``connect_mw``'s records.

    That is: none on ``connect_mw``, none on the root logger, and ``propagate`` unchanged.
    The level becomes ``INFO`` only if it was not set. Returns whether it attached one.
    """
    logger = logging.getLogger(LOGGER_NAME)
    with _LOCK:
        if logger.handlers or logging.getLogger().handlers or not logger.propagate:
            return False
        handler = _Fallback()
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
            handler.set_level_by_us = True
        logger.addHandler(handler)
    return True
