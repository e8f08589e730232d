"""The sans-I/O vocabulary every operation is written in.

An operation is a generator (``Steps``) that *yields* what it needs done — an
:class:`ApiRequest` to send, a :class:`Sleep` before a retry — and is sent back the
:class:`ApiResponse` (or has the transport's exception thrown in). It never does network
I/O itself, so the same code runs under :mod:`connect_mw.rest.transport`'s sync and async
drivers. A request with a ``sink`` has its successful body streamed into the sink chunk by
chunk instead of kept in memory.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .errors import DocumentTooLarge

#: Bytes handed to a sink per write.
CHUNK_SIZE = 64 * 1024


class Sink(Protocol):
    """Where a streamed body goes: anything with ``write(bytes)`` (a binary file…).

    The async driver awaits what ``write`` returns when it is awaitable, so an async file
    object works there too.
    """

    def write(self, data: bytes, /) -> object:
        """Take the next chunk."""


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One HTTP request: ``form`` is sent URL-encoded, ``json`` as JSON.

    ``headers`` may hold the ``Authorization`` header, so ``repr`` leaves them out.
    """

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    json: object = None
    form: tuple[tuple[str, str], ...] | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    sink: Sink | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """An HTTP response: lower-cased ``headers``; ``body`` is empty when it went to a sink."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds (before a retry); the client's injected sleep does it."""

    seconds: float


class TransportFailure(Exception):
    """The request could not be completed (refused, reset, timed out): ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


_T = TypeVar("_T")
Effect = ApiRequest | Sleep
#: An operation: yields effects, is sent their results, returns a ``_T``.
Steps = Generator[Effect, Any, _T]


def exchange(request: ApiRequest) -> Steps[ApiResponse]:
    """Yield ``request`` and return the response the driver sends back."""
    response = yield request
    if not isinstance(response, ApiResponse):
        raise TypeError(f"the driver answered {type(response).__name__}, not ApiResponse")
    return response


class CountingSink:
    """A sink that passes chunks on to ``inner``, counting bytes and writes.

    With ``limit`` it raises :class:`DocumentTooLarge` before writing past that many bytes.
    """

    def __init__(self, inner: Sink, limit: int | None = None) -> None:
        self.inner = inner
        self.limit = limit
        self.bytes = 0
        self.writes = 0

    def write(self, data: bytes, /) -> object:
        """Count ``data``, refuse it past the limit, hand it on."""
        if self.limit is not None and self.bytes + len(data) > self.limit:
            raise DocumentTooLarge(self.limit)
        self.bytes += len(data)
        self.writes += 1
        return self.inner.write(data)
