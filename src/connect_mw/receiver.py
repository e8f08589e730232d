"""``Receiver``: configuration, and the sans-I/O pipeline from one request to one response.

``handle(request)`` runs checks → authentication → parsing → key derivation (all pure, in
:meth:`Receiver.accept`), then recording (:mod:`connect_mw.recording`), then what the
:class:`~connect_mw.processing.Processor` does after a commit (inline callbacks, or a notice
to the queue), then :meth:`Receiver.acknowledge`. A 2xx goes out only after the store
committed the event. The receiver builds the objects that act — the store, its queue, the
router, the processor — from its options, and acts through them.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import anyio
import msgspec

from .correlation import correlation_id
from .display import display, display_optional
from .effects import Blocking, Steps, adrive, drive
from .encryption import Encryptor
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    InternalError,
    MethodNotAllowed,
    ParseError,
    PayloadTooLarge,
    StoreUnavailable,
    UnsupportedMediaType,
)
from .http import Request, Response
from .keys import KeyFunc, derive_key
from .logs import ensure_visible
from .metrics import Metrics, report_count, report_time
from .model import EnvelopeState, Notification
from .oauth import ConnectOAuth
from .parse import parse
from .processing import DEFAULT_LEASE, Enrich, Mode, Processor, RetryPolicy
from .queues.api import Queue
from .recording import RecordOutcome, record_here
from .replay import Replayed, replay
from .retention import DEFAULT_PURGE_EVERY, checked_purge_every, checked_retention
from .routing import CallContext, Router, Routes
from .stores import Commit, Store, open_store
from .stores.encrypted import EncryptedStore
from .tracing import NO_SPAN, Span, start_span
from .unparsed import unparsed_event
from .verify import (
    ACCOUNT_HEADER,
    Authenticator,
    BasicCredentials,
    BearerAuth,
    BearerValidator,
    HmacKeys,
    RequestVerifier,
)
from .worker import Worker

log = logging.getLogger("connect_mw")

DEFAULT_PATH = "/docusign/connect"
DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024
DEFAULT_READ_TIMEOUT = 30.0
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


class Receiver(Routes):
    """Receives DocuSign Connect notifications.

    Register callbacks on it (they go to its :attr:`router`; pass ``router=`` to share or
    compose routers), mount it with an adapter (:mod:`connect_mw.adapters`), query its
    :attr:`store`.

    Authentication: ``hmac_keys`` (the default key set, a string or several during
    rotation), ``account_keys`` (``{account_id: keys}``, chosen by ``X-DocuSign-AccountId``),
    ``basic_auth`` (``(username, password)``), or for OAuth for Connect either ``oauth`` (a
    :class:`~connect_mw.oauth.ConnectOAuth`: the bearer JWT checked against the issuer's
    published keys) or ``bearer_validator`` (your function that returns ``True`` for a valid
    token), ``client_certificate`` (a :class:`~connect_mw.client_cert.ClientCertificatePolicy`
    for mTLS behind a proxy, by subject and issuer). Every one configured must accept. With
    none of them the receiver refuses to start unless ``allow_unauthenticated=True``.

    ``store`` is a :class:`~connect_mw.stores.Store` or a URI (default: an SQLite file
    ``connect-mw.sqlite3`` in the working directory). ``key_func`` replaces the default
    idempotency key (:func:`connect_mw.keys.default_key`).

    ``mode="deferred"`` (the default): the request path records and acknowledges only;
    callbacks run in a :class:`~connect_mw.worker.Worker` (the adapters start one in-process;
    ``connect-mw worker`` runs more). ``mode="inline"``: callbacks run right after the
    commit, before the answer (when the envelope's order allows; otherwise a worker runs
    them); failures are retried later by a worker, if one runs.
    ``retry`` and ``lease_for`` (how long a worker may hold an event) apply to both.
    ``metrics`` receives counters and timings (:mod:`connect_mw.metrics`). ``encryptor``
    (:class:`~connect_mw.encryption.Encryptor`) encrypts raw bodies, personal fields and
    failure texts at rest in any store (:class:`~connect_mw.stores.encrypted.EncryptedStore`).
    ``router`` shares a :class:`~connect_mw.routing.Router` (a new one by default);
    ``enrich`` completes each notification before its callbacks run (see
    :class:`~connect_mw.processing.Processor`). ``processing`` builds the work queue from the
    store (default: ``store.queue()``); it is the seam a task queue backend plugs into (the
    receiver binds the queue to its processor: ``Queue.bind``).

    Logs: when nothing shows the ``connect_mw`` logger's records (no handler on it or on the
    root logger), the receiver attaches one stderr handler with time and level at ``INFO``;
    it steps aside once logging is configured (see :mod:`connect_mw.logs`).

    Retention: final events older than ``retention`` (default: the store's, 30 days) lose
    their raw body and keep their key (a tombstone, so a re-posted old message is still a
    duplicate). Every worker of this receiver purges every ``purge_every`` seconds (default
    hourly; ``0`` turns it off: run ``connect-mw purge`` yourself). ``retention`` is a
    ``timedelta`` from 0 to 36500 days and ``purge_every`` a finite number from 0 to a year,
    else ``ConfigurationError``. See ``docs/security.md``.
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
        oauth: ConnectOAuth | None = None,
        client_certificate: RequestVerifier | None = None,
        allow_unauthenticated: bool = False,
        key_func: KeyFunc | None = None,
        mode: Mode = "deferred",
        retry: RetryPolicy | None = None,
        lease_for: timedelta = DEFAULT_LEASE,
        metrics: Metrics | None = None,
        encryptor: Encryptor | None = None,
        router: Router | None = None,
        enrich: Enrich | None = None,
        processing: Callable[[Store], Queue] | None = None,
        retention: timedelta | None = None,
        purge_every: float = DEFAULT_PURGE_EVERY,
    ) -> None:
        ensure_visible()  # a handler on connect_mw when nothing shows its records
        if mode not in ("deferred", "inline"):
            raise ConfigurationError(f"mode must be 'deferred' or 'inline', not {mode!r}")
        if not path.startswith("/"):
            raise ConfigurationError(f"path must start with '/': {path!r}")
        if not all(0 < limit < math.inf for limit in (max_body_size, read_timeout)):
            # NaN passes "<= 0" and would switch the limit off
            raise ConfigurationError("max_body_size and read_timeout must be positive and finite")
        if oauth is not None and bearer_validator is not None:
            raise ConfigurationError("give oauth or bearer_validator, not both")
        self.authenticator = Authenticator(
            hmac_keys=HmacKeys.build(hmac_keys, account_keys),
            basic=BasicCredentials(*basic_auth) if basic_auth else None,
            bearer=BearerAuth(bearer_validator) if bearer_validator else oauth,
            client_certificate=client_certificate,
        )
        if not self.authenticator.configured:
            if not allow_unauthenticated:
                raise ConfigurationError(
                    "no authentication configured: give hmac_keys (or basic_auth, oauth, "
                    "bearer_validator, client_certificate), or pass allow_unauthenticated=True"
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
        self.metrics = metrics or Metrics()
        opened = open_store(store)
        if retention is not None:
            opened.retention = checked_retention(retention)
        self.purge_every = checked_purge_every(purge_every)
        self.store: Store = opened if encryptor is None else EncryptedStore(opened, encryptor)
        self.queue: Queue = self.store.queue() if processing is None else processing(self.store)
        self.router = router or Router()
        self.processor = Processor(
            self.store,
            self.queue,
            self.router,
            retry=retry or RetryPolicy(),
            metrics=self.metrics,
            mode=mode,
            lease_for=lease_for,
            enrich=enrich,
        )
        self.queue.bind(self.processor)  # a task queue's backend runs its tasks with it

    def _add(self, table: str, name: str, func: Callable[..., object]) -> None:
        self.router._add(table, name, func)

    @property
    def call_context(self) -> CallContext:
        """Entered around every callback (the router's; Flask sets its app context)."""
        return self.router.call_context

    @call_context.setter
    def call_context(self, context: CallContext) -> None:
        self.router.call_context = context

    @property
    def mode(self) -> Mode:
        """``deferred`` or ``inline`` (see :class:`~connect_mw.processing.Processor`)."""
        return self.processor.mode

    def wants_worker(self, run_worker: bool | None = None) -> bool:
        """Whether an adapter runs an in-process worker: ``run_worker`` when given.

        Otherwise in deferred mode, unless other processes run the queue's events
        (:attr:`Queue.in_process_workers <connect_mw.queues.Queue.in_process_workers>` is
        ``False``: processing on a task queue).
        """
        if run_worker is not None:
            return run_worker
        return self.mode == "deferred" and self.queue.in_process_workers

    def worker(self, **options: Any) -> Worker:
        """A worker for this receiver's processor (``name``, ``concurrency``, ``poll_interval``).

        It purges on the receiver's schedule (``purge_every``) unless given its own.
        """
        options.setdefault("purge_every", self.purge_every)
        return Worker(self.processor, **options)

    @asynccontextmanager
    async def processing(self, **options: Any) -> AsyncIterator[Worker]:
        """Run an in-process worker on this event loop while inside the block.

        On leaving, the worker stops claiming and finishes the batch in flight. The ASGI
        adapters do this for you around the app's lifespan; use it directly for a receiver
        that lives in your own event loop.
        """
        worker = self.worker(**options)
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(worker.arun, stop)
            try:
                yield worker
            finally:
                stop.set()
                worker.wake()

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
            digits = length.strip()
            if not (digits.isascii() and digits.isdigit()):  # "²" is a digit int() refuses
                raise ConnectError("malformed Content-Length header")
            if int(length) > self.max_body_size:
                raise PayloadTooLarge(f"body larger than {self.max_body_size} bytes")

    def accept(self, request: Request, *, prechecked: bool = False) -> Accepted:
        """Check, authenticate, parse and key ``request``; raise a ``ConnectError`` if not.

        ``prechecked=True`` says the caller (an adapter) already ran :meth:`precheck` on
        these headers before reading the body, so it is not run twice. The pipeline
        (:meth:`steps`) runs :meth:`authenticate` and :meth:`interpret` separately: a
        ``ParseError`` from an authenticated request is stored, not refused.
        """
        self.authenticate(request, prechecked=prechecked)
        return self.interpret(request)

    def authenticate(self, request: Request, *, prechecked: bool = False) -> None:
        """The HTTP checks and authentication (405, 413, 415, 401), before any parsing.

        Pure: OAuth uses the keys already cached; :meth:`steps` fetches them when due.
        """
        self._http_checks(request, prechecked)
        self.authenticator.verify(request)

    def _http_checks(self, request: Request, prechecked: bool) -> None:
        if not prechecked:
            self.precheck(request.method, request.headers)
        if len(request.body) > self.max_body_size:
            raise PayloadTooLarge(f"body larger than {self.max_body_size} bytes")

    def interpret(self, request: Request) -> Accepted:
        """Parse and key an authenticated request (``ParseError`` if it cannot be parsed)."""
        notification = self._with_account(parse(request.body, request.content_type), request)
        return Accepted(notification, self._key(notification), request.body)

    def _key(self, notification: Notification) -> str:
        try:
            return derive_key(notification, self.key_func)
        except Exception as exc:
            log.exception("key_func failed for envelope=%s", display(notification.envelope_id))
            raise InternalError("could not derive an idempotency key") from exc

    @staticmethod
    def _with_account(notification: Notification, request: Request) -> Notification:
        header = request.headers.get(ACCOUNT_HEADER, "").strip()
        if not header:
            return notification
        body = notification.account_id
        if body is None:
            return msgspec.structs.replace(notification, account_id=header)
        if body.lower() != header.lower():
            raise AuthenticationError("X-DocuSign-AccountId does not match the body's account")
        return notification

    def acknowledge(self, outcome: RecordOutcome) -> Response:
        """The 200 for a committed (or already stored) delivery."""
        answer = {"status": "accepted" if outcome.inserted else "duplicate", "key": outcome.key}
        return Response(200, _JSON_HEADERS, json.dumps(answer, separators=(",", ":")).encode())

    def reject(self, error: ConnectError, request: Request | None = None) -> Response:
        """The 4xx/5xx response for ``error``, logged with the request line."""
        where = "request"
        if request is not None:  # the path is the sender's text: escaped like any id
            where = f"{display(request.method)} {display(request.path)}"
        log.warning(
            "rejected %s %s: %s",
            error.status,
            where,
            error.reason,
            extra={"outcome": "rejected", "status": error.status},
        )
        report_count(self.metrics, "connect_mw_rejections_total", status=str(error.status))
        headers = _JSON_HEADERS + ((("allow", "POST"),) if error.status == 405 else ())
        body = json.dumps({"error": error.reason}, separators=(",", ":")).encode()
        return Response(error.status, headers, body)

    # The whole pipeline -------------------------------------------------------------

    def steps(self, request: Request, *, prechecked: bool = False) -> Steps[Response]:
        """The pipeline for one request, as effects (see :mod:`connect_mw.effects`).

        Traced (:mod:`connect_mw.tracing`): ``receive`` with the children
        ``authenticate``, ``parse``, ``record``, ``acknowledge``.
        """
        started = time.perf_counter()
        span = start_span("connect_mw.receive", **{"http.request.method": request.method})
        try:
            response = yield from self._traced_steps(request, prechecked, started, span)
            span.set(**{"http.response.status_code": response.status})
            if response.status >= 400:
                span.fail(f"answered {response.status}")
            return response
        finally:
            span.end()

    def _traced_steps(
        self, request: Request, prechecked: bool, started: float, span: Span
    ) -> Steps[Response]:
        try:
            with span.child("connect_mw.authenticate"):
                self._http_checks(request, prechecked)
                if self.authenticator.stepped:
                    yield from self.authenticator.steps(request)
                else:  # spares a generator per request when nothing may fetch
                    self.authenticator.verify(request)
            try:
                with span.child("connect_mw.parse"):
                    accepted = self.interpret(request)
            except ParseError as error:  # signed, so from DocuSign: kept, never refused
                with span.child("connect_mw.record"):
                    outcome = yield from self._record_unparsed(request, error)
            else:
                with span.child("connect_mw.record") as recording:
                    outcome = yield from self._record(accepted, started)
                    recording.set(outcome="new" if outcome.inserted else "duplicate")
                if outcome.inserted:
                    yield from self.processor.after_commit(outcome.key)
            if span is not NO_SPAN:  # spares hashing the key when nothing traces
                span.set(
                    key=outcome.key,
                    correlation_id=correlation_id(outcome.key),
                    envelope_id=outcome.state.envelope_id,
                )
        except ConnectError as error:
            return self.reject(error, request)
        with span.child("connect_mw.acknowledge"):
            response = self.acknowledge(outcome)
        report_time(self.metrics, "connect_mw_request_seconds", time.perf_counter() - started)
        return response

    def handle(self, request: Request, *, prechecked: bool = False) -> Response:
        """Process one request in this thread (WSGI, scripts, tests); see :meth:`accept`."""
        return drive(self.steps(request, prechecked=prechecked))

    async def ahandle(self, request: Request, *, prechecked: bool = False) -> Response:
        """Process one request without blocking the event loop (ASGI); see :meth:`accept`."""
        return await adrive(self.steps(request, prechecked=prechecked))

    def submit(self, notification: Notification, raw: bytes = b"") -> Steps[RecordOutcome]:
        """Record a notification that did not come over HTTP (reconciliation), as effects.

        The same pipeline as a request after parsing: key, record, then processing.
        """
        accepted = Accepted(notification, self._key(notification), raw)
        outcome = yield from self._record(accepted, time.perf_counter())
        if outcome.inserted:
            yield from self.processor.after_commit(outcome.key)
        return outcome

    def record(self, notification: Notification, raw: bytes = b"") -> RecordOutcome:
        """Run :meth:`submit` in this thread."""
        return drive(self.submit(notification, raw))

    async def arecord(self, notification: Notification, raw: bytes = b"") -> RecordOutcome:
        """Run :meth:`submit` on the event loop."""
        return await adrive(self.submit(notification, raw))

    def _record(self, accepted: Accepted, started: float) -> Steps[RecordOutcome]:
        """Any store failure becomes a logged 503: never a 2xx without a committed record."""
        call = partial(record_here, self.store, accepted.notification, accepted.raw, accepted.key)
        try:
            outcome: RecordOutcome = yield Blocking(call, self.store.offload)
        except Exception as exc:
            log.exception("store failed to record key=%s", display(accepted.key))
            raise StoreUnavailable() from exc
        self._log_outcome(accepted, outcome, started)
        return outcome

    def _record_unparsed(self, request: Request, error: ParseError) -> Steps[RecordOutcome]:
        """Store a signed body the parser refused as a dead letter (see :mod:`.unparsed`)."""
        account = request.headers.get(ACCOUNT_HEADER, "").strip() or None
        event = unparsed_event(request.body, error.reason, account)
        call = partial(self.store.commit, event, None, 0)
        try:
            commit: Commit = yield Blocking(call, self.store.offload)
        except Exception as exc:
            log.exception("store failed to record unparsed key=%s", event.key)
            raise StoreUnavailable() from exc
        inserted = commit is Commit.INSERTED
        report_count(
            self.metrics, "connect_mw_unparsed_total", outcome="new" if inserted else "duplicate"
        )
        log.warning(
            "stored a signed body that cannot be parsed as dead letter key=%s (%s): %s",
            event.key,
            "new" if inserted else "duplicate",
            error.reason,
            extra={
                "correlation_id": correlation_id(event.key),
                "outcome": "unparsed",
                "status": 200,
                "key": event.key,
            },
        )
        return RecordOutcome(event.key, inserted, EnvelopeState(envelope_id=""))

    def replay(self, key: str) -> Replayed:
        """Replay a stored event: requeue it, or parse a dead letter again (:mod:`.replay`)."""
        return replay(self.store, self.queue, key, self.key_func)

    def _log_outcome(self, accepted: Accepted, outcome: RecordOutcome, started: float) -> None:
        n = accepted.notification
        verdict = "duplicate" if not outcome.inserted else ("stale" if outcome.stale else "new")
        report_count(self.metrics, "connect_mw_notifications_total", outcome=verdict)
        if not log.isEnabledFor(logging.INFO):
            return  # spare building the arguments on the hot path when nobody reads the line
        fields = {
            "correlation_id": correlation_id(outcome.key),
            "outcome": verdict,
            "status": 200,
            "envelope_id": display(n.envelope_id),
            "event": display(n.event),
            "envelope_status": display_optional(n.status),
            "key": display(outcome.key),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "transitions": ",".join(t.name for t in outcome.transitions) or "-",
            "format": n.format.value,
            "size": n.raw_size,
        }
        about = "envelope=%(envelope_id)s"
        if not n.about_envelope:  # template, click: what it concerns instead of an envelope
            fields["subject_id"] = display_optional(n.subject_id)
            about = "subject=%(subject_id)s"
        log.info(
            "received %(outcome)s " + about + " event=%(event)s "
            "status=%(envelope_status)s format=%(format)s size=%(size)d key=%(key)s "
            "transitions=%(transitions)s correlation=%(correlation_id)s in %(duration_ms).1f ms",
            fields,
            extra=fields,
        )
