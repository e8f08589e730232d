"""Peak memory of a large delivery through each real server (slow: a fresh server per case).

A 50 MB XML notification carrying two PDFs, and a JSON one of exactly the 64 MiB limit, are
posted to a server that has answered one small delivery (imports and schema done); the peak
resident memory of the process that serves requests (gunicorn's worker) may grow by at most
``BOUND`` times the body while it is received, recorded and processed by the in-process
worker. Numbers and causes: ``docs/frameworks/django.md`` ("Memory").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support.deliveries import PATH, signed_headers, sim_body
from support.large_bodies import exact_json, xml_with_pdfs
from support.polling import wait_until
from support.servers import NAMES, PeakGrowth, running

pytestmark = pytest.mark.slow

#: The body, the parsed documents and the store's write, plus the process's own small change.
BOUND = 3.2


def xml_50mb() -> tuple[bytes, str]:
    return xml_with_pdfs(50_000_000, str(uuid.uuid4())), "text/xml"


def json_at_the_limit() -> tuple[bytes, str]:
    return exact_json(64 * 1024 * 1024, str(uuid.uuid4())), "application/json"


BODIES: dict[str, Callable[[], tuple[bytes, str]]] = {
    "xml_50MB_with_pdfs": xml_50mb,
    "json_64MiB": json_at_the_limit,
}


@pytest.mark.parametrize("kind", sorted(BODIES))
@pytest.mark.parametrize("name", NAMES)
def test_peak_memory_stays_within_three_bodies(name: str, kind: str, tmp_path: Path) -> None:
    body, content_type = BODIES[kind]()
    with running(name, tmp_path) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        small = sim_body(envelope_id="warm-up")
        assert client.post(PATH, content=small, headers=signed_headers(small)).status_code == 200
        with PeakGrowth(server.serving_pid()) as peak:
            reply = client.post(
                PATH, content=body, headers=signed_headers(body, content_type=content_type)
            )
            assert reply.status_code == 200, reply.text
            key = reply.json()["key"]
            wait_until(lambda: server.processing(key) == "processed", timeout=60)
    assert peak.growth <= BOUND * len(body), f"{peak.growth / len(body):.2f} x the body"
