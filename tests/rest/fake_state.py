"""The fake DocuSign's state: envelopes, documents, Connect logs, scripted faults, requests.

``fake_esign`` serves it; tests arrange it (``add``, ``documents``, ``failures``, ``fail``,
``rate_limit``, ``stall``) and inspect it (``requests``, ``api_calls``, ``republished``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .fake_data import FakeDocument, JSONObject
from .fake_oauth import Grant


class ApiError(Exception):
    """An eSignature error answer (``errorDetails``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(code)


@dataclass
class Fault:
    """A scripted answer for the next ``times`` requests whose path contains ``path``."""

    path: str
    status: int
    headers: dict[str, str]
    body: JSONObject
    times: int
    delay: float = 0.0


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    authorized: bool
    body: bytes = b""


@dataclass
class FakeESign:
    """The fake's state; ``app`` serves it."""

    grant: Grant
    base_url: str = "http://127.0.0.1"
    envelopes: dict[str, JSONObject] = field(default_factory=dict)
    documents: dict[str, list[FakeDocument]] = field(default_factory=dict)
    failures: list[JSONObject] = field(default_factory=list)
    configurations: list[JSONObject] = field(default_factory=list)
    republished: list[list[str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    before_page: Callable[[int], None] | None = None
    max_count: int = 1000
    ignore_order: bool = False

    @property
    def clock(self) -> Callable[[], float]:
        """The fake's time (shared with the grant)."""
        return self.grant.clock

    def now(self) -> datetime:
        """The fake's current time."""
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    def add(self, *envelopes: JSONObject) -> None:
        """Store envelopes (replacing those with the same id)."""
        for envelope in envelopes:
            self.envelopes[envelope["envelopeId"]] = envelope

    def fail(
        self,
        path: str,
        status: int,
        body: JSONObject | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests whose path contains ``path`` with an error."""
        default = {"errorCode": "INTERNAL_SERVER_ERROR", "message": "An unexpected error"}
        self.faults.append(Fault(path, status, headers or {}, body or default, times))

    def stall(self, path: str, seconds: float, times: int = 1) -> None:
        """Answer the next ``times`` matching requests only after ``seconds`` (then 200 {})."""
        self.faults.append(Fault(path, 200, {}, {}, times, seconds))

    def rate_limit(self, path: str, reset_in: int, times: int = 1) -> None:
        """Answer ``429`` with DocuSign's hourly-limit body and ``X-RateLimit-*`` headers."""
        headers = {
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(self.clock()) + reset_in),
        }
        body = {
            "errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
            "message": "The maximum number of hourly API invocations has been exceeded.",
        }
        self.fail(path, 429, body, headers, times)

    def api_calls(self, fragment: str = "/restapi/") -> list[Seen]:
        """The requests received whose path contains ``fragment``."""
        return [seen for seen in self.requests if fragment in seen.path]
