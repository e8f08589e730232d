"""``connect-mw serve --metrics``: Prometheus metrics at ``GET /metrics``."""

from __future__ import annotations

from pathlib import Path

import httpx

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
