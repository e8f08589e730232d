"""Helpers of the dashboard tests: an in-process client, filled stores, dead letters, paging."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import anyio
import httpx
from starlette.types import ASGIApp

from connect_mw import MemoryStore, ProcessingState, Receiver
from connect_mw.dashboard import Dashboard
from connect_mw.effects import drive
from connect_mw.recording import record
from connect_mw.simulate import Lifecycle
from connect_mw.stores.api import Store, utcnow
from connect_mw.testing import notification
from connect_mw.testing.builders import BASE_TIME
from connect_mw.testing.simulator import Simulator

KEY = "dashboard-key"
TOKEN = "s3cret-dashboard-token"
LOCAL = ("127.0.0.1", 50000)


def request(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    client: tuple[str, int] = LOCAL,
    cookies: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://dash.test", cookies=cookies
        ) as http:
            return await http.request(method, path, **kwargs)

    return anyio.run(go)


def filled_store(count: int = 6) -> tuple[MemoryStore, list[Lifecycle]]:
    simulator = Simulator(KEY, seed=41)
    lifecycles = simulator.lifecycles(count)
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    simulator.deliver(receiver, simulator.messages(*lifecycles, payload_format="json-summary"))
    assert isinstance(receiver.store, MemoryStore)
    return receiver.store, lifecycles


def kill_one(store: Store) -> str:
    queue = store.queue()
    (event,) = queue.claim("test", lease_for=timedelta(minutes=1), now=utcnow())
    error = "RuntimeError: boom\nTraceback"
    assert queue.finish(event.key, "test", ProcessingState.DEAD, error=error)
    return event.key


def kill_all(store: Store) -> list[str]:
    """Make every pending event a dead letter; their keys, in DocuSign order."""
    queue = store.queue()
    while claimed := queue.claim("test", lease_for=timedelta(minutes=1), limit=100):
        for event in claimed:
            assert queue.finish(event.key, "test", ProcessingState.DEAD, error=f"boom {event.key}")
    return [e.key for e in store.list_events(processing=ProcessingState.DEAD)]


def authed(store: Store, *, page_size: int = 50) -> tuple[Dashboard, dict[str, str]]:
    dashboard = Dashboard(store, token=TOKEN, page_size=page_size)
    return dashboard, {"authorization": f"Bearer {TOKEN}"}


def many_envelopes(count: int, *, per_minute: int = 7) -> MemoryStore:
    """``count`` envelopes, ``per_minute`` of them updated at each same time (ties by id)."""
    store = MemoryStore()
    for i in range(count):
        at = BASE_TIME + timedelta(minutes=i // per_minute)
        n = notification(f"env-{i:05d}", "completed" if i % 3 else "sent", at=at)
        assert drive(record(store, n, b"{}", f"k{i}")).inserted
    return store


def next_link(page: str) -> str | None:
    """The href of the page's "next page" link, unescaped."""
    match = re.search(r'<a rel="next" href="([^"]+)"', page)
    return None if match is None else html.unescape(match.group(1))


def browse(app: ASGIApp, auth: dict[str, str], start: str, pattern: str) -> list[list[str]]:
    """Follow "next page" links from ``start``; the rows (``pattern``'s group) of each page."""
    pages: list[list[str]] = []
    href: str | None = start
    while href is not None:
        page = request(app, "GET", href, headers=auth)
        assert page.status_code == 200
        pages.append(re.findall(pattern, page.text))
        href = next_link(page.text)
        assert len(pages) < 100, "the pager does not end"
    return pages


def processing_of(store: Store, key: str) -> ProcessingState:
    event = store.get_event(key)
    assert event is not None
    return event.processing


ENVELOPE_ROW = r'data-envelope="([^"]+)"'
DEAD_ROW = r'<tr data-key="([^"]+)"'


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)
