"""The dashboard in a real browser: ``connect-mw serve`` + the simulator + headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright's Python package; no
browser is downloaded. In CI (``CI=true``) the test always runs; elsewhere it is skipped when
Chromium is absent. It saves screenshots in its temporary directory, or, with
``CONNECT_MW_UPDATE_SCREENSHOTS=1``, the ones shown in ``docs/dashboard.md``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from connect_mw import ProcessingState, SQLiteStore
from connect_mw.cli import main
from connect_mw.simulate import Lifecycle
from connect_mw.testing.simulator import Simulator
from support.polling import wait_until

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
if not IN_CI and not CHROMIUM.exists():
    pytest.skip("Chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

KEY = "browser-test-hmac-key"
TOKEN = "browser-test-dashboard-token"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# The screenshots in docs/ are refreshed only on request, so test runs leave the tree clean.
UPDATE_DOCS = bool(os.environ.get("CONNECT_MW_UPDATE_SCREENSHOTS"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        headers = {"authorization": f"Bearer {TOKEN}"}
        return httpx.get(url + "/dashboard/", headers=headers, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``connect-mw serve`` without a worker (events stay pending), dashboard behind a token."""
    port, db = free_port(), tmp_path / "events.sqlite3"
    command = [sys.executable, "-m", "connect_mw", "serve", "--port", str(port)]
    command += ["--store", f"sqlite:///{db}", "--no-worker", "--dashboard-token", TOKEN]
    env = {**os.environ, "CONNECT_MW_HMAC_KEYS": KEY}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(url) or proc.poll() is not None, timeout=30, what="serve")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield url, db
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def deliver(url: str, db: Path) -> tuple[list[Lifecycle], str, str]:
    """Simulated traffic for a dozen envelopes, then two events made dead letters."""
    simulator = Simulator(KEY, seed=2023)  # a seed whose names the CI fonts can draw
    lifecycles = simulator.lifecycles(12)
    messages = simulator.messages(*lifecycles, payload_format="json-summary")
    report = simulator.send_sync(url + "/docusign/connect", messages, duplicates=0.2)
    assert report.failed == 0
    voided = next(lc for lc in lifecycles if lc.kind == "voided")
    with SQLiteStore(db) as store:
        queue = store.queue()
        claimed = queue.claim("browser-test", lease_for=timedelta(minutes=5), limit=50)
        dead = next(e for e in claimed if e.envelope_id == voided.envelope_id)
        other = next(e for e in claimed if e.envelope_id != voided.envelope_id)
        for event in claimed:
            died = event in (dead, other)
            state = ProcessingState.DEAD if died else ProcessingState.PENDING
            assert queue.finish(event.key, "browser-test", state, error=ERROR if died else None)
    return lifecycles, dead.key, other.key


ERROR = (
    "RuntimeError: CRM unreachable\nTraceback (most recent call last):\n"
    '  File "app/callbacks.py", line 12, in on_voided\n    crm.close_deal(envelope.envelope_id)\n'
    '  File "app/crm.py", line 40, in close_deal\n    raise RuntimeError("CRM unreachable")\n'
    "RuntimeError: CRM unreachable"
)


def check_envelope(page: Page, lifecycle: Lifecycle) -> None:
    row = page.locator(f'tr[data-envelope="{lifecycle.envelope_id}"]')
    expect(row.locator(".badge")).to_have_text(lifecycle.final_status)
    row.get_by_role("link").click()
    expect(page.locator("#status")).to_have_text(lifecycle.final_status)
    expect(page.locator("#timeline td.event")).to_have_text([m.event for m in lifecycle.moments])
    expect(page.locator("#recipients tbody tr")).to_have_count(len(lifecycle.parties))


def test_dashboard_in_chromium(
    served: tuple[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, db = served
    lifecycles, dead_key, other_key = deliver(url, db)
    routing = next(lc for lc in lifecycles if lc.kind == "routing")
    images = DOCS_IMAGES if UPDATE_DOCS else tmp_path
    images.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 860})
        page.goto(f"{url}/dashboard/?token={TOKEN}")
        assert page.url == f"{url}/dashboard/"  # the token left the address bar
        expect(page.locator("tr[data-envelope]")).to_have_count(12)
        check_counts(page, lifecycles)
        page.screenshot(path=str(images / "dashboard.png"))
        check_search(page, routing)
        page.screenshot(path=str(images / "dashboard-search.png"))
        page.get_by_role("link", name="Clear").click()
        check_envelope(page, routing)
        page.screenshot(path=str(images / "dashboard-envelope.png"), full_page=True)
        check_queue(page)
        page.screenshot(path=str(images / "dashboard-queue.png"))
        check_event(page, dead_key)
        page.screenshot(path=str(images / "dashboard-event.png"), full_page=True)
        check_retries(page, dead_key, other_key)
        check_refresh_switch(page)
        browser.close()
    with SQLiteStore(db) as store:
        for key in (dead_key, other_key):
            event = store.get_event(key)
            assert event is not None and event.processing is ProcessingState.PENDING
    assert main(["status", routing.envelope_id, "--store", f"sqlite:///{db}", "--json"]) == 0
    assert '"status": "completed"' in capsys.readouterr().out


def check_counts(page: Page, lifecycles: list[Lifecycle]) -> None:
    finals = Counter(lc.final_status for lc in lifecycles)
    for status, count in finals.items():
        expect(page.locator(f'#counts li[data-status="{status}"] .n')).to_have_text(str(count))


def check_search(page: Page, routing: Lifecycle) -> None:
    page.locator("#q").fill(routing.parties[-1].email.upper())
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tr[data-envelope]")
    expect(rows.first).to_be_visible()
    assert routing.envelope_id in rows.evaluate_all("rs => rs.map(r => r.dataset.envelope)")
    expect(page.locator("#q")).to_have_value(routing.parties[-1].email.upper())


def check_queue(page: Page) -> None:
    page.get_by_role("link", name="Queue & health").click()
    expect(page.locator("#health-state")).to_have_text("ok")
    expect(page.locator("#dead-count")).to_have_text("2")
    expect(page.locator("#events tr[data-key]").first).to_be_visible()
    pending = int(page.locator("#pending-count").inner_text())
    assert page.locator("#events tr[data-key]").count() == min(pending, 50)  # a page of 50


def check_event(page: Page, dead_key: str) -> None:
    page.get_by_role("link", name="Dead", exact=True).click()
    page.locator(f'#events tr[data-key="{dead_key}"] a[title="{dead_key}"]').click()
    expect(page.locator("#error")).to_have_text(ERROR)
    expect(page.locator("#raw")).to_contain_text('"envelopeId"')
    with page.expect_download() as download:
        page.locator("#download").click()
    saved = Path(download.value.path())
    assert saved.read_bytes().decode() == page.locator("#raw").inner_text()


def check_retries(page: Page, dead_key: str, other_key: str) -> None:
    page.get_by_role("link", name="Dead letters").click()
    dead_row = page.locator(f'tr[data-key="{dead_key}"]')
    expect(dead_row.locator("td.error")).to_have_text("RuntimeError: CRM unreachable")
    dead_row.get_by_role("button", name="Retry").click()
    expect(page.locator(".notice")).to_contain_text(f"Queued {dead_key}")
    expect(page.locator(f'tr[data-key="{dead_key}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-key="{other_key}"]')).to_have_count(1)
    page.get_by_role("button", name="Retry all dead letters").click()
    expect(page.locator(".notice")).to_contain_text("Queued 1 dead letter(s)")
    expect(page.locator("#no-dead-letters")).to_be_visible()


def check_refresh_switch(page: Page) -> None:
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(1)
    page.locator("#refresh").get_by_role("link", name="turn off").click()
    expect(page.locator("#refresh")).to_contain_text("Auto-refresh off")
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(0)
    page.get_by_role("link", name="Envelopes").click()  # the choice is kept
    expect(page.locator("#refresh")).to_contain_text("Auto-refresh off")
