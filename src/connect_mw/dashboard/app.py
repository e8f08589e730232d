"""``Dashboard``: the ASGI app — envelopes, timelines, queue & health, events, retries."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..display import display
from ..errors import ConfigurationError
from ..queues.api import Queue
from ..replay import Replayed, areplay
from ..stores import Store, open_store
from ..stores.api import ProcessingState, StoredEvent
from .auth import AuthGate, Csrf, DashboardAuth, is_loopback
from .health import DEFAULT_LAG_LIMIT, check
from .pages import (
    STATUSES,
    TIMELINE_LIMIT,
    Page,
    Pager,
    age,
    badge,
    first_line,
    in_lifecycle_order,
    when,
)
from .payload import download_name, preview

MAX_FORM_BYTES = 16 * 1024
#: The longest search text accepted (longer ones are cut).
MAX_SEARCH = 200
#: Seconds between automatic reloads of the list pages by default.
DEFAULT_REFRESH = 30
REFRESH_COOKIE = "connect_mw_refresh"
#: The processing states the queue page lists, as its tabs.
QUEUE_TABS = (ProcessingState.PENDING, ProcessingState.FAILED, ProcessingState.DEAD)
_STATUS_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _page_number(request: Request) -> int:
    value = request.query_params.get("page", "1")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 else 1


def _cursor(request: Request) -> str | None:
    return request.query_params.get("after") or None


def _pager_links(
    request: Request, path: str, page: Page[Any], keep: dict[str, str]
) -> tuple[str, str | None]:
    """The hrefs of the first page and of the next one (``None`` on the last page).

    ``keep``: the query parameters (filters) both links carry; empty values are left out.
    """
    target = _base(request) + path
    keep = {name: value for name, value in keep.items() if value}
    first = f"{target}?{urlencode(keep)}" if keep else target
    if page.next_cursor is None:
        return first, None
    query = urlencode({"page": page.number + 1, **keep, "after": page.next_cursor})
    return first, f"{target}?{query}"


def _status_filter(request: Request) -> str | None:
    value = request.query_params.get("status", "").strip().lower()
    return value if _STATUS_PATTERN.fullmatch(value) else None


def _search_text(request: Request) -> str:
    return request.query_params.get("q", "").strip()[:MAX_SEARCH]


def _processing_filter(request: Request) -> ProcessingState:
    value = request.query_params.get("processing", "")
    return next((state for state in QUEUE_TABS if state.value == value), QUEUE_TABS[0])


def _base(request: Request) -> str:
    return str(request.scope.get("root_path") or "")


def _here(request: Request) -> str:
    url = request.url.remove_query_params(["queued", "not_queued", "requeued", "refresh"])
    return url.path + (f"?{url.query}" if url.query else "")


def _notice(request: Request) -> str | None:
    requeued = request.query_params.get("requeued")
    if requeued and requeued.isdigit():
        return f"Queued {requeued} dead letter(s) for another try: a worker will process them."
    queued = request.query_params.get("queued")
    if queued:
        return f"Queued {queued} for another try: a worker will process it."
    missed = request.query_params.get("not_queued")
    if missed:
        return f"Not queued {missed}: unknown, or being processed right now."
    return None


def _safe_next(target: str | None, base: str) -> str:
    """A redirect target inside the dashboard; anything else goes to the dead letters."""
    path = target or ""
    unsafe = path.startswith("//") or "\\" in path or "://" in path
    return path if path.startswith(f"{base}/") and not unsafe else f"{base}/dead-letters"


def _form_refused(reason: str, status: int) -> Response:
    return PlainTextResponse(reason, status, headers=_SECURITY_HEADERS)


async def _read_form(request: Request) -> dict[str, str] | Response:
    """The fields of a small url-encoded form, or the answer refusing it.

    Not url-encoded: 400. Over :data:`MAX_FORM_BYTES` (declared or read): 413, read no
    further. A field given twice with different values (which one would count?): 400.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _form_refused("expected a small url-encoded form", 400)
    too_large = _form_refused(f"form larger than {MAX_FORM_BYTES} bytes", 413)
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return too_large
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if any(len(set(values)) > 1 for values in fields.values()):
        return _form_refused("a form field repeated with different values", 400)
    return {name: values[0] for name, values in fields.items()}


class Dashboard:
    """A small server-rendered status page over a :class:`~connect_mw.stores.Store`.

    Mount it in any ASGI app (``Mount("/dashboard", app=Dashboard(receiver.store,
    token=...))``) or serve it alone. ``token`` and/or ``basic_auth`` (``(user,
    password)``) protect it; without either it only answers loopback clients and you must
    say it is bound there (``bind_host="127.0.0.1"``), else :class:`ConfigurationError`.
    ``page_size`` rows per page, paged by keyset as deep as the store goes (see
    :mod:`connect_mw.dashboard.pages`). Retry requeues through ``queue`` (default: the
    store's :meth:`~connect_mw.stores.api.Store.queue`); give the receiver's
    (``receiver.queue``) so an in-process worker wakes at once for a retried event.
    ``refresh``: seconds between automatic reloads of the list pages (``0``: never; each
    browser can switch it off); ``lag_limit``: the worker lag shown as "behind".
    """

    def __init__(
        self,
        store: Store | str,
        *,
        token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        bind_host: str | None = None,
        page_size: int = 50,
        queue: Queue | None = None,
        refresh: int = DEFAULT_REFRESH,
        lag_limit: timedelta = DEFAULT_LAG_LIMIT,
    ) -> None:
        auth = DashboardAuth(token or None, basic_auth)
        if not auth.configured and not is_loopback(bind_host):
            raise ConfigurationError(
                "the dashboard needs a token or Basic credentials unless it is bound to "
                "localhost (pass bind_host='127.0.0.1' to serve loopback clients only)"
            )
        self.store = open_store(store)
        self.queue = self.store.queue() if queue is None else queue
        self.pager = Pager(page_size)
        self.refresh = max(0, refresh)
        self.lag_limit = lag_limit
        secret = (
            hmac.new(token.encode(), b"connect-mw csrf", hashlib.sha256).digest()
            if token
            else secrets.token_bytes(32)
        )
        self.csrf = Csrf(secret)
        self.templates = Environment(
            loader=PackageLoader("connect_mw.dashboard", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
        )
        self.templates.filters.update(
            when=when, badge=badge, first_line=first_line, age=age, shown=display
        )
        routes = [
            Route("/", self.envelopes, name="envelopes"),
            Route("/envelopes/{envelope_id:path}", self.envelope, name="envelope"),
            Route("/dead-letters", self.dead_letters, name="dead_letters"),
            Route("/retry", self.retry, methods=["POST"], name="retry"),
            Route("/queue", self.queue_page, name="queue"),
            Route("/events/{key:path}", self.event, name="event"),
            Route("/raw/{key:path}", self.raw, name="raw"),
            Route("/retry-all", self.retry_all, methods=["POST"], name="retry_all"),
        ]
        self.app = AuthGate(Starlette(routes=routes), auth)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        await self.app(scope, receive, send)

    def render(
        self, request: Request, template: str, http_status: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render ``template`` with the shared context, security headers and CSRF cookie."""
        token, new = self.csrf.token_for(request)
        refresh = self._refresh_choice(request)
        context.setdefault("auto_refresh", False)
        html = self.templates.get_template(template).render(
            base=_base(request), csrf=token, here=_here(request), notice=_notice(request),
            refresh=self.refresh if refresh != "off" else 0, refresh_offered=self.refresh > 0,
            **context,
        )  # fmt: skip
        response = HTMLResponse(html, http_status)
        response.headers.update(_SECURITY_HEADERS)
        if new:
            self.csrf.set_cookie(response, request, token)
        if request.query_params.get("refresh") in ("on", "off"):
            response.set_cookie(
                REFRESH_COOKIE, refresh, path=_base(request) or "/", samesite="lax",
                httponly=True, secure=request.url.scheme == "https",
            )  # fmt: skip
        return response

    @staticmethod
    def _refresh_choice(request: Request) -> str:
        """``on`` or ``off``: the ``?refresh=`` just chosen, else this browser's cookie."""
        chosen = request.query_params.get("refresh") or request.cookies.get(REFRESH_COOKIE)
        return "off" if chosen == "off" else "on"

    async def envelopes(self, request: Request) -> Response:
        """The envelopes, most recently updated first, filtered by status, paginated."""
        status, text = _status_filter(request), _search_text(request)
        page = await self.pager.envelopes(
            self.store, status, _cursor(request), _page_number(request), text
        )
        store = self.store
        counts = await store.offload(store.envelope_counts)
        keep = {"q": text, "status": status or ""}
        first_href, next_href = _pager_links(request, "/", page, keep)
        return self.render(
            request, "envelopes.html", section="envelopes", page=page, status=status, q=text,
            statuses=STATUSES, counts=_ordered_counts(counts), total=sum(counts.values()),
            first_href=first_href, next_href=next_href, auto_refresh=True,
        )  # fmt: skip

    async def envelope(self, request: Request) -> Response:
        """One envelope: its state, recipients and the timeline of stored events."""
        envelope_id = request.path_params["envelope_id"]
        store = self.store
        state = await store.offload(lambda: store.get_envelope(envelope_id))
        events = await store.offload(lambda: store.list_events(envelope_id, limit=TIMELINE_LIMIT))
        if state is None and not events:
            return self.render(request, "missing.html", 404, section="envelopes", id=envelope_id)
        recipients = sorted(
            state.recipients if state else (),
            key=lambda r: (r.routing_order is None, r.routing_order or 0, r.recipient_id),
        )
        return self.render(
            request, "envelope.html", section="envelopes", state=state, id=envelope_id,
            recipients=recipients, events=events, limit=TIMELINE_LIMIT,
            reached=in_lifecycle_order(state.reached if state else ()), auto_refresh=True,
        )  # fmt: skip

    async def dead_letters(self, request: Request) -> Response:
        """Events whose callbacks gave up, each with a retry button."""
        page = await self.pager.dead_letters(self.store, _cursor(request), _page_number(request))
        first_href, next_href = _pager_links(request, "/dead-letters", page, {})
        return self.render(
            request, "dead_letters.html", section="dead", page=page,
            first_href=first_href, next_href=next_href, auto_refresh=True,
        )  # fmt: skip

    async def queue_page(self, request: Request) -> Response:
        """The store's and workers' health, and the pending, retrying or dead events."""
        processing = _processing_filter(request)
        health = await check(self.store, self.lag_limit)
        page: Page[StoredEvent] = Page([], 1, None)
        if health.error is None:  # a store that did not answer shows its health alone
            page = await self.pager.events(
                self.store, processing, _cursor(request), _page_number(request)
            )
        first_href, next_href = _pager_links(request, "/queue", page, {"processing": processing})
        return self.render(
            request, "queue.html", section="queue", page=page, health=health,
            processing=processing.value, tabs=QUEUE_TABS, first_href=first_href,
            next_href=next_href, auto_refresh=True,
        )  # fmt: skip

    async def event(self, request: Request) -> Response:
        """One event: its fields, its full error (traceback) and its raw body."""
        key = request.path_params["key"]
        store = self.store
        event = await store.offload(lambda: store.get_event(key))
        if event is None:
            return self.render(request, "missing.html", 404, section="queue", id=key, what="Event")
        return self.render(
            request, "event.html", section="queue", event=event, body=preview(event.raw),
            auto_refresh=False,
        )  # fmt: skip

    async def raw(self, request: Request) -> Response:
        """An event's raw body, byte for byte, as a download (never rendered)."""
        key = request.path_params["key"]
        store = self.store
        event = await store.offload(lambda: store.get_event(key))
        if event is None or event.raw is None:
            return PlainTextResponse("no such event", 404, headers=_SECURITY_HEADERS)
        disposition = f'attachment; filename="{download_name(event)}"'
        headers = {**_SECURITY_HEADERS, "content-disposition": disposition}
        return Response(event.raw, 200, headers=headers, media_type="application/octet-stream")

    async def retry(self, request: Request) -> Response:
        """Requeue one event (POST with the CSRF token), then go back where the form was."""
        form = await _read_form(request)
        if isinstance(form, Response):
            return form
        if not self.csrf.accepts(request, form.get("csrf")):
            return PlainTextResponse("CSRF check failed: reload the page and try again.", 403)
        key = form.get("key", "")
        queued = bool(key) and await self._requeue(key)
        target = _safe_next(form.get("next"), _base(request))
        separator = "&" if "?" in target else "?"
        outcome = "queued" if queued else "not_queued"
        return RedirectResponse(f"{target}{separator}{outcome}={quote(key, safe=':')}", 303)

    async def retry_all(self, request: Request) -> Response:
        """Requeue every dead letter (POST with the CSRF token), then show how many."""
        form = await _read_form(request)
        if isinstance(form, Response):
            return form
        if not self.csrf.accepts(request, form.get("csrf")):
            return PlainTextResponse("CSRF check failed: reload the page and try again.", 403)
        requeued = await self._requeue_dead()
        return RedirectResponse(f"{_base(request)}/dead-letters?requeued={requeued}", 303)

    async def _requeue_dead(self) -> int:
        """Requeue the dead letters page by page; how many were requeued."""
        store, requeued = self.store, 0
        after: tuple[Any, int] | None = None
        while True:
            listing = partial(
                store.list_events, processing=ProcessingState.DEAD, limit=100, after=after
            )
            batch = await store.offload(listing)
            for event in batch:
                requeued += await self._requeue(event.key)
            if len(batch) < 100:
                return requeued
            after = batch[-1].position

    async def _requeue(self, key: str) -> bool:
        done = await areplay(self.store, self.queue, key)
        if done is Replayed.REQUEUED:
            self.queue.notify(key)
        return done.ok


def _ordered_counts(counts: dict[str | None, int]) -> list[tuple[str | None, int]]:
    """``counts`` in lifecycle order (created, sent, …), then unknown statuses, then none."""
    rank = {status: number for number, status in enumerate(STATUSES)}
    return sorted(
        counts.items(),
        key=lambda item: (item[0] is None, rank.get(item[0] or "", len(rank)), item[0] or ""),
    )
