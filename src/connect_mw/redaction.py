"""Credentials out of everything the project prints: URIs, error messages, log records.

Every URI shown to a person goes through :func:`redact_uri`; free text that may hold one (an
error message, a log line) through :func:`redact`::

    >>> redact_uri("postgresql://app:S3cret@db.internal/events?sslpassword=x&schema=cm")
    'postgresql://app:***@db.internal/events?sslpassword=***&schema=cm'

The user name, host, path and the other query parameters stay: they are what an operator
needs to tell stores apart. :class:`RedactingFilter` applies :func:`redact` to log records;
the command line installs it on its log handlers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote

__all__ = ["MASK", "RedactingFilter", "redact", "redact_uri"]

MASK = "***"
# Query parameters (lower-cased, ``-`` as ``_``) whose values are secrets.
_SECRET_PARAMETERS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "sslpassword",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "auth",
        "auth_token",
        "api_key",
        "apikey",
        "key",
        "private_key",
        "signature",
        "sig",
    }
)
_URI = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# libpq keyword/value connection strings: ``host=db password=S3cret``.
_KEYWORD_PASSWORD = re.compile(
    r"\b(password|passwd|pwd)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s,;&]+)", re.IGNORECASE
)
# A query string without its scheme, as in a request line: ``GET /dashboard/?token=…``.
_QUERY_PARAMETER = re.compile(r"([?&])([A-Za-z_-]+)=([^&\s'\"#]+)")


def _is_secret(name: str) -> bool:
    return unquote(name).strip().lower().replace("-", "_") in _SECRET_PARAMETERS


def _redact_query(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if sep and value and _is_secret(name) else pair)
    return "&".join(pairs)


def redact_uri(uri: str) -> str:
    """``uri`` with the password of its user information and secret query values masked.

    ``redis://:pw@host`` becomes ``redis://:***@host``; a URI without credentials comes
    back unchanged. Works textually, so a URI no parser accepts is still redacted.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    userinfo, at, host = authority.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        authority = f"{user}:{MASK}@{host}" if colon and password else authority
    before, question, query = tail.partition("?")
    if question:
        query, hash_sign, fragment = query.partition("#")
        tail = f"{before}?{_redact_query(query)}{hash_sign}{fragment}"
    return f"{scheme}://{authority}{tail}"


def redact(text: str) -> str:
    """``text`` with every URI in it redacted, and secret ``name=value`` values masked.

    Covers query strings without a scheme (a request line's ``/dashboard/?token=…``) and
    libpq's keyword form (``host=db password=…``).
    """
    text = _URI.sub(lambda match: redact_uri(match.group(0)), text)
    text = _QUERY_PARAMETER.sub(_mask_parameter, text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def _mask_parameter(match: re.Match[str]) -> str:
    if not _is_secret(match.group(2)):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}={MASK}"


class RedactingFilter(logging.Filter):
    """A log filter that redacts each record's message, arguments and traceback.

    Install it on a handler: it then covers records from every library (a driver that logs
    its connection string, a server that logs its arguments), not only ``connect_mw``'s.
    The arguments stay arguments (formatters such as uvicorn's unpack them); one whose text
    holds a credential is replaced by its redacted text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; keep every record."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_argument(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _redact_argument(arg) for key, arg in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _redact_argument(argument: object) -> object:
    if argument is None or isinstance(argument, (int, float)):
        return argument
    text = str(argument)
    cleaned = redact(text)
    return argument if cleaned == text else cleaned
