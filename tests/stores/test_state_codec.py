"""The stored state format: today's fields round-trip, and states stored before still load."""

from __future__ import annotations

from datetime import timedelta

from connect_mw.state import fold
from connect_mw.stores.codec import dump_state, load_state
from connect_mw.testing import notification, recipient
from connect_mw.testing.builders import BASE_TIME

#: A state written by connect-mw before timelines, rosters and removals were stored (the
#: output of ``dump_state`` at that version for a sent-then-delivered envelope).
BEFORE_TIMELINES = (
    '{"envelope_id":"env-1","account_id":"acct-1","status":"delivered",'
    '"status_at":"2026-01-05T09:05:00.000000Z","updated_at":"2026-01-05T09:05:00.000000Z",'
    '"subject":"Contract","void_reason":null,"decline_reason":null,'
    '"reached":["delivered","sent"],"recipients":[{"id":"1","type":"signer",'
    '"email":"a@example.com","name":"A","routing_order":1,"status":"delivered",'
    '"status_at":"2026-01-05T09:05:00.000000Z","reached":["delivered","sent"]},'
    '{"id":"2","type":"carbon_copy","email":"c@example.com","name":null,'
    '"routing_order":null,"status":"created","status_at":"2026-01-05T09:00:00.000000Z",'
    '"reached":["created"]}],"event_count":2}'
)


def minute(i: int) -> timedelta:
    return timedelta(minutes=i)


def test_a_state_stored_before_timelines_loads() -> None:
    state = load_state(BEFORE_TIMELINES)
    assert (state.status, state.status_at) == ("delivered", BASE_TIME + minute(5))
    assert state.reached == {"sent", "delivered"} and state.event_count == 2
    assert state.timeline == () and state.roster is None and state.roster_at is None
    signer = state.recipient("1")
    assert signer is not None and signer.email == "a@example.com"
    assert (signer.removed_at, signer.last_seen_at, signer.timeline) == (None, None, ())


def test_folding_onto_an_old_state_fires_only_what_is_new() -> None:
    state = load_state(BEFORE_TIMELINES)
    duplicate_ish = notification("env-1", "delivered", at=BASE_TIME + minute(5))
    assert fold(state, duplicate_ish).transitions == ()
    older = notification("env-1", "sent", at=BASE_TIME, recipients=(recipient("1", "sent"),))
    assert fold(state, older).transitions == ()
    completed = notification(
        "env-1",
        "completed",
        at=BASE_TIME + minute(9),
        recipients=(recipient("1", "completed"),),
    )
    names = [(t.name, t.recipient_id) for t in fold(state, completed).transitions]
    assert names == [("envelope-completed", None), ("recipient-completed", "1")]


def test_timelines_rosters_and_removals_round_trip() -> None:
    first = notification(
        "env-1",
        "sent",
        at=BASE_TIME,
        recipients=(recipient("1", "sent", email="a@example.com"), recipient("2", "sent")),
        full_recipient_list=True,
    )
    corrected = notification(
        "env-1",
        "sent",
        at=BASE_TIME + minute(3),
        recipients=(recipient("1", "delivered", email="a@example.com"),),
        full_recipient_list=True,
    )
    state = fold(fold(None, first).state, corrected).state
    removed = state.recipient("2")
    assert removed is not None and removed.removed
    assert state.timeline and state.roster == frozenset({"1"})
    text = dump_state(state)
    assert load_state(text) == state
    assert dump_state(load_state(text)) == text
