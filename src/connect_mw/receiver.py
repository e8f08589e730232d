"""``Receiver``: the sans-I/O core that turns one request into one response.

``handle(request)`` runs checks → authentication → parsing → key derivation (all pure, in
:meth:`Receiver.accept`), then the one store call, then inline callbacks, then
:meth:`Receiver.acknowledge`. A 2xx goes out only after the store committed the event.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from .callbacks import Callback, CallbackRegistry, Delivery
from .encryption import Encryptor
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    InternalError,
    MethodNotAllowed,
    PayloadTooLarge,
    StoreUnavailable,
    UnsupportedMediaType,
)
from .http import Request, Response
from .keys import KeyFunc, derive_key
from .metrics import Metrics
from .model import Notification
from .parse import parse
from .processing import Processor, RetryPolicy, arun_callbacks, judge, run_callbacks
from .stores import Store, open_store
from .stores.base import Lease, RecordOutcome, utcnow
from .stores.encrypted import EncryptedStore
from .verify import (
    ACCOUNT_HEADER,
    Authenticator,
    BasicCredentials,
    BearerAuth,
    BearerValidator,
    HmacKeys,
    RequestVerifier,
)

log = logging.getLogger("connect_mw")

DEFAULT_PATH = "/docusign/connect"
DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_LEASE = timedelta(minutes=5)
Mode = Literal["deferred", "inline"]
ACCEPTED_MEDIA_TYPES = frozenset({"application/json", "text/json", "application/xml", "text/xml"})
_JSON_HEADERS = (("content-type", "application/json"),)


def _media_type_ok(media_type: str | None) -> bool:
    if media_type is None:
        return True  # sniffed from the body
    return media_type in ACCEPTED_MEDIA_TYPES or media_type.endswith(("+xml", "+json"))


@dataclass(frozen=True, slots=True)
class Accepted:
    """A request that passed every pure check: what the store is asked to record."""

    notification: Notification
    key: str
    raw: bytes


class Receiver(CallbackRegistry):
    """Receives DocuSign Connect notifications.

    Register callbacks on it, mount it with an adapter (:mod:`connect_mw.adapters`), query
    its :attr:`store`.

    Authentication: ``hmac_keys`` (the default key set, a string or several during
    rotation), ``account_keys`` (``{account_id: keys}``, chosen by ``X-DocuSign-AccountId``),
    ``basic_auth`` (``(username, password)``) or ``bearer_validator`` (a function that
    returns ``True`` for a valid OAuth token), ``client_certificate`` (a
    :class:`~connect_mw.client_cert.ClientCertificatePolicy` for mTLS behind a proxy). With
    none of them the receiver refuses to start unless ``allow_unauthenticated=True``.

    ``store`` is a :class:`~connect_mw.stores.Store` or a URI (default: an SQLite file
    ``connect-mw.sqlite3`` in the working directory). ``key_func`` replaces the default
    idempotency key (:func:`connect_mw.keys.default_key`).

    ``mode="deferred"`` (the default): the request path records and acknowledges only;
    callbacks run in a :class:`~connect_mw.worker.Worker` (the adapters start one in-process;
    ``connect-mw worker`` runs more). ``mode="inline"``: callbacks run right after the
    commit, before the answer; failures are retried later by a worker, if one runs.
    ``retry`` and ``lease_for`` (how long a worker may hold an event) apply to both.
    ``metrics`` receives counters and timings (:mod:`connect_mw.metrics`). ``encryptor``
    (:class:`~connect_mw.encryption.Encryptor`) encrypts raw bodies and personal fields at
    rest in any store (:class:`~connect_mw.stores.encrypted.EncryptedStore`).
    """

    def __init__(
        self,
        *,
        hmac_keys: str | Iterable[str] = (),
        account_keys: Mapping[str, str | Iterable[str]] | None = None,
        store: str | Store | None = None,
        path: str = DEFAULT_PATH,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        basic_auth: tuple[str, str] | None = None,
        bearer_validator: BearerValidator | None = None,
        client_certificate: RequestVerifier | None = None,
        allow_unauthenticated: bool = False,
        key_func: KeyFunc | None = None,
        mode: Mode = "deferred",
        retry: RetryPolicy | None = None,
        lease_for: timedelta = DEFAULT_LEASE,
        metrics: Metrics | None = None,
        encryptor: Encryptor | None = None,
    ) -> None:
        super().__init__()
        if mode not in ("deferred", "inline"):
            raise ConfigurationError(f"mode must be 'deferred' or 'inline', not {mode!r}")
        if not path.startswith("/"):
            raise ConfigurationError(f"path must start with '/': {path!r}")
        if max_body_size <= 0 or read_timeout <= 0:
            raise ConfigurationError("max_body_size and read_timeout must be positive")
        self.authenticator = Authenticator(
            hmac_keys=HmacKeys.build(hmac_keys, account_keys),
            basic=BasicCredentials(*basic_auth) if basic_auth else None,
            bearer=BearerAuth(bearer_validator) if bearer_validator else None,
            client_certificate=client_certificate,
        )
        if not self.authenticator.configured:
            if not allow_unauthenticated:
                raise ConfigurationError(
                    "no authentication configured: give hmac_keys (or basic_auth / "
                    "bearer_validator), or pass allow_unauthenticated=True explicitly"
                )
            log.warning(
                "connect-mw receiver at %s accepts UNAUTHENTICATED requests: anyone can "
                "post fake envelope events; configure HMAC keys in production",
                path,
            )
        self.path = path.rstrip("/") or "/"
        self.max_body_size = max_body_size
        self.read_timeout = read_timeout
        self.key_func = key_func
        self.mode: Mode = mode
        self.retry = retry or RetryPolicy()
        self.lease_for = lease_for
        self.metrics = metrics or Metrics()
        self.store = open_store(store)
        if encryptor is not None:
            self.store = EncryptedStore(self.store, encryptor)
        self.processor = Processor(self.store, self, self.retry, self.metrics)
        #: Called after each newly recorded event in deferred mode (workers' ``wake``).
        self.listeners: list[Callable[[], None]] = []
        self._inline_name = f"inline:{id(self):x}"

    # Pure steps ---------------------------------------------------------------------

    def owns(self, path: str) -> bool:
        """Whether ``path`` is the Connect endpoint (a trailing slash is tolerated)."""
        return (path.rstrip("/") or "/") == self.path

    def precheck(self, method: str, headers: Mapping[str, str]) -> None:
        """The checks that need only the request line and headers (before the body is read).

        Raises 405, 413 (declared ``Content-Length`` over the limit), 415 (media type or a
        ``Content-Encoding``), or 400 for a malformed ``Content-Length``.
        """
        if method.upper() != "POST":
            raise MethodNotAllowed()
        media_type = Request("POST", self.path, headers).content_type
        if not _media_type_ok(media_type):
            raise UnsupportedMediaType(
                f"unsupported media type {media_type!r}: expected XML or JSON"
            )
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in {"", "identity"}:
            raise UnsupportedMediaType(f"content encoding {encoding!r} is not accepted")
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise ConnectError("malformed Content-Length header")
            if int(length) > self.max_body_size:
                raise PayloadTooLarge(f"body larger than {self.max_body_size} bytes")

    def accept(self, request: Request, *, prechecked: bool = False) -> Accepted:
        """Check, authenticate, parse and key ``request``; raise a ``ConnectError`` if not.

        ``prechecked=True`` says the caller (an adapter) already ran :meth:`precheck` on
        these headers before reading the body, so it is not run twice.
        """
        if not prechecked:
            self.precheck(request.method, request.headers)
        if len(request.body) > self.max_body_size:
            raise PayloadTooLarge(f"body larger than {self.max_body_size} bytes")
        self.authenticator.verify(request)
        notification = self._with_account(parse(request.body, request.content_type), request)
        try:
            key = derive_key(notification, self.key_func)
        except Exception as exc:
            log.exception("key_func failed for envelope=%s", notification.envelope_id)
            raise InternalError("could not derive an idempotency key") from exc
        return Accepted(notification, key, request.body)

    @staticmethod
    def _with_account(notification: Notification, request: Request) -> Notification:
        header = request.headers.get(ACCOUNT_HEADER, "").strip()
        if not header:
            return notification
        body = notification.account_id
        if body is None:
            return dataclasses.replace(notification, account_id=header)
        if body.lower() != header.lower():
            raise AuthenticationError("X-DocuSign-AccountId does not match the body's account")
        return notification

    def acknowledge(self, outcome: RecordOutcome) -> Response:
        """The 200 for a committed (or already stored) delivery."""
        status = b"accepted" if outcome.inserted else b"duplicate"
        # Built by hand: this answer goes out for every event and json.dumps of a dict costs
        # more than the rest of it; the key (any string a key_func returns) is still encoded
        # by the json module.
        body = b'{"status":"%s","key":%s}' % (status, json.dumps(outcome.key).encode())
        return Response(200, _JSON_HEADERS, body)

    def reject(self, error: ConnectError, request: Request | None = None) -> Response:
        """The 4xx/5xx response for ``error``, logged with the request line."""
        where = f"{request.method} {request.path}" if request is not None else "request"
        log.warning("rejected %s %s: %s", error.status, where, error.reason)
        self.metrics.increment("connect_mw_rejections_total", status=str(error.status))
        headers = _JSON_HEADERS + ((("allow", "POST"),) if error.status == 405 else ())
        body = json.dumps({"error": error.reason}, separators=(",", ":")).encode()
        return Response(error.status, headers, body)

    # The whole pipeline -------------------------------------------------------------

    def handle(self, request: Request, *, prechecked: bool = False) -> Response:
        """Process one request synchronously (WSGI, scripts, tests); see :meth:`accept`."""
        started = time.perf_counter()
        try:
            accepted = self.accept(request, prechecked=prechecked)
            outcome = self._record(accepted)
        except ConnectError as error:
            return self.reject(error, request)
        if outcome.inserted and self.mode == "inline":
            calls = self._inline_calls(accepted, outcome)
            verdict = judge(run_callbacks(self, calls), 1, self.retry)
            self.processor.settle(outcome.key, self._inline_name, 1, verdict)
        elif outcome.inserted:
            self._notify()
        self.metrics.observe("connect_mw_request_seconds", time.perf_counter() - started)
        return self.acknowledge(outcome)

    async def ahandle(self, request: Request, *, prechecked: bool = False) -> Response:
        """Process one request without blocking the event loop (ASGI); see :meth:`accept`."""
        started = time.perf_counter()
        try:
            accepted = self.accept(request, prechecked=prechecked)
            outcome = await self._arecord(accepted)
        except ConnectError as error:
            return self.reject(error, request)
        if outcome.inserted and self.mode == "inline":
            calls = self._inline_calls(accepted, outcome)
            verdict = judge(await arun_callbacks(self, calls), 1, self.retry)
            await self.processor.asettle(outcome.key, self._inline_name, 1, verdict)
        elif outcome.inserted:
            self._notify()
        self.metrics.observe("connect_mw_request_seconds", time.perf_counter() - started)
        return self.acknowledge(outcome)

    def _inline_calls(
        self, accepted: Accepted, outcome: RecordOutcome
    ) -> list[tuple[Callback, Delivery]]:
        n, state = accepted.notification, outcome.state
        return self.calls_for(n, outcome.key, state, outcome.transitions)

    def _lease(self) -> Lease | None:
        if self.mode != "inline":
            return None
        return Lease(self._inline_name, utcnow() + self.lease_for)

    def _notify(self) -> None:
        for listener in self.listeners:
            listener()

    def _record(self, accepted: Accepted) -> RecordOutcome:
        with self._recording(accepted):
            outcome = self.store.record(
                accepted.notification, accepted.raw, accepted.key, lease=self._lease()
            )
        self._log_outcome(accepted, outcome)
        return outcome

    async def _arecord(self, accepted: Accepted) -> RecordOutcome:
        with self._recording(accepted):
            outcome = await self.store.arecord(
                accepted.notification, accepted.raw, accepted.key, lease=self._lease()
            )
        self._log_outcome(accepted, outcome)
        return outcome

    @staticmethod
    @contextmanager
    def _recording(accepted: Accepted) -> Iterator[None]:
        """Any store failure becomes a logged 503: never a 2xx without a committed record."""
        try:
            yield
        except Exception as exc:
            log.exception("store failed to record key=%s", accepted.key)
            raise StoreUnavailable() from exc

    def _log_outcome(self, accepted: Accepted, outcome: RecordOutcome) -> None:
        n = accepted.notification
        verdict = "duplicate" if not outcome.inserted else ("stale" if outcome.stale else "new")
        self.metrics.increment("connect_mw_notifications_total", outcome=verdict)
        if not log.isEnabledFor(logging.INFO):
            return  # spare building the arguments on the hot path when nobody reads the line
        log.info(
            "received %s envelope=%s event=%s status=%s format=%s size=%d key=%s transitions=%s",
            verdict,
            n.envelope_id,
            n.event,
            n.status or "-",
            n.format,
            n.raw_size,
            outcome.key,
            ",".join(t.name for t in outcome.transitions) or "-",
        )
