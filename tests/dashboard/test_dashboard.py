"""The dashboard: pages, pagination, authentication, CSRF-protected retry, ``serve`` mounting."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from connect_mw import ConfigurationError, MemoryStore, ProcessingState, Receiver
from connect_mw.cli import build_parser
from connect_mw.cli.serve import build_dashboard
from connect_mw.dashboard import Dashboard
from connect_mw.simulate import Lifecycle
from connect_mw.stores.base import utcnow
from connect_mw.testing.simulator import Simulator
from support.deliveries import signed_request, sim_body

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


def kill_one(store: MemoryStore) -> str:
    (event,) = store.claim("test", lease_for=timedelta(minutes=1), now=utcnow())
    store.finish(event.key, "test", ProcessingState.DEAD, error="RuntimeError: boom\nTraceback")
    return event.key


def authed(
    store: MemoryStore, *, page_size: int = 50, max_depth: int = 2000
) -> tuple[Dashboard, dict[str, str]]:
    dashboard = Dashboard(store, token=TOKEN, page_size=page_size, max_depth=max_depth)
    return dashboard, {"authorization": f"Bearer {TOKEN}"}


def processing_of(store: MemoryStore, key: str) -> ProcessingState:
    event = store.get_event(key)
    assert event is not None
    return event.processing


def test_envelope_list_badges_filter_and_detail() -> None:
    store, lifecycles = filled_store()
    app, auth = authed(store)
    page = request(app, "GET", "/", headers=auth)
    assert page.status_code == 200
    assert all(lc.envelope_id in page.text for lc in lifecycles)
    assert '<span class="badge ok">completed</span>' in page.text
    assert '<span class="badge bad">declined</span>' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    voided = request(app, "GET", "/?status=voided", headers=auth).text
    expected = [lc.envelope_id for lc in lifecycles if lc.final_status == "voided"]
    assert re.findall(r'data-envelope="([^"]+)"', voided) == expected
    routing = next(lc for lc in lifecycles if lc.kind == "routing")
    detail = request(app, "GET", f"/envelopes/{routing.envelope_id}", headers=auth).text
    timeline = detail.split('id="timeline"')[1]
    assert timeline.count("<tr data-key=") == len(routing.moments)
    assert [m.event for m in routing.moments] == re.findall(
        r'<td class="event">(\S+)</td>', timeline
    )
    assert detail.count('class="badge ok">completed</span>') >= 4  # envelope + 3 recipients
    missing = request(app, "GET", "/envelopes/nope", headers=auth)
    assert missing.status_code == 404 and "Envelope not found" in missing.text


def test_pagination_and_browsing_depth() -> None:
    store, lifecycles = filled_store(12)
    app, auth = authed(store, page_size=5, max_depth=10)
    first = request(app, "GET", "/", headers=auth).text
    assert first.count("data-envelope=") == 5 and 'rel="next" href="/?page=2"' in first
    second = request(app, "GET", "/?page=2", headers=auth).text
    assert second.count("data-envelope=") == 5 and 'rel="prev"' in second
    assert 'rel="next"' not in second and "Only the latest 10 rows" in second
    deep = request(app, "GET", "/?page=99", headers=auth).text  # clamped to the last page
    assert deep.count("data-envelope=") == 5
    shown = re.findall(r'data-envelope="([^"]+)"', first + second)
    assert len(set(shown)) == 10 and set(shown) <= {lc.envelope_id for lc in lifecycles}


def test_token_in_query_becomes_a_cookie() -> None:
    store, _ = filled_store(1)
    app = Dashboard(store, token=TOKEN)
    assert request(app, "GET", "/").status_code == 401
    assert request(app, "GET", "/?token=wrong").status_code == 401
    exchanged = request(app, "GET", "/dead-letters?token=" + TOKEN + "&page=1")
    assert exchanged.status_code == 303 and exchanged.headers["location"] == "/dead-letters?page=1"
    cookie = exchanged.cookies["connect_mw_dashboard"]
    assert TOKEN not in cookie and "HttpOnly" in exchanged.headers["set-cookie"]
    cookies = {"connect_mw_dashboard": cookie}
    assert request(app, "GET", "/", cookies=cookies).status_code == 200
    assert request(app, "GET", "/", cookies={"connect_mw_dashboard": "forged"}).status_code == 401


def test_basic_auth() -> None:
    store, _ = filled_store(1)
    app = Dashboard(store, basic_auth=("ops", "pa:ss"))
    good = base64.b64encode(b"ops:pa:ss").decode()
    bad = base64.b64encode(b"ops:nope").decode()
    assert request(app, "GET", "/", headers={"authorization": f"Basic {good}"}).status_code == 200
    refused = request(app, "GET", "/", headers={"authorization": f"Basic {bad}"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")


def test_without_credentials_only_loopback_clients() -> None:
    store, _ = filled_store(1)
    with pytest.raises(ConfigurationError, match="token or Basic"):
        Dashboard(store)
    with pytest.raises(ConfigurationError):
        Dashboard(store, bind_host="0.0.0.0")
    app = Dashboard(store, bind_host="127.0.0.1")
    assert request(app, "GET", "/").status_code == 200
    assert request(app, "GET", "/", client=("203.0.113.9", 4000)).status_code == 403
    proxied = request(app, "GET", "/", headers={"x-forwarded-for": "198.51.100.7"})
    assert proxied.status_code == 403


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def test_retry_a_dead_letter_with_csrf() -> None:
    store, _ = filled_store(2)
    key = kill_one(store)
    app, auth = authed(store)
    page = request(app, "GET", "/dead-letters", headers=auth)
    assert key in page.text and "RuntimeError: boom" in page.text
    token = csrf_of(page)
    cookies = {"connect_mw_csrf": page.cookies["connect_mw_csrf"]}
    form = {"key": key, "csrf": token, "next": "/dead-letters"}
    refusals = [
        request(app, "POST", "/retry", headers=auth, data=form),  # no cookie
        request(app, "POST", "/retry", headers=auth, data={**form, "csrf": "x.y"}, cookies=cookies),
        request(
            app, "POST", "/retry", data=form, cookies=cookies,
            headers={**auth, "sec-fetch-site": "cross-site"},
        ),
        request(
            app, "POST", "/retry", data=form, cookies=cookies,
            headers={**auth, "origin": "https://evil.example"},
        ),
    ]  # fmt: skip
    assert [r.status_code for r in refusals] == [403, 403, 403, 403]
    assert processing_of(store, key) is ProcessingState.DEAD
    done = request(app, "POST", "/retry", headers=auth, data=form, cookies=cookies)
    assert done.status_code == 303 and done.headers["location"] == f"/dead-letters?queued={key}"
    assert processing_of(store, key) is ProcessingState.PENDING
    after = request(app, "GET", done.headers["location"], headers=auth, cookies=cookies).text
    assert f"Queued {key}" in after and 'id="no-dead-letters"' in after


def test_retry_redirects_stay_inside_and_unknown_keys_are_reported() -> None:
    store, _ = filled_store(1)
    kill_one(store)
    app, auth = authed(store)
    page = request(app, "GET", "/dead-letters", headers=auth)
    cookies = {"connect_mw_csrf": page.cookies["connect_mw_csrf"]}
    form = {"key": "missing", "csrf": csrf_of(page), "next": "https://evil.example/"}
    answer = request(app, "POST", "/retry", headers=auth, data=form, cookies=cookies)
    assert answer.headers["location"] == "/dead-letters?not_queued=missing"
    for target in ("//evil.example/x", "/\\evil.example"):
        answer = request(
            app, "POST", "/retry", headers=auth, data={**form, "next": target}, cookies=cookies
        )
        assert answer.headers["location"].startswith("/dead-letters?")


def test_mounted_under_a_prefix_and_escaping() -> None:
    store = MemoryStore()
    receiver = Receiver(hmac_keys="k", store=store)
    summary = {"status": "sent", "envelopeId": "env-x", "emailSubject": "<script>alert(1)</script>"}
    body = sim_body("envelope-sent", "env-x", summary=summary)
    assert receiver.handle(signed_request(body, key="k")).status == 200
    app = Starlette(routes=[Mount("/dashboard", app=Dashboard(store, token=TOKEN))])
    exchanged = request(app, "GET", f"/dashboard/envelopes/env-x?token={TOKEN}")
    assert exchanged.headers["location"] == "/dashboard/envelopes/env-x"
    assert "Path=/dashboard" in exchanged.headers["set-cookie"]
    cookies = {"connect_mw_dashboard": exchanged.cookies["connect_mw_dashboard"]}
    page = request(app, "GET", "/dashboard/envelopes/env-x", cookies=cookies).text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="/dashboard/dead-letters"' in page


@pytest.mark.parametrize(
    ("argv", "mounted"),
    [
        ([], True),
        (["--no-dashboard"], False),
        (["--host", "0.0.0.0"], False),
        (["--host", "0.0.0.0", "--dashboard-token", TOKEN], True),
        (["--host", "0.0.0.0", "--dashboard-basic-auth", "ops:pw"], True),
    ],
)
def test_serve_mounts_the_dashboard_only_when_safe(argv: list[str], mounted: bool) -> None:
    args = build_parser().parse_args(["serve", "--hmac-key", "k", *argv])
    app = build_dashboard(args, MemoryStore())
    assert (app is not None) == mounted
    if app is not None:
        headers = {"authorization": f"Bearer {TOKEN}"}
        if "--dashboard-basic-auth" in argv:
            headers = {"authorization": "Basic " + base64.b64encode(b"ops:pw").decode()}
        assert request(app, "GET", "/dashboard/", headers=headers).status_code == 200
        assert request(app, "GET", "/dashboard").status_code in (307, 308)
