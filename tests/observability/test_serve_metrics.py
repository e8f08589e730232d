"""``connect-mw serve --metrics``: Prometheus metrics at ``GET /metrics``."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import prometheus_client

from connect_mw import MemoryStore, Receiver
from connect_mw.cli import build_parser
from connect_mw.cli.serve import build_app
from connect_mw.metrics import PrometheusMetrics
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.serving import serving


def test_serve_exports_metrics_only_when_asked(tmp_path: Path) -> None:
    store = ["--hmac-key", KEY, "--store", f"sqlite:///{tmp_path / 'events.sqlite3'}"]
    with serving([*store, "--metrics"], tmp_path, {}) as server:
        body = sim_body(status="completed")
        httpx.post(server.url + PATH, content=body, headers=signed_headers(body))
        httpx.post(server.url + PATH, content=body, headers=signed_headers(body, key="wrong"))
        exported = httpx.get(server.url + "/metrics")
        assert exported.status_code == 200
        lines = exported.text.splitlines()
        assert 'connect_mw_notifications_total{outcome="new"} 1.0' in lines
        assert 'connect_mw_rejections_total{status="401"} 1.0' in lines
        assert "connect_mw_request_seconds_count 1.0" in lines
        assert httpx.get(server.url + "/healthz").status_code == 200  # still served
    with serving(store, tmp_path, {}) as server:
        assert httpx.get(server.url + "/metrics").status_code == 404


def test_serve_metrics_exports_the_registry_of_the_apps_receiver() -> None:
    # serve --app with a receiver exporting to its own registry: /metrics shows that one
    registry = prometheus_client.CollectorRegistry()
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), metrics=PrometheusMetrics(registry))
    args = build_parser().parse_args(["serve", "--metrics", "--no-dashboard", "--no-health"])
    app = build_app(args, receiver, run_worker=False)

    async def scrape() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = sim_body()
            assert (await client.post(PATH, content=body, headers=signed_headers(body))).is_success
            return (await client.get("/metrics")).text

    assert 'connect_mw_notifications_total{outcome="new"} 1.0' in anyio.run(scrape).splitlines()
