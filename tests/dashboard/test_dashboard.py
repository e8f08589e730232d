"""The dashboard: pages, pagination, authentication, CSRF-protected retry, ``serve`` mounting."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from connect_mw import ConfigurationError, MemoryStore, ProcessingState, Receiver
from connect_mw.cli import build_parser
from connect_mw.cli.serve import build_dashboard
from connect_mw.dashboard import Dashboard
from connect_mw.dashboard.pages import encode_cursor
from connect_mw.effects import drive
from connect_mw.recording import record
from connect_mw.testing import notification
from support.dashboard import (
    DEAD_ROW,
    ENVELOPE_ROW,
    KEY,
    TOKEN,
    authed,
    browse,
    csrf_of,
    filled_store,
    kill_all,
    kill_one,
    many_envelopes,
    next_link,
    processing_of,
    request,
)
from support.deliveries import KEY as HMAC_KEY
from support.deliveries import signed_request, sim_body


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


def test_pagination_follows_the_keyset() -> None:
    store, lifecycles = filled_store(12)
    app, auth = authed(store, page_size=5)
    first = request(app, "GET", "/", headers=auth).text
    assert first.count("data-envelope=") == 5 and 'rel="first"' not in first
    href = next_link(first)
    assert href is not None and href.startswith("/?page=2&after=")
    second = request(app, "GET", href, headers=auth).text
    assert 'rel="first" href="/"' in second and "page 2" in second
    pages = browse(app, auth, "/", ENVELOPE_ROW)
    assert [len(page) for page in pages] == [5, 5, 2]
    shown = [envelope_id for page in pages for envelope_id in page]
    assert shown == [s.envelope_id for s in store.list_envelopes(limit=100)]
    assert set(shown) == {lc.envelope_id for lc in lifecycles}
    assert "page 99" not in request(app, "GET", "/?page=99", headers=auth).text  # no cursor


def test_browsing_goes_past_the_old_2000_row_cap() -> None:
    # The old pager stopped at 2,000 rows; envelopes updated at one same time page by id.
    store = many_envelopes(2_150)
    app, auth = authed(store, page_size=400)
    pages = browse(app, auth, "/", ENVELOPE_ROW)
    assert [len(page) for page in pages] == [400] * 5 + [150]
    shown = [envelope_id for page in pages for envelope_id in page]
    assert shown == [s.envelope_id for s in store.list_envelopes(limit=10_000)]
    assert len(set(shown)) == 2_150 and shown[-7:] == [f"env-0000{i}" for i in range(7)]
    completed = browse(app, auth, "/?status=completed", ENVELOPE_ROW)
    flat = [envelope_id for page in completed for envelope_id in page]
    assert flat == [s.envelope_id for s in store.list_envelopes(status="completed", limit=9_999)]
    assert len(flat) == 1_433 and len(completed) == 4  # the filter stays in the next links


def test_dead_letters_page_by_keyset_in_docusign_order() -> None:
    store = many_envelopes(11, per_minute=4)  # several dead letters of one same time
    dead = kill_all(store)
    assert len(dead) == 11
    app, auth = authed(store, page_size=3)
    pages = browse(app, auth, "/dead-letters", DEAD_ROW)
    assert [len(page) for page in pages] == [3, 3, 3, 2]
    assert [key for page in pages for key in page] == dead


def test_cursors_are_opaque_and_bad_ones_open_the_first_page() -> None:
    store = MemoryStore()
    odd = ["a&b=c#d", "é ?/%", 'z"<x>']
    for i, envelope_id in enumerate(odd):
        assert drive(record(store, notification(envelope_id, "sent"), b"{}", f"k{i}")).inserted
    app, auth = authed(store, page_size=1)
    pages = browse(app, auth, "/", r'data-envelope="([^"]*)"')
    assert [html.unescape(row) for page in pages for row in page] == sorted(odd)
    first = request(app, "GET", "/", headers=auth).text
    href = next_link(first)
    assert href is not None and re.fullmatch(r"/\?page=2&after=[A-Za-z0-9_-]+", href)
    first_rows = re.findall(ENVELOPE_ROW, first)
    too_big = encode_cursor(["2024-03-05T17:21:09.000000Z", 2**70])
    for bad in ("garbage!", "e30", "W10", "x" * 600, encode_cursor([1, 2]), too_big):
        for path in ("/", "/dead-letters"):
            answer = request(app, "GET", f"{path}?page=3&after={bad}", headers=auth)
            assert answer.status_code == 200 and "page 1" in answer.text
        assert (
            re.findall(ENVELOPE_ROW, request(app, "GET", f"/?after={bad}", headers=auth).text)
            == first_rows
        )


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


def test_retry_from_a_later_page_returns_there_and_wakes_the_receivers_worker() -> None:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore())
    for i in range(4):
        n = notification(f"env-{i}", "sent")
        assert drive(record(receiver.store, n, b"{}", f"k{i}")).inserted
    dead = kill_all(receiver.store)
    dashboard = Dashboard(receiver.store, token=TOKEN, page_size=2, queue=receiver.queue)
    auth = {"authorization": f"Bearer {TOKEN}"}
    first = request(dashboard, "GET", "/dead-letters", headers=auth)
    later_href = next_link(first.text)
    assert later_href is not None
    later = request(dashboard, "GET", later_href, headers=auth)
    assert re.findall(DEAD_ROW, later.text) == dead[2:]
    here = html.unescape(re.findall(r'name="next" value="([^"]+)"', later.text)[0])
    assert here == later_href
    cookies = {"connect_mw_csrf": first.cookies["connect_mw_csrf"]}
    form = {"key": dead[2], "csrf": csrf_of(first), "next": here}
    receiver.queue.wakeup.clear()
    done = request(dashboard, "POST", "/retry", headers=auth, data=form, cookies=cookies)
    assert done.status_code == 303 and done.headers["location"] == f"{here}&queued={dead[2]}"
    assert receiver.queue.wakeup.is_set()  # an in-process worker looks at once
    assert processing_of(receiver.store, dead[2]) is ProcessingState.PENDING
    back = request(dashboard, "GET", done.headers["location"], headers=auth, cookies=cookies)
    assert re.findall(DEAD_ROW, back.text) == dead[3:] and f"Queued {dead[2]}" in back.text


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
    store = MemoryStore()
    app = build_dashboard(args, store, store.queue())
    assert (app is not None) == mounted
    if app is not None:
        headers = {"authorization": f"Bearer {TOKEN}"}
        if "--dashboard-basic-auth" in argv:
            headers = {"authorization": "Basic " + base64.b64encode(b"ops:pw").decode()}
        assert request(app, "GET", "/dashboard/", headers=headers).status_code == 200
        assert request(app, "GET", "/dashboard").status_code in (307, 308)


def retry_page(
    count: int = 2,
) -> tuple[MemoryStore, str, Dashboard, dict[str, str], dict[str, str], str]:
    store, _ = filled_store(count)
    key = kill_one(store)
    app, auth = authed(store)
    page = request(app, "GET", "/dead-letters", headers=auth)
    cookies = {"connect_mw_csrf": page.cookies["connect_mw_csrf"]}
    return store, key, app, auth, cookies, csrf_of(page)


async def pieces(body: bytes) -> AsyncIterator[bytes]:
    """``body`` sent chunked (no Content-Length), 4 KiB at a time."""
    for start in range(0, len(body), 4096):
        yield body[start : start + 4096]


@pytest.mark.parametrize("path", ["/retry", "/retry-all"])
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_form_over_16_kib_is_413(path: str, declared: bool) -> None:
    store, key, app, auth, cookies, token = retry_page()
    body = urlencode({"key": key, "csrf": token, "next": "/dead-letters", "pad": "x" * 16_500})
    headers = {**auth, "content-type": "application/x-www-form-urlencoded"}
    content: bytes | AsyncIterator[bytes] = body.encode() if declared else pieces(body.encode())
    answer = request(app, "POST", path, headers=headers, content=content, cookies=cookies)
    assert answer.status_code == 413, answer.text
    assert processing_of(store, key) is ProcessingState.DEAD


@pytest.mark.parametrize("path", ["/retry", "/retry-all"])
def test_a_form_field_repeated_with_another_value_is_400(path: str) -> None:
    store, key, app, auth, cookies, token = retry_page()
    headers = {**auth, "content-type": "application/x-www-form-urlencoded"}
    fields = [("key", key), ("csrf", token), ("next", "/dead-letters")]
    for name, other in [("key", "someone-else"), ("csrf", "x.y"), ("next", "/queue")]:
        body = urlencode([*fields, (name, other)])
        answer = request(app, "POST", path, headers=headers, content=body, cookies=cookies)
        assert answer.status_code == 400, (name, answer.text)
        assert "repeated" in answer.text
    assert processing_of(store, key) is ProcessingState.DEAD
    same = urlencode([*fields, ("key", key)])  # the same value twice says nothing new
    answer = request(app, "POST", path, headers=headers, content=same, cookies=cookies)
    assert answer.status_code == 303
    assert processing_of(store, key) is ProcessingState.PENDING


@pytest.mark.parametrize("page", ["%C2%B2", "%E2%91%A0", "-1", "9999999"])  # "²", "①"
def test_a_page_number_that_is_not_one_shows_the_first_page(page: str) -> None:
    store, _ = filled_store(3)
    app, auth = authed(store)
    answer = request(app, "GET", f"/?page={page}", headers=auth)
    assert answer.status_code == 200 and answer.text.count("data-envelope=") == 3


def test_dead_letters_about_no_envelope_link_to_no_envelope_page() -> None:
    receiver = Receiver(hmac_keys=HMAC_KEY, store="memory://")
    click = (
        b'{"event": "click-agreed", "apiVersion": "v2.1", "generatedDateTime": '
        b'"2026-12-05T08:00:00.0000000Z", "data": {"clickwrapId": "c-1", "agreementId": "a"}}'
    )
    for body in (click, b"not json"):
        assert receiver.handle(signed_request(body)).status == 200
    dead = kill_all(receiver.store)
    assert len(dead) == 2
    app, auth = authed(receiver.store)
    page = request(app, "GET", "/dead-letters", headers=auth).text
    assert 'href="/envelopes/"' not in page
    assert page.count('<span class="muted">none</span>') == 2
    shown = {key: request(app, "GET", f"/events/{key}", headers=auth).text for key in dead}
    assert sorted("not about an envelope" in text for text in shown.values()) == [False, True]
    assert sorted("not parsed" in text for text in shown.values()) == [False, True]
