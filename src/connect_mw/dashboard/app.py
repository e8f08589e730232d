"""``Dashboard``: the ASGI app — envelopes, one envelope's timeline, dead letters with retry."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
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
from .auth import AuthGate, Csrf, DashboardAuth, is_loopback
from .pages import (
    STATUSES,
    TIMELINE_LIMIT,
    Page,
    Pager,
    badge,
    first_line,
    in_lifecycle_order,
    when,
)

MAX_FORM_BYTES = 16 * 1024
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
    return int(value) if value.isdigit() and len(value) < 7 else 1


def _cursor(request: Request) -> str | None:
    return request.query_params.get("after") or None


def _pager_links(
    request: Request, path: str, page: Page[Any], status: str | None
) -> tuple[str, str | None]:
    """The hrefs of the first page and of the next one (``None`` on the last page)."""
    target = _base(request) + path
    keep = {"status": status} if status else {}
    first = f"{target}?{urlencode(keep)}" if keep else target
    if page.next_cursor is None:
        return first, None
    query = urlencode({"page": page.number + 1, **keep, "after": page.next_cursor})
    return first, f"{target}?{query}"


def _status_filter(request: Request) -> str | None:
    value = request.query_params.get("status", "").strip().lower()
    return value if _STATUS_PATTERN.fullmatch(value) else None


def _base(request: Request) -> str:
    return str(request.scope.get("root_path") or "")


def _here(request: Request) -> str:
    url = request.url.remove_query_params(["queued", "not_queued"])
    return url.path + (f"?{url.query}" if url.query else "")


def _notice(request: Request) -> str | None:
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


async def _read_form(request: Request) -> dict[str, str] | None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
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
        self.templates.filters.update(when=when, badge=badge, first_line=first_line, shown=display)
        routes = [
            Route("/", self.envelopes, name="envelopes"),
            Route("/envelopes/{envelope_id:path}", self.envelope, name="envelope"),
            Route("/dead-letters", self.dead_letters, name="dead_letters"),
            Route("/retry", self.retry, methods=["POST"], name="retry"),
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
        html = self.templates.get_template(template).render(
            base=_base(request), csrf=token, here=_here(request), notice=_notice(request), **context
        )
        response = HTMLResponse(html, http_status)
        response.headers.update(_SECURITY_HEADERS)
        if new:
            self.csrf.set_cookie(response, request, token)
        return response

    async def envelopes(self, request: Request) -> Response:
        """The envelopes, most recently updated first, filtered by status, paginated."""
        status = _status_filter(request)
        page = await self.pager.envelopes(
            self.store, status, _cursor(request), _page_number(request)
        )
        first_href, next_href = _pager_links(request, "/", page, status)
        return self.render(
            request,
            "envelopes.html",
            section="envelopes",
            page=page,
            status=status,
            statuses=STATUSES,
            first_href=first_href,
            next_href=next_href,
        )

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
            reached=in_lifecycle_order(state.reached if state else ()),
        )  # fmt: skip

    async def dead_letters(self, request: Request) -> Response:
        """Events whose callbacks gave up, each with a retry button."""
        page = await self.pager.dead_letters(self.store, _cursor(request), _page_number(request))
        first_href, next_href = _pager_links(request, "/dead-letters", page, None)
        return self.render(
            request, "dead_letters.html", section="dead", page=page,
            first_href=first_href, next_href=next_href,
        )  # fmt: skip

    async def retry(self, request: Request) -> Response:
        """Requeue one event (POST with the CSRF token), then go back where the form was."""
        form = await _read_form(request)
        if form is None:
            return PlainTextResponse("expected a small url-encoded form", 400)
        if not self.csrf.accepts(request, form.get("csrf")):
            return PlainTextResponse("CSRF check failed: reload the page and try again.", 403)
        key = form.get("key", "")
        queued = bool(key) and await self._requeue(key)
        target = _safe_next(form.get("next"), _base(request))
        separator = "&" if "?" in target else "?"
        outcome = "queued" if queued else "not_queued"
        return RedirectResponse(f"{target}{separator}{outcome}={quote(key, safe=':')}", 303)

    async def _requeue(self, key: str) -> bool:
        done = await areplay(self.store, self.queue, key)
        if done is Replayed.REQUEUED:
            self.queue.notify(key)
        return done.ok
