"""Counters and timings reach the metrics interface; Prometheus exports them."""

from __future__ import annotations

import prometheus_client
import pytest

from connect_mw import Delivery, MemoryStore, Receiver
from connect_mw.metrics import InMemoryMetrics, PrometheusMetrics
from connect_mw.model import PayloadFormat
from connect_mw.stores.api import EventQuery, ProcessingState
from support.deliveries import KEY, signed_request, sim_body


def test_receiver_and_worker_report_what_happened() -> None:
    metrics = InMemoryMetrics()
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), metrics=metrics)

    @receiver.on_any
    def fail_on_delivered(delivery: Delivery) -> None:
        if delivery.notification.event == "envelope-delivered":
            raise RuntimeError("nope")

    for body in [
        sim_body("envelope-sent"),
        sim_body("envelope-sent"),
        sim_body("envelope-delivered"),
    ]:
        receiver.handle(signed_request(body))
    receiver.handle(signed_request(sim_body(), key="wrong"))
    receiver.worker(concurrency=1).run_once()
    receiver.worker(concurrency=1).run_once()
    assert metrics.count("connect_mw_notifications_total", outcome="new") == 2
    assert metrics.count("connect_mw_notifications_total", outcome="duplicate") == 1
    assert metrics.count("connect_mw_rejections_total", status="401") == 1
    assert metrics.count("connect_mw_events_total", state="processed") == 1
    assert metrics.count("connect_mw_events_total", state="failed") == 1
    assert len(metrics.observations["connect_mw_request_seconds"]) == 3
    assert len(metrics.observations["connect_mw_processing_seconds"]) == 2


def test_prometheus_exporter() -> None:
    registry = prometheus_client.CollectorRegistry()
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), metrics=PrometheusMetrics(registry))
    receiver.handle(signed_request(sim_body()))
    receiver.handle(signed_request(sim_body(), key="wrong"))
    text = prometheus_client.generate_latest(registry).decode()
    assert 'connect_mw_notifications_total{outcome="new"} 1.0' in text
    assert 'connect_mw_rejections_total{status="401"} 1.0' in text
    assert "connect_mw_request_seconds_count 1.0" in text


def test_two_receivers_export_to_one_registry() -> None:
    # two Connect paths in one process, or a receiver rebuilt: each has PrometheusMetrics()
    registry = prometheus_client.CollectorRegistry()
    first, second = (
        Receiver(hmac_keys=KEY, store=MemoryStore(), metrics=PrometheusMetrics(registry))
        for _ in range(2)
    )
    assert first.handle(signed_request(sim_body())).status == 200
    assert second.handle(signed_request(sim_body())).status == 200
    text = prometheus_client.generate_latest(registry).decode()
    assert 'connect_mw_notifications_total{outcome="new"} 2.0' in text


class BrokenMetrics(InMemoryMetrics):
    """A metrics backend that fails on every report (a full disk, a broken exporter)."""

    def increment(self, name: str, **labels: str) -> None:
        raise OSError("metrics backend down")

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        raise OSError("metrics backend down")


def test_a_failing_metrics_backend_never_changes_an_answer_or_a_verdict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The reports come after the commit (or the verdict): raising there would turn a stored
    # event into a 5xx that DocuSign resends, and a processed event into a retry.
    store = MemoryStore()
    receiver = Receiver(hmac_keys=KEY, store=store, metrics=BrokenMetrics())
    calls: list[str] = []
    receiver.on_any(lambda delivery: calls.append(delivery.key))
    assert receiver.handle(signed_request(sim_body())).status == 200
    assert receiver.handle(signed_request(sim_body(), key="wrong")).status == 401
    assert receiver.handle(signed_request(b"{not json")).status == 200  # a dead letter
    receiver.worker(concurrency=1).run_once()
    assert len(calls) == 1
    (event,) = [e for e in store.events(EventQuery()) if e.format is not PayloadFormat.UNPARSED]
    assert event.processing is ProcessingState.PROCESSED
    failures = [r for r in caplog.records if "BrokenMetrics" in r.getMessage()]
    assert failures and all(r.exc_info for r in failures)
