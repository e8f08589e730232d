"""Activity lines, their structured fields and the JSON formatter, in process."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from connect_mw import Receiver
from connect_mw.correlation import correlation_id
from connect_mw.logs import FIELDS, JsonFormatter, ensure_visible
from connect_mw.processing import RetryPolicy
from support.deliveries import KEY, signed_request, sim_body


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """The records of the test's call phase (``caplog.records`` is per phase)."""
    caplog.set_level(logging.INFO, logger="connect_mw")
    kept: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    handler = Keep()
    logging.getLogger("connect_mw").addHandler(handler)
    yield kept
    logging.getLogger("connect_mw").removeHandler(handler)


def _one(records: list[logging.LogRecord], prefix: str) -> logging.LogRecord:
    found = [r for r in records if r.name == "connect_mw" and r.getMessage().startswith(prefix)]
    assert len(found) == 1, [r.getMessage() for r in records]
    return found[0]


def test_received_line_carries_the_stable_fields(records: list[logging.LogRecord]) -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    body = sim_body("envelope-completed", status="completed")
    assert receiver.handle(signed_request(body)).status == 200
    record = _one(records, "received new")
    fields = record.__dict__
    assert fields["outcome"] == "new"
    assert fields["status"] == 200
    assert fields["envelope_id"] == "e8b18544-c605-4499-abcf-52209a7f4438"
    assert fields["event"] == "envelope-completed"
    assert fields["envelope_status"] == "completed"
    assert fields["correlation_id"] == correlation_id(fields["key"])
    assert fields["duration_ms"] >= 0
    assert f"correlation={fields['correlation_id']}" in record.getMessage()
    assert "subject_id" not in fields  # only for events about no envelope


def test_received_line_of_an_event_about_no_envelope_names_its_subject(
    records: list[logging.LogRecord],
) -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    clickwrap = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    body = json.dumps(
        {
            "event": "click-agreed",
            "apiVersion": "v2.1",
            "generatedDateTime": "2026-12-05T08:00:00.0000000Z",
            "data": {"clickwrapId": clickwrap, "agreementId": "ag-1"},
        }
    ).encode()
    assert receiver.handle(signed_request(body)).status == 200
    record = _one(records, "received new")
    assert record.__dict__["subject_id"] == clickwrap
    assert f"subject={clickwrap} event=click-agreed" in record.getMessage()
    assert "envelope=" not in record.getMessage()


@pytest.mark.parametrize(
    ("attempts", "prefix", "level"), [(2, "retrying", "WARNING"), (1, "dead", "ERROR")]
)
def test_worker_lines_retrying_and_dead(
    records: list[logging.LogRecord], attempts: int, prefix: str, level: str
) -> None:
    receiver = Receiver(
        hmac_keys=KEY, store="memory://", retry=RetryPolicy(max_attempts=attempts, jitter=0)
    )

    @receiver.on_envelope_completed
    def completed(delivery: object) -> None:
        raise RuntimeError("boom")

    receiver.handle(signed_request(sim_body(status="completed")))
    receiver.worker(name="w1").run_once()
    record = _one(records, prefix)
    assert record.levelname == level
    fields = record.__dict__
    assert fields["outcome"] == ("failed" if prefix == "retrying" else "dead")
    assert fields["worker"] == "w1"
    assert (fields["retry_at"] is not None) == (prefix == "retrying")
    assert fields["event"] == "envelope-completed"
    # the failing callback's line carries the same correlation id
    failure = _one(records, "callback")
    assert failure.__dict__["correlation_id"] == correlation_id(fields["key"])


def test_processed_line(records: list[logging.LogRecord]) -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    receiver.on_envelope_completed(lambda delivery: None)
    receiver.handle(signed_request(sim_body(status="completed")))
    receiver.worker().run_once()
    record = _one(records, "processed")
    assert record.__dict__["outcome"] == "processed"
    assert record.__dict__["event"] == "envelope-completed"
    assert record.__dict__["duration_ms"] >= 0
    assert record.__dict__["attempt"] == 1


def test_rejection_line_has_outcome_and_status(records: list[logging.LogRecord]) -> None:
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    assert receiver.handle(signed_request(sim_body(), key="wrong")).status == 401
    record = _one(records, "rejected 401")
    assert (record.__dict__["outcome"], record.__dict__["status"]) == ("rejected", 401)


def test_json_formatter_writes_stable_fields_and_redacts() -> None:
    record = logging.LogRecord(
        "connect_mw", logging.INFO, __file__, 1, "store %s", ("redis://:S3cretPW@db:6379/0",), None
    )
    record.__dict__.update(envelope_id="e-1", outcome="new", status=200, duration_ms=1.5)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "store redis://:***@db:6379/0"
    assert {k: entry[k] for k in ("envelope_id", "outcome", "status", "duration_ms")} == {
        "envelope_id": "e-1",
        "outcome": "new",
        "status": 200,
        "duration_ms": 1.5,
    }
    assert entry["level"] == "INFO" and entry["logger"] == "connect_mw"
    assert entry["time"].endswith("+00:00")
    assert "S3cretPW" not in json.dumps(entry)
    assert set(entry) <= {"time", "level", "logger", "message", "exception", *FIELDS}


def test_json_formatter_redacts_tracebacks() -> None:
    try:
        raise ConnectionError("cannot reach postgresql://app:S3cretPW@db/events")
    except ConnectionError:
        import sys

        record = logging.LogRecord(
            "connect_mw", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "ConnectionError" in json.loads(line)["exception"]
    assert "S3cretPW" not in line


def _unconfigured(monkeypatch: pytest.MonkeyPatch) -> logging.Logger:
    """No handler on the root logger (as under uvicorn) nor on connect_mw.

    Called in the test's body: pytest adds its own handlers to the root for each phase.
    """
    logger = logging.getLogger("connect_mw")
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    return logger


def test_fallback_handler_when_nothing_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unconfigured = _unconfigured(monkeypatch)
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    receiver = Receiver(hmac_keys=KEY, store="memory://")
    assert len(unconfigured.handlers) == 1 and unconfigured.level == logging.INFO
    receiver.handle(signed_request(sim_body(status="completed")))
    receiver.handle(signed_request(sim_body(), key="wrong"))
    lines = stderr.getvalue().splitlines()
    assert any(" INFO connect_mw: received new envelope=" in line for line in lines), lines
    assert any(" WARNING connect_mw: rejected 401 " in line for line in lines), lines
    assert lines[0][:4].isdigit()  # starts with the time
    # A second receiver adds no second handler.
    Receiver(hmac_keys=KEY, store="memory://")
    assert len(unconfigured.handlers) == 1


def test_fallback_steps_aside_once_logging_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unconfigured = _unconfigured(monkeypatch)
    fallback_out = io.StringIO()
    monkeypatch.setattr("sys.stderr", fallback_out)
    assert ensure_visible()
    configured = io.StringIO()
    logging.root.handlers.append(logging.StreamHandler(configured))
    unconfigured.info("after basicConfig")
    assert unconfigured.handlers == []
    assert unconfigured.level == logging.NOTSET
    assert fallback_out.getvalue() == ""
    assert "after basicConfig" in configured.getvalue()  # shown once, by the root's handler


def test_no_fallback_when_connect_mw_has_a_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    unconfigured = _unconfigured(monkeypatch)
    mine = logging.NullHandler()
    unconfigured.addHandler(mine)
    assert not ensure_visible()
    assert unconfigured.handlers == [mine]
