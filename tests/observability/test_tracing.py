"""OpenTelemetry spans, read back from the SDK's in-memory exporter."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from connect_mw import Delivery, Receiver
from connect_mw.correlation import correlation_id
from support.deliveries import KEY, signed_request, sim_body


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The in-memory exporter on the global provider (set once per process).

    Shut down after this module, so later tests' spans are not kept in memory.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


def _named(exporter: InMemorySpanExporter, prefix: str = "connect_mw.") -> list[ReadableSpan]:
    found = [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]
    return sorted(found, key=lambda s: s.start_time or 0)


def test_request_spans_in_order_under_receive(spans: InMemorySpanExporter) -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    assert receiver.handle(signed_request(sim_body(status="completed"))).status == 200
    found = _named(spans)
    assert [s.name for s in found] == [
        "connect_mw.receive",
        "connect_mw.authenticate",
        "connect_mw.parse",
        "connect_mw.record",
        "connect_mw.acknowledge",
    ]
    receive = found[0]
    assert all(
        s.parent is not None and s.parent.span_id == receive.context.span_id for s in found[1:]
    )
    attributes = dict(receive.attributes or {})
    assert attributes["http.response.status_code"] == 200
    assert attributes["connect_mw.correlation_id"] == correlation_id(
        str(attributes["connect_mw.key"])
    )
    assert dict(found[3].attributes or {})["connect_mw.outcome"] == "new"


def test_a_refused_request_ends_at_authenticate(spans: InMemorySpanExporter) -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    assert receiver.handle(signed_request(sim_body(), key="wrong")).status == 401
    found = _named(spans)
    assert [s.name for s in found] == ["connect_mw.receive", "connect_mw.authenticate"]
    assert found[1].status.status_code is StatusCode.ERROR
    assert found[1].events[0].name == "exception"
    assert found[0].status.status_code is StatusCode.ERROR
    assert dict(found[0].attributes or {})["http.response.status_code"] == 401


user_tracer = trace.get_tracer("myapp")


def _receiver() -> Receiver:
    receiver = Receiver(hmac_keys=KEY, store="memory://")

    @receiver.on_envelope_completed
    def works(delivery: Delivery) -> None:
        with user_tracer.start_as_current_span("myapp.plain"):
            pass

    @receiver.on_any
    async def also_works(delivery: Delivery) -> None:
        with user_tracer.start_as_current_span("myapp.async"):
            pass

    @receiver.on("envelope-completed")
    def fails(delivery: Delivery) -> None:
        raise RuntimeError("boom")

    @receiver.on_error
    def told(delivery: Delivery, exc: BaseException) -> None:
        pass

    return receiver


def _check_processing(spans: InMemorySpanExporter) -> None:
    every = spans.get_finished_spans()
    receive = next(s for s in every if s.name == "connect_mw.receive")
    process = next(s for s in every if s.name == "connect_mw.process")
    cid = dict(receive.attributes or {})["connect_mw.correlation_id"]
    assert dict(process.attributes or {})["connect_mw.correlation_id"] == cid
    assert process.context.trace_id != receive.context.trace_id  # the worker's own trace
    assert process.status.status_code is StatusCode.ERROR  # a callback failed: retried
    children = sorted(
        (s for s in every if s.parent is not None and s.parent.span_id == process.context.span_id),
        key=lambda s: s.start_time or 0,
    )
    assert [s.name for s in children] == [
        "connect_mw.callback",  # works (transition)
        "connect_mw.callback",  # fails (event)
        "connect_mw.on_error",
        "connect_mw.callback",  # also_works (any)
    ]
    names = [str(dict(s.attributes or {})["connect_mw.callback"]) for s in children]
    assert [n.rsplit(".", 1)[-1] for n in names] == ["works", "fails", "told", "also_works"]
    assert {dict(s.attributes or {})["connect_mw.correlation_id"] for s in children} == {cid}
    assert children[1].status.status_code is StatusCode.ERROR
    assert children[0].status.status_code is not StatusCode.ERROR
    # a span a callback starts is the child of its callback span
    for mine, parent in (("myapp.plain", children[0]), ("myapp.async", children[3])):
        span = next(s for s in every if s.name == mine)
        assert span.parent is not None and span.parent.span_id == parent.context.span_id


def test_one_span_per_callback_attempt_in_a_thread(spans: InMemorySpanExporter) -> None:
    receiver = _receiver()
    receiver.handle(signed_request(sim_body(status="completed")))
    receiver.worker().run_once()
    _check_processing(spans)


def test_one_span_per_callback_attempt_on_the_event_loop(spans: InMemorySpanExporter) -> None:
    receiver = _receiver()

    async def main() -> None:
        await receiver.ahandle(signed_request(sim_body(status="completed")))
        await receiver.worker().arun_once()

    anyio.run(main)
    _check_processing(spans)


def test_without_opentelemetry_nothing_is_imported() -> None:
    code = """
import sys
sys.modules["opentelemetry"] = None  # as if not installed
from connect_mw import Receiver, tracing
from connect_mw.http import Request
assert tracing.start_span("x") is tracing.NO_SPAN
receiver = Receiver(allow_unauthenticated=True, store="memory://")
request = Request("POST", "/docusign/connect", {"content-type": "application/json"}, b"{}")
answer = receiver.handle(request)
assert answer.status == 200, answer
assert not [m for m in sys.modules if m.startswith("opentelemetry") and sys.modules[m] is not None]
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr


def test_installed_but_no_provider_creates_nothing() -> None:
    """Until the application sets a tracer provider, no span object is even created."""
    code = """
import opentelemetry.trace
from connect_mw import tracing
assert tracing.start_span("x") is tracing.NO_SPAN
from opentelemetry.sdk.trace import TracerProvider
opentelemetry.trace.set_tracer_provider(TracerProvider())
assert tracing.start_span("x") is not tracing.NO_SPAN
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
