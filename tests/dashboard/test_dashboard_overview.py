"""The dashboard's overview: counts, search, the queue and health, event details, retry-all,
auto-refresh."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from connect_mw import MemoryStore, ProcessingState, Receiver, SQLiteStore
from connect_mw.dashboard import Dashboard
from connect_mw.dashboard.pages import age, when
from connect_mw.dashboard.payload import RAW_PREVIEW
from connect_mw.effects import drive
from connect_mw.encryption import Encryptor
from connect_mw.recording import record
from connect_mw.stores.api import Backlog, Store, utcnow
from connect_mw.stores.encrypted import EncryptedStore
from connect_mw.testing import notification, recipient
from support.dashboard import (
    DEAD_ROW,
    ENVELOPE_ROW,
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
from support.deliveries import signed_request, sim_body

EVENT_ROW = r'<tr data-key="([^"]+)"'


def rows(page: str, pattern: str = ENVELOPE_ROW) -> list[str]:
    return [html.unescape(row) for row in re.findall(pattern, page)]


def test_counts_per_status_link_to_the_filter() -> None:
    store, lifecycles = filled_store(12)
    app, auth = authed(store)
    page = request(app, "GET", "/", headers=auth).text
    counts = dict(re.findall(r'data-status="([^"]*)">.*?<span class="n">(\d+)</span>', page))
    expected = Counter(lc.final_status for lc in lifecycles)
    assert {status: int(n) for status, n in counts.items()} == expected
    assert '<span class="badge">all</span><span class="n">12</span>' in page
    assert 'href="/?status=completed"' in page


def test_search_by_id_subject_and_recipient_email() -> None:
    store = MemoryStore()
    people = [recipient("1", email="Ada@Lovelace.example"), recipient("2", email="bob@corp.io")]
    for n, (envelope_id, subject) in enumerate(
        [("AAAA-1111", "Quarterly offer"), ("bbbb-2222", "NDA <draft>"), ("cccc-3333", None)]
    ):
        sent = notification(envelope_id, "sent", subject=subject, recipients=(*people[: n + 1],))
        assert drive(record(store, sent, b"{}", f"k{n}")).inserted
    app, auth = authed(store)

    def found(query: str) -> list[str]:
        return rows(request(app, "GET", "/", params={"q": query}, headers=auth).text)

    assert found("aaaa-11") == ["AAAA-1111"]
    assert found("OFFER") == ["AAAA-1111"]
    assert found("lovelace") == ["AAAA-1111", "bbbb-2222", "cccc-3333"]
    assert found("bob@corp.io") == ["bbbb-2222", "cccc-3333"]
    assert found("<draft>") == ["bbbb-2222"]
    page = request(app, "GET", "/", params={"q": "<nothing>"}, headers=auth).text
    assert 'id="no-envelopes"' in page and "matching “&lt;nothing&gt;”" in page
    assert "<nothing>" not in page
    with_status = request(app, "GET", "/?status=voided&q=bob", headers=auth).text
    assert rows(with_status) == []


def test_search_pages_keep_the_text() -> None:
    store = many_envelopes(30)
    app, auth = authed(store, page_size=4)
    first = request(app, "GET", "/?q=env-0001", headers=auth).text
    href = next_link(first)
    assert href is not None and "q=env-0001" in href
    pages = browse(app, auth, "/?q=env-0001", ENVELOPE_ROW)
    assert [len(page) for page in pages] == [4, 4, 2]
    assert sorted(row for page in pages for row in page) == [
        f"env-000{i:02d}" for i in range(10, 20)
    ]


def test_timeline_shows_when_each_event_was_received() -> None:
    store, lifecycles = filled_store(2)
    app, auth = authed(store)
    envelope_id = lifecycles[0].envelope_id
    page = request(app, "GET", f"/envelopes/{envelope_id}", headers=auth).text
    assert "<th>Received</th>" in page
    received = re.findall(r'<td class="muted when received">([^<]+)</td>', page)
    events = store.list_events(envelope_id)
    assert received == [when(e.received_at) for e in events] and received


def test_queue_lists_pending_retrying_and_dead_events_with_health() -> None:
    store, _ = filled_store(3)
    dead = kill_one(store)
    queue = store.queue()
    (retrying,) = queue.claim("w", lease_for=timedelta(minutes=1))
    later = utcnow() + timedelta(hours=1)
    assert queue.finish(retrying.key, "w", ProcessingState.FAILED, error="E", retry_at=later)
    pending = [e.key for e in store.list_events(processing=ProcessingState.PENDING)]
    app, auth = authed(store)
    page = request(app, "GET", "/queue", headers=auth).text
    assert rows(page, EVENT_ROW) == pending and len(pending) > 1
    assert f'id="pending-count">{len(pending)}<' in page
    assert 'id="failed-count">1<' in page and 'id="dead-count">1<' in page
    assert 'id="health-state">ok<' in page and 'data-state="ok"' in page
    failed = request(app, "GET", "/queue?processing=failed", headers=auth).text
    assert rows(failed, EVENT_ROW) == [retrying.key] and when(later) in failed
    dead_page = request(app, "GET", "/queue?processing=dead", headers=auth).text
    assert rows(dead_page, EVENT_ROW) == [dead] and 'id="retry-all"' in dead_page
    unknown = request(app, "GET", "/queue?processing=processed", headers=auth).text
    assert rows(unknown, EVENT_ROW) == pending  # only the three tabs: the first


def test_worker_lag_beyond_the_limit_is_behind() -> None:
    store = MemoryStore()
    Receiver(hmac_keys="k", store=store).handle(
        signed_request(sim_body("envelope-sent", "e"), key="k")
    )
    app = Dashboard(store, token=TOKEN, lag_limit=timedelta(0))
    page = request(app, "GET", "/queue", headers={"authorization": f"Bearer {TOKEN}"}).text
    assert 'id="health-state">behind<' in page


def test_a_store_that_does_not_answer_is_down(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)  # a directory: SQLite cannot open it
    app = Dashboard(store, token=TOKEN)
    page = request(app, "GET", "/queue", headers={"authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    assert 'id="health-state">down<' in page.text and "OperationalError" in page.text
    assert str(tmp_path) not in page.text  # the error's type only, never its message


def test_backlog_lag_and_ages() -> None:
    now = utcnow()
    assert Backlog().lag(now) == timedelta(0)
    assert Backlog(pending=1, oldest_pending_at=now - timedelta(seconds=90)).lag(now) == timedelta(
        seconds=90
    )
    assert Backlog(pending=1, oldest_pending_at=now + timedelta(seconds=5)).lag(now) == timedelta(0)
    spans = [timedelta(seconds=s) for s in (0, 42, 60, 303, 7800, 3 * 86400 + 4 * 3600)]
    assert [age(s) for s in spans] == ["0 s", "42 s", "1 min", "5 min 3 s", "2 h 10 min", "3 d 4 h"]
    assert age(None) == "—"


def dead_with(store: Store, raw: bytes, error: str) -> str:
    """Record ``raw`` for an envelope and make it a dead letter with ``error``."""
    assert drive(record(store, notification("env-raw", "sent"), raw, "raw-key")).inserted
    queue = store.queue()
    (event,) = queue.claim("w", lease_for=timedelta(minutes=1))
    assert queue.finish(event.key, "w", ProcessingState.DEAD, error=error)
    return event.key


TRACEBACK = (
    "RuntimeError: CRM <down>\nTraceback (most recent call last):\n"
    '  File "crm.py", line 3, in push\n    raise RuntimeError("CRM <down>")\n'
)


def test_event_page_shows_the_escaped_body_and_the_whole_traceback() -> None:
    store = MemoryStore()
    raw = b'{"emailSubject":"<script>alert(1)</script>","bad":"\xff"}'
    key = dead_with(store, raw, TRACEBACK)
    app, auth = authed(store)
    page = request(app, "GET", f"/events/{key}", headers=auth)
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "\ufffd" in page.text
    error = re.search(r'<pre id="error">(.*?)</pre>', page.text, re.S)
    assert error is not None and html.unescape(error.group(1)) == TRACEBACK
    assert 'id="download" href="/raw/raw-key"' in page.text and "are shown" not in page.text
    download = request(app, "GET", "/raw/raw-key", headers=auth)
    assert download.content == raw
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == 'attachment; filename="raw-key.json"'
    assert download.headers["x-content-type-options"] == "nosniff"
    missing = request(app, "GET", "/events/nope", headers=auth)
    assert missing.status_code == 404 and "Event not found" in missing.text
    assert request(app, "GET", "/raw/nope", headers=auth).status_code == 404
    assert request(app, "GET", "/raw/raw-key").status_code == 401  # behind the same auth


def test_a_large_body_is_shown_truncated_with_the_whole_as_a_download() -> None:
    store = MemoryStore()
    raw = b"<x>" + b"a" * (RAW_PREVIEW * 2) + b"<tail-marker/></x>"
    key = dead_with(store, raw, "E")
    app, auth = authed(store)
    page = request(app, "GET", f"/events/{key}", headers=auth).text
    shown = re.search(r'<pre id="raw">(.*?)</pre>', page, re.S)
    assert shown is not None and len(html.unescape(shown.group(1))) < RAW_PREVIEW + 10
    assert "tail-marker" not in page and f"the first {RAW_PREVIEW} are shown" in page
    assert request(app, "GET", f"/raw/{key}", headers=auth).content == raw


def test_an_encrypted_store_body_is_shown_as_the_store_returns_it() -> None:
    inner = MemoryStore()
    store = EncryptedStore(inner, Encryptor.from_spec("k1:" + Encryptor.generate_key()))
    raw = b'{"emailSubject":"secret plan"}'
    key = dead_with(store, raw, "RuntimeError: no")
    sealed = inner.get_event(key)
    assert sealed is not None and sealed.raw != raw  # at rest it is sealed
    app, auth = authed(store)
    assert "secret plan" in request(app, "GET", f"/events/{key}", headers=auth).text
    assert request(app, "GET", f"/raw/{key}", headers=auth).content == raw


def test_retry_all_requeues_every_dead_letter_with_csrf() -> None:
    store = many_envelopes(130)  # more than one batch of 100
    dead = kill_all(store)
    app, auth = authed(store, page_size=20)
    page = request(app, "GET", "/dead-letters", headers=auth)
    assert 'action="/retry-all"' in page.text
    cookies = {"connect_mw_csrf": page.cookies["connect_mw_csrf"]}
    form = {"csrf": csrf_of(page)}
    refused = [
        request(app, "POST", "/retry-all", headers=auth, data=form),
        request(app, "POST", "/retry-all", headers=auth, data={"csrf": "a.b"}, cookies=cookies),
        request(
            app, "POST", "/retry-all", data=form, cookies=cookies,
            headers={**auth, "sec-fetch-site": "cross-site"},
        ),
        request(app, "GET", "/retry-all", headers=auth),
    ]  # fmt: skip
    assert [r.status_code for r in refused] == [403, 403, 403, 405]
    assert all(processing_of(store, key) is ProcessingState.DEAD for key in dead)
    done = request(app, "POST", "/retry-all", headers=auth, data=form, cookies=cookies)
    assert done.status_code == 303 and done.headers["location"] == "/dead-letters?requeued=130"
    assert all(processing_of(store, key) is ProcessingState.PENDING for key in dead)
    after = request(app, "GET", done.headers["location"], headers=auth).text
    assert "Queued 130 dead letter(s)" in after and rows(after, DEAD_ROW) == []


REFRESH = re.compile(r'<meta http-equiv="refresh" content="(\d+); url=([^"]*)">')


@pytest.mark.parametrize("path", ["/", "/queue", "/dead-letters", "/envelopes/env-00001"])
def test_list_pages_refresh_until_switched_off(path: str) -> None:
    store = many_envelopes(3)
    app, auth = authed(store)
    meta = REFRESH.search(request(app, "GET", path + "?queued=x", headers=auth).text)
    assert meta is not None and meta.groups() == ("30", path)  # the notice is not repeated
    off = request(app, "GET", path + "?refresh=off", headers=auth)
    assert REFRESH.search(off.text) is None and "turn on" in off.text
    assert "connect_mw_refresh=off" in off.headers["set-cookie"]
    cookies = {"connect_mw_refresh": "off"}
    assert REFRESH.search(request(app, "GET", path, headers=auth, cookies=cookies).text) is None
    on = request(app, "GET", path + "?refresh=on", headers=auth, cookies=cookies)
    assert REFRESH.search(on.text) is not None and "turn off" in on.text


def test_refresh_interval_and_pages_that_never_refresh() -> None:
    store = MemoryStore()
    key = dead_with(store, b"{}", "E")
    app, auth = authed(store)
    assert REFRESH.search(request(app, "GET", f"/events/{key}", headers=auth).text) is None
    fast = Dashboard(store, token=TOKEN, refresh=5)
    meta = REFRESH.search(request(fast, "GET", "/", headers=auth).text)
    assert meta is not None and meta.group(1) == "5"
    never = request(Dashboard(store, token=TOKEN, refresh=0), "GET", "/", headers=auth).text
    assert REFRESH.search(never) is None and 'id="refresh"' not in never


def test_a_blank_search_lists_every_envelope() -> None:
    store = many_envelopes(5)
    app, auth = authed(store)
    blank = rows(request(app, "GET", "/?q=++", headers=auth).text)
    assert blank == [s.envelope_id for s in store.list_envelopes()] and len(blank) == 5
