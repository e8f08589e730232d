"""States stored by the first codec (``json.dumps`` of a hand-built dict) still load, equal.

``fixtures/state_v1.json`` holds :func:`~connect_mw.stores.codec.dump_state` output of the
states :func:`v1_states` builds, written by that codec before it was replaced. A store keeps
such text until the envelope's next commit rewrites it, so reading it is an upgrade on read.

``fixtures/state_v2.json`` holds today's layout of the same states, as the msgspec codec
wrote them while the model was frozen dataclasses: the model's Structs write the same text.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from connect_mw.model import (
    EnvelopeState,
    EnvelopeStatus,
    Observation,
    RecipientState,
    RecipientStatus,
)
from connect_mw.stores.codec import dump_state, load_state

FIXTURE = Path(__file__).parent / "fixtures" / "state_v1.json"
FIXTURE_V2 = Path(__file__).parent / "fixtures" / "state_v2.json"
T0 = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=timezone.utc)
BERLIN = timezone(timedelta(hours=1))


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def signer(i: int, status: str = "completed", **fields: object) -> RecipientState:
    """A recipient that went created → sent → delivered → ``status``."""
    steps = ["created", "sent", "delivered", status]
    values: dict[str, object] = {
        "recipient_type": "signer",
        "email": f"signer{i}@example.com",
        "name": f"Signer {i}",
        "routing_order": 1 + i % 3,
        "status": RecipientStatus(status),
        "status_at": at(3 + i),
        "reached": frozenset(steps),
        "last_seen_at": at(4 + i),
        "identity_at": at(1),
        "timeline": tuple(Observation(at(k + i), s) for k, s in enumerate(steps)),
        "recipient_id_guid": f"6c2a0f1e-0000-4000-8000-{i:012d}",
    }
    values.update(fields)
    return RecipientState(str(i), **values)  # type: ignore[arg-type]


def v1_states() -> dict[str, EnvelopeState]:
    """The states whose first-codec text the fixture holds."""
    many = tuple(signer(i) for i in range(1, 51))
    return {
        "bare": EnvelopeState("env-bare"),
        "sent": EnvelopeState(
            "env-sent",
            account_id="acct-1",
            status=EnvelopeStatus.SENT,
            status_at=at(0),
            updated_at=at(0),
            subject="Contract",
            reached=frozenset({"created", "sent"}),
            recipients=(signer(1, "sent"), RecipientState("2", recipient_type="carbon_copy")),
            event_count=1,
            timeline=(Observation(at(0), "sent"),),
        ),
        "many_recipients": EnvelopeState(
            "env-many",
            account_id="acct-1",
            status=EnvelopeStatus.COMPLETED,
            status_at=at(300),
            updated_at=at(300),
            subject="Fifty signers",
            reached=frozenset({"sent", "delivered", "completed"}),
            recipients=many,
            event_count=101,
            timeline=(
                Observation(at(0), "sent"),
                Observation(at(1), "delivered"),
                Observation(at(300), "completed"),
            ),
            roster=frozenset(r.recipient_id for r in many)
            | frozenset(str(r.recipient_id_guid) for r in many),
            roster_at=at(2),
        ),
        "removed_and_corrected": EnvelopeState(
            "env-corrected",
            account_id="acct-2",
            status=EnvelopeStatus.SENT,
            status_at=at(10).astimezone(BERLIN),  # stored as UTC, equal as a moment
            updated_at=at(10),
            reached=frozenset({"sent", "correct"}),
            recipients=(
                signer(1, "delivered"),
                signer(2, "sent", removed_at=at(9), routing_order=None),
                RecipientState("3", status=RecipientStatus("faxpending"), removed_at=at(9)),
            ),
            event_count=4,
            timeline=(
                Observation(at(0), "sent"),
                Observation(at(5), "correct"),
                Observation(at(10), "sent"),
                Observation(None, "sent"),
            ),
            roster=frozenset({"1", "2"}),
            roster_at=at(9),
        ),
        "voided_text": EnvelopeState(
            "env-voided",
            status=EnvelopeStatus.VOIDED,
            status_at=at(20),
            updated_at=at(20),
            subject='Tab\there, newline\nthere, "quotes", back\\slash, NUL\x00, bell\x07',
            void_reason="Ersetzt durch Vertrag Nr. 2 — bitte erneut unterschreiben ✓",
            decline_reason="拒否しました 🙅",
            reached=frozenset({"sent", "voided"}),
            recipients=(
                signer(1, "declined", email="zoë@exämple.com", name="Zoë Ørsted\t(legal)"),
            ),
            event_count=2,
        ),
        "unknown_statuses": EnvelopeState(
            "env-new",
            status=EnvelopeStatus("authoritativecopy"),
            reached=frozenset({"authoritativecopy"}),
            recipients=(RecipientState("1", status=RecipientStatus("waitingforothers")),),
            event_count=1,
        ),
    }


@pytest.fixture(scope="module")
def stored() -> dict[str, str]:
    texts: dict[str, str] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return texts


@pytest.mark.parametrize("name", sorted(v1_states()))
def test_a_first_codec_state_loads_equal(stored: dict[str, str], name: str) -> None:
    assert load_state(stored[name]) == v1_states()[name]


@pytest.mark.parametrize("name", sorted(v1_states()))
def test_a_loaded_first_codec_state_is_written_back_the_same(
    stored: dict[str, str], name: str
) -> None:
    state = load_state(stored[name])
    assert load_state(dump_state(state)) == state


def test_the_fixture_is_the_first_codec_layout(stored: dict[str, str]) -> None:
    recipient = json.loads(stored["sent"])["recipients"][0]
    assert {"id", "type", "guid"} <= recipient.keys()
    assert json.loads(stored["sent"])["timeline"] == [["2026-01-05T09:00:00.123456Z", "sent"]]


@pytest.mark.parametrize("name", sorted(v1_states()))
def test_a_state_writes_the_text_the_dataclass_model_wrote(name: str) -> None:
    stored: dict[str, str] = json.loads(FIXTURE_V2.read_text(encoding="utf-8"))
    assert dump_state(v1_states()[name]) == stored[name]
    assert load_state(stored[name]) == v1_states()[name]
