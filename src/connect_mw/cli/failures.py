"""How the command line fails: one line on stderr and a documented exit status, no traceback.

Exit statuses (``docs/cli.md`` lists them): 0 success; 1 not found, some items failed, or
the store (its server down, say) or DocuSign failed at run time; 2 bad arguments or
configuration, a missing optional dependency, a store that does not exist; 3 ``serve``
cannot listen on its address; 130 interrupted (Ctrl-C); 141 the reader of the output went
away (``connect-mw … | head``).
"""

from __future__ import annotations

import errno
import os
import re
import socket
import sys

from ..errors import ConfigurationError, StoreUnavailable
from ..redaction import redact
from ..stores.codec import StoreEncodingError

__all__ = [
    "CANNOT_LISTEN",
    "CONFIGURATION",
    "FAILED",
    "INTERRUPTED",
    "OUTPUT_CLOSED",
    "ListenError",
    "check_listen",
    "cli_message",
    "fail",
    "missing_extra",
    "silence_stdout",
    "store_failure",
]

FAILED = 1
CONFIGURATION = 2
CANNOT_LISTEN = 3
INTERRUPTED = 130
OUTPUT_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a killed writer

# The top-level module an optional dependency provides -> the extra that installs it.
_EXTRAS = {
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "redis": "redis",
    "uvicorn": "server",
    "starlette": "server",
    "jinja2": "dashboard",
    "httpx": "rest",
    "django": "django",
    "flask": "flask",
    "werkzeug": "wsgi",
    "fastapi": "fastapi",
    "prometheus_client": "prometheus",
    "celery": "celery",
    "dramatiq": "dramatiq",
    "rq": "rq",
}
# The modules whose exceptions mean the store failed (a server down, a file locked).
_DRIVERS = frozenset({"psycopg", "psycopg_pool", "redis", "sqlite3"})
# Python parameter names that library messages use -> the flag a command-line user types.
_FLAGS = {
    "hmac_keys": "--hmac-key",
    "account_keys": "--account-key",
    "basic_auth": "--basic-auth",
    "allow_unauthenticated=True": "--allow-unauthenticated",
    "allow_unauthenticated": "--allow-unauthenticated",
    "allow_http": "--allow-http",
    "max_body_size": "--max-body-size",
    "lease_for": "--lease-seconds",
}
_PARAMETER = re.compile(
    "|".join(rf"(?<![\w-]){re.escape(name)}(?![\w=])" for name in sorted(_FLAGS, key=len)[::-1])
)


class ListenError(ConfigurationError):
    """``serve`` cannot bind its address (in use, not local, not permitted)."""


def cli_message(text: str) -> str:
    """A library message for a command-line user: flags for parameters, secrets redacted."""
    return redact(_PARAMETER.sub(lambda match: _FLAGS[match.group(0)], text))


def fail(text: str, status: int) -> int:
    """Print ``connect-mw: <text>`` (translated, redacted) on stderr; return ``status``."""
    print(f"connect-mw: {cli_message(text)}", file=sys.stderr)
    return status


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The one-line install hint for an optional dependency that is not installed."""
    root = (exc.name or "").partition(".")[0]
    extra = _EXTRAS.get(root)
    if extra is None:
        return None
    return f"this needs {root}, which is not installed: pip install 'connect-mw[{extra}]'"


def store_failure(exc: Exception) -> str | None:
    """The one line for a store (or its driver) failing at run time; ``None`` for others."""
    if isinstance(exc, StoreUnavailable):
        return f"the store is unavailable: {exc.reason}"
    if isinstance(exc, StoreEncodingError):  # damaged stored text: says where, quotes no data
        return f"the store failed: StoreEncodingError: {exc}"
    module = type(exc).__module__.partition(".")[0]
    if module not in _DRIVERS:
        return None
    return f"the store failed: {type(exc).__name__}: {exc}".rstrip(": ")


def check_listen(host: str, port: int) -> None:
    """Raise :class:`ListenError` unless ``host:port`` can be bound right now.

    Binds and closes a socket the way uvicorn will (``SO_REUSEADDR``, IPv6 for a host with
    ``:``), so a busy port is reported before anything claims to be listening.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            reason = "the address is already in use (another server on this port?)"
        else:
            reason = exc.strerror or str(exc)
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None


def silence_stdout() -> None:
    """Point stdout at the null device, so the closed pipe raises nothing at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
