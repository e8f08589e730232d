"""The Grafana dashboard queries only metrics, labels and label values connect-mw exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from connect_mw import Delivery, Receiver
from connect_mw.metrics import PrometheusMetrics
from connect_mw.processing import RetryPolicy
from support.deliveries import KEY, signed_request, sim_body

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "connect-mw-dashboard.json"
METRIC = re.compile(r"\b(connect_mw_[a-z_]+)(\{[^}]*\})?")
SELECTOR = re.compile(r'(\w+)="([^"]*)"')
GROUPING = re.compile(r"\bby \(([^)]*)\)")


def _exported() -> dict[str, list[dict[str, str]]]:
    """Every sample name a receiver and its worker export, with its label sets."""
    registry = CollectorRegistry()
    receiver = Receiver(
        hmac_keys=KEY,
        store="memory://",
        metrics=PrometheusMetrics(registry),
        retry=RetryPolicy(max_attempts=1),
    )

    @receiver.on_envelope_completed
    def fails_for_one(delivery: Delivery) -> None:
        if delivery.envelope_id.startswith("dead"):
            raise RuntimeError("boom")

    ok = sim_body(status="completed")
    assert receiver.handle(signed_request(ok)).status == 200
    assert receiver.handle(signed_request(ok)).status == 200  # duplicate
    dead = sim_body(status="completed", envelope_id="dead-0000-0000")
    assert receiver.handle(signed_request(dead)).status == 200
    assert receiver.handle(signed_request(ok, key="wrong")).status == 401
    assert receiver.handle(signed_request(b'{"not": "connect"}')).status == 200  # unparsed
    receiver.worker().run_once()
    exported: dict[str, list[dict[str, str]]] = {}
    for family in registry.collect():
        for sample in family.samples:
            exported.setdefault(sample.name, []).append(dict(sample.labels))
    return exported


def _queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_queried_metric_is_exported() -> None:
    exported = _exported()
    queries = _queries()
    assert queries
    used = {name for query in queries for name, _ in METRIC.findall(query)}
    assert used, queries
    assert used <= set(exported), sorted(used - set(exported))


def test_every_label_and_value_queried_exists() -> None:
    exported = _exported()
    for query in _queries():
        names = [name for name, _ in METRIC.findall(query)]
        for name, selector in METRIC.findall(query):
            for label, value in SELECTOR.findall(selector):
                assert any(labels.get(label) == value for labels in exported[name]), (
                    f"{name}{{{label}={value!r}}} is never exported"
                )
        for grouping in GROUPING.findall(query):
            for label in (part.strip() for part in grouping.split(",")):
                assert any(label in labels for name in names for labels in exported[name]), (
                    f"no metric of {query!r} has the label {label!r}"
                )
