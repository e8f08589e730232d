"""The delivery's correlation id reaches the log records a callback writes itself."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import anyio
import pytest

from connect_mw import Delivery, Receiver
from connect_mw.correlation import CorrelationFilter, correlation_id, current_correlation_id
from support.deliveries import KEY, signed_request, sim_body

user_log = logging.getLogger("myapp.hooks")


class Keep(logging.Handler):
    """A user's handler with the correlation filter installed."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(CorrelationFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def handler() -> Iterator[Keep]:
    keep = Keep()
    user_log.addHandler(keep)
    user_log.setLevel(logging.INFO)
    yield keep
    user_log.removeHandler(keep)


def test_correlation_id_is_the_keys_hash() -> None:
    assert correlation_id("sim:abc") == correlation_id("sim:abc")
    assert len(correlation_id("sim:abc")) == 16
    assert correlation_id("sim:abc") != correlation_id("sim:abd")


def _receiver() -> Receiver:
    receiver = Receiver(hmac_keys=KEY, store="memory://")

    @receiver.on_envelope_completed
    def plain(delivery: Delivery) -> None:
        user_log.info("plain callback for %s", delivery.envelope_id)

    @receiver.on_any
    async def coroutine(delivery: Delivery) -> None:
        user_log.info("async callback for %s", delivery.envelope_id)

    @receiver.on_error
    def failed(delivery: Delivery, exc: BaseException) -> None:
        user_log.info("on_error")

    @receiver.on("envelope-completed")
    def failing(delivery: Delivery) -> None:
        raise RuntimeError("boom")

    return receiver


def _check(handler: Keep, key: str) -> None:
    messages = sorted(r.getMessage().split(" for ")[0] for r in handler.records)
    assert messages == ["async callback", "on_error", "plain callback"]
    assert {r.__dict__["correlation_id"] for r in handler.records} == {correlation_id(key)}


def test_in_a_thread_worker(handler: Keep) -> None:
    receiver = _receiver()
    key = json.loads(receiver.handle(signed_request(sim_body(status="completed"))).body)["key"]
    assert current_correlation_id() is None
    receiver.worker().run_once()
    _check(handler, key)
    assert current_correlation_id() is None  # reset after the callbacks


def test_on_the_event_loop(handler: Keep) -> None:
    receiver = _receiver()

    async def main() -> str:
        response = await receiver.ahandle(signed_request(sim_body(status="completed")))
        await receiver.worker().arun_once()
        return str(json.loads(response.body)["key"])

    key = anyio.run(main)
    _check(handler, key)


def test_outside_a_delivery_the_filter_writes_a_dash(handler: Keep) -> None:
    user_log.info("not in a callback")
    assert handler.records[0].__dict__["correlation_id"] == "-"
