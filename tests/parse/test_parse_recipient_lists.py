"""Which messages carry the full recipient list, and the XML ``TimedOut`` time."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from connect_mw.model import EnvelopeStatus
from connect_mw.parse import parse
from support.deliveries import sim_body
from support.payloads import fixture_bytes

XML = "xml_sent_single_line.xml"


def xml_variant(old: str, new: str) -> bytes:
    text = fixture_bytes(XML).decode("utf-8")
    assert text.count(old) == 1
    return text.replace(old, new).encode("utf-8")


def test_xml_recipient_statuses_is_the_full_list() -> None:
    n = parse(fixture_bytes(XML), "text/xml")
    assert n.full_recipient_list and len(n.recipients) == 2


def test_xml_without_recipient_statuses_is_not_a_full_list() -> None:
    text = fixture_bytes(XML).decode("utf-8")
    start, end = text.index("<RecipientStatuses>"), text.index("</RecipientStatuses>")
    body = (text[:start] + text[end + len("</RecipientStatuses>") :]).encode("utf-8")
    n = parse(body, "text/xml")
    assert not n.full_recipient_list and n.recipients == ()


def test_xml_empty_recipient_statuses_says_there_are_none() -> None:
    text = fixture_bytes(XML).decode("utf-8")
    start, end = text.index("<RecipientStatuses>"), text.index("</RecipientStatuses>")
    body = (text[:start] + "<RecipientStatuses />" + text[end + 20 :]).encode("utf-8")
    n = parse(body, "text/xml")
    assert n.full_recipient_list and n.recipients == ()


def test_xml_timed_out_is_read() -> None:
    body = xml_variant(
        "<Status>Sent</Status><Created>",
        "<Status>TimedOut</Status><TimedOut>2024-04-04T00:00:01</TimedOut><Created>",
    )
    n = parse(body, "text/xml")
    assert n.status == EnvelopeStatus.TIMEDOUT and n.event == "envelope-timedout"
    assert n.times.timed_out == datetime(2024, 4, 4, 0, 0, 1, tzinfo=timezone.utc)


def test_json_summary_with_recipients_is_the_full_list() -> None:
    for name in ("sim_envelope_completed_full.json", "aggregate_envelope.json"):
        n = parse(fixture_bytes(name), "application/json")
        assert n.full_recipient_list, name


def test_minimal_sim_recipient_event_is_not_a_full_list() -> None:
    n = parse(fixture_bytes("sim_recipient_sent_minimal.json"), "application/json")
    assert len(n.recipients) == 1 and not n.full_recipient_list


def test_summary_without_recipients_is_not_a_full_list() -> None:
    n = parse(sim_body("envelope-sent", status="sent"), "application/json")
    assert n.status == "sent" and not n.full_recipient_list


def test_summary_with_empty_recipient_lists_says_there_are_none() -> None:
    summary = {"status": "sent", "recipients": {"signers": [], "recipientCount": "0"}}
    body = sim_body("envelope-sent", summary=summary)
    n = parse(body, "application/json")
    assert n.full_recipient_list and n.recipients == ()
    assert json.loads(body)["data"]["envelopeSummary"]["recipients"]["signers"] == []
