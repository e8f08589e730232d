"""Reconciliation against the fake, with a dict-backed recorder that folds like the core."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from connect_mw.errors import ConfigurationError
from connect_mw.model import PayloadFormat
from connect_mw.parse.json import parse_json
from connect_mw.parse.lenient import Leniency
from connect_mw.rest import AsyncESignClient, DocuSignSettings
from connect_mw.rest.reconcile import (
    WATERMARK,
    NoWatermark,
    ReconcileReport,
    find_stuck,
    marker_value,
    reconcile,
    stuck_envelopes,
)

from .conftest import Sleeps
from .fake_data import ACCOUNT_ID, T0, JSONObject, ds_time, envelope_id, make_envelope
from .fake_esign import FakeESign
from .recorder import Crash, DictRecorder, DictWatermarks

STATUSES = ["sent", "delivered", "completed", "declined", "voided"]


def _ten_minutes_apart(fake: FakeESign) -> list[datetime]:
    """Envelopes 1..5, changed ten minutes apart, the last ten minutes ago."""
    times = [fake.now() - timedelta(minutes=10 * (6 - n)) for n in range(1, 6)]
    fake.add(*(make_envelope(n, STATUSES[n - 1], times[n - 1]) for n in range(1, 6)))
    return times


def _run(
    settings: DocuSignSettings, recorder: DictRecorder, watermarks: DictWatermarks, **options: Any
) -> ReconcileReport:
    async def main() -> ReconcileReport:
        async with AsyncESignClient(settings, sleep=Sleeps().asleep) as client:
            return await reconcile(client, recorder, watermarks, **{"page_size": 2, **options})

    return asyncio.run(main())


def _names(report: ReconcileReport, envelope: str) -> list[str]:
    return [
        t.name for t in report.transitions if t.envelope_id == envelope and t.recipient_id is None
    ]


def test_the_first_run_needs_a_start(fake: FakeESign, settings: DocuSignSettings) -> None:
    with pytest.raises(NoWatermark, match="give the first run a start"):
        _run(settings, DictRecorder(), DictWatermarks())
    assert isinstance(NoWatermark("x"), ConfigurationError)
    assert fake.api_calls() == []


def test_a_run_records_every_change_and_moves_the_watermark_page_by_page(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    times = _ten_minutes_apart(fake)
    recorder, watermarks = DictRecorder(), DictWatermarks()
    until = fake.now()
    report = _run(settings, recorder, watermarks, since=times[0] - timedelta(hours=1), until=until)
    assert (report.found, report.new, report.duplicates, report.pages) == (5, 5, 0, 3)
    assert report.envelopes == tuple(envelope_id(n) for n in range(1, 6))
    assert _names(report, envelope_id(3))[-1] == "envelope-completed"
    assert _names(report, envelope_id(4))[-1] == "envelope-declined"
    written = [value for _, value in watermarks.writes]
    assert written == [marker_value(times[1]), marker_value(times[3]), marker_value(until)]
    assert report.watermark == watermarks.values[WATERMARK] == marker_value(until)
    assert {n.format for n in recorder.events.values()} == {PayloadFormat.REST_POLL}
    assert {n.account_id for n in recorder.events.values()} == {ACCOUNT_ID}
    assert all(json.loads(raw)["envelopeId"] for raw in recorder.raws.values())


def test_the_next_run_resumes_from_the_watermark_and_fires_only_what_is_new(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    times = _ten_minutes_apart(fake)
    recorder, watermarks = DictRecorder(), DictWatermarks()
    _run(settings, recorder, watermarks, since=times[0] - timedelta(minutes=1))
    stored = datetime.fromisoformat(watermarks.values[WATERMARK])
    fake.add(make_envelope(6, "sent", fake.now()))
    fake.add(make_envelope(5, "voided", stored - timedelta(minutes=2)))  # in the overlap
    fired_before = len(recorder.fired)
    report = _run(settings, recorder, watermarks)
    assert report.since == stored - timedelta(minutes=5)
    assert set(report.envelopes) == {envelope_id(5), envelope_id(6)}
    assert (report.new, report.duplicates) == (2, 0)  # envelope 5 changed time: a new event
    assert _names(report, envelope_id(5)) == []  # ...but nothing it reached is new
    assert _names(report, envelope_id(6)) == ["envelope-created", "envelope-sent"]
    assert len(recorder.fired) == fired_before + len(report.transitions)
    again = _run(settings, recorder, watermarks, since=report.since)
    assert (again.new, again.duplicates, again.transitions) == (0, 2, ())


def _connect_message(envelope: JSONObject) -> bytes:
    return json.dumps(
        {
            "event": f"envelope-{envelope['status']}",
            "apiVersion": "v2.1",
            "uri": f"/restapi/v2.1/accounts/{ACCOUNT_ID}/envelopes/{envelope['envelopeId']}",
            "retryCount": 0,
            "configurationId": 1234,
            "generatedDateTime": envelope["statusChangedDateTime"],
            "data": {
                "accountId": ACCOUNT_ID,
                "envelopeId": envelope["envelopeId"],
                "envelopeSummary": envelope,
            },
        }
    ).encode()


def test_what_connect_delivered_fires_nothing_and_what_it_missed_is_recovered(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    times = _ten_minutes_apart(fake)
    recorder, watermarks = DictRecorder(), DictWatermarks()
    for number in (1, 3):  # Connect delivered envelopes 1 and 3; 2, 4 and 5 were lost
        body = _connect_message(fake.envelopes[envelope_id(number)])
        assert recorder.record(parse_json(body, len(body), Leniency()), body).inserted
    report = _run(settings, recorder, watermarks, since=times[0] - timedelta(minutes=1))
    assert _names(report, envelope_id(1)) == [] and _names(report, envelope_id(3)) == []
    assert [
        t for t in report.transitions if t.envelope_id in (envelope_id(1), envelope_id(3))
    ] == []
    for number in (2, 4, 5):
        assert _names(report, envelope_id(number))[-1] == f"envelope-{STATUSES[number - 1]}"
    assert len(recorder.fired) == len(set(recorder.fired))  # no transition fired twice


def test_a_crash_mid_run_repeats_work_and_skips_nothing(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    times = _ten_minutes_apart(fake)
    recorder, watermarks = DictRecorder(crash_on=4), DictWatermarks()
    with pytest.raises(Crash):  # page 1 (envelopes 1, 2) committed; crash on envelope 4
        _run(settings, recorder, watermarks, since=times[0] - timedelta(minutes=1))
    assert watermarks.values == {WATERMARK: marker_value(times[1])}
    assert set(recorder.states) == {envelope_id(n) for n in (1, 2, 3)}
    recorder.crash_on = None
    report = _run(settings, recorder, watermarks)
    assert report.since == times[1] - timedelta(minutes=5)
    assert report.envelopes == tuple(envelope_id(n) for n in (2, 3, 4, 5))
    assert (report.new, report.duplicates) == (2, 2)
    assert set(recorder.states) == {envelope_id(n) for n in range(1, 6)}
    assert Counter(recorder.fired).most_common(1)[0][1] == 1
    finals = {(e, name) for e, name in recorder.fired if name.startswith("envelope-")}
    assert {(envelope_id(n), f"envelope-{STATUSES[n - 1]}") for n in range(1, 6)} <= finals


def test_a_dry_run_records_and_moves_nothing(fake: FakeESign, settings: DocuSignSettings) -> None:
    times = _ten_minutes_apart(fake)
    recorder, watermarks = DictRecorder(), DictWatermarks()
    report = _run(settings, recorder, watermarks, since=times[0], dry_run=True)
    assert (report.found, report.new, report.dry_run, report.watermark) == (5, 0, True, None)
    assert (recorder.calls, watermarks.writes) == (0, [])


def test_an_unreadable_envelope_is_reported_and_the_rest_recorded(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    times = _ten_minutes_apart(fake)
    del fake.envelopes[envelope_id(2)]["status"]
    recorder = DictRecorder()
    report = _run(settings, recorder, DictWatermarks(), since=times[0])
    assert report.unreadable == (
        f"{envelope_id(2)}: JSON: envelope {envelope_id(2)} has no status",
    )
    assert report.found == 4 and recorder.calls == 4


def test_envelopes_leaving_the_window_mid_run_are_not_skipped(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    times = _ten_minutes_apart(fake)
    until = fake.now()

    def envelope_1_changes_again(start: int) -> None:
        if start == 2:
            fake.envelopes[envelope_id(1)]["statusChangedDateTime"] = ds_time(
                until + timedelta(minutes=1)
            )

    fake.before_page = envelope_1_changes_again
    recorder, watermarks = DictRecorder(), DictWatermarks()
    report = _run(settings, recorder, watermarks, since=times[0], until=until)
    assert set(recorder.states) == {envelope_id(n) for n in range(1, 6)}
    assert report.pages == 4  # start positions 0, 2, then 1 again (step back), 3
    # page 2 (envelopes 4, 5) moves no watermark: envelope 3, before it, is not recorded yet
    written = [value for _, value in watermarks.writes]
    assert written == [marker_value(times[1]), marker_value(times[3]), marker_value(until)]


@pytest.mark.parametrize("page_size", [1, 2])
def test_a_server_ignoring_the_order_moves_the_watermark_only_at_the_end(
    fake: FakeESign, settings: DocuSignSettings, page_size: int
) -> None:
    times = _ten_minutes_apart(fake)
    fake.ignore_order = True  # newest first: one-envelope pages look ordered, their sequence not
    watermarks = DictWatermarks()
    until = fake.now()
    report = _run(
        settings, DictRecorder(), watermarks, since=times[0], until=until, page_size=page_size
    )
    assert report.found == 5
    assert watermarks.writes == [(WATERMARK, marker_value(until))]


def test_an_older_window_never_moves_the_watermark_back(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    times = _ten_minutes_apart(fake)
    later = marker_value(fake.now() + timedelta(days=1))
    watermarks = DictWatermarks({WATERMARK: later})
    report = _run(settings, DictRecorder(), watermarks, since=times[0], until=fake.now())
    assert (report.found, report.new, report.watermark) == (5, 5, later)
    assert watermarks.writes == []


def test_bad_windows_and_watermarks(fake: FakeESign, settings: DocuSignSettings) -> None:
    with pytest.raises(ValueError, match="not before until"):
        _run(settings, DictRecorder(), DictWatermarks(), since=T0, until=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        _run(settings, DictRecorder(), DictWatermarks(), since=datetime(2024, 5, 1))
    broken = DictWatermarks({WATERMARK: "yesterday"})
    with pytest.raises(ConfigurationError, match="not a timestamp: 'yesterday'"):
        _run(settings, DictRecorder(), broken)


def _stuck_fixture(fake: FakeESign) -> datetime:
    now = fake.now()
    ten_days = now - timedelta(days=10)
    moved = make_envelope(2, "delivered", ten_days)
    moved["recipients"]["signers"][0]["signedDateTime"] = ds_time(now - timedelta(days=1))
    fake.add(
        make_envelope(1, "sent", ten_days),
        moved,
        make_envelope(3, "completed", ten_days),
        make_envelope(4, "sent", now - timedelta(days=1)),
        make_envelope(5, "delivered", now - timedelta(days=30)),
    )
    return now


def test_find_stuck_uses_recipient_activity(fake: FakeESign) -> None:
    now = _stuck_fixture(fake)
    stuck = find_stuck(fake.envelopes.values(), now, timedelta(days=7))
    assert [s.envelope_id for s in stuck] == [envelope_id(5), envelope_id(1)]  # longest idle first
    assert stuck[1].status == "sent" and stuck[1].waiting_on == ("bob@example.com",)
    assert timedelta(days=10) <= stuck[1].idle < timedelta(days=10, hours=1)


def test_stuck_envelopes_asks_docusign(fake: FakeESign, settings: DocuSignSettings) -> None:
    now = _stuck_fixture(fake)

    async def main() -> list[str]:
        async with AsyncESignClient(settings) as client:
            stuck = await stuck_envelopes(client, timedelta(days=7), now=now)
        return [s.envelope_id for s in stuck]

    assert asyncio.run(main()) == [envelope_id(5), envelope_id(1)]
    query = fake.api_calls("/envelopes")[0].query
    assert query["status"] == "sent,delivered" and query["include"] == "recipients"
    assert query["to_date"].startswith(ds_time(now - timedelta(days=7))[:16])
