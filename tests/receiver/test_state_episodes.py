"""Folding by DocuSign's timeline: episodes re-fire after a step back, removals, sealing.

A transition fires once per *episode* — each time the envelope or a recipient newly enters
a status by DocuSign's own times — whatever order the messages come in; a duplicate fires
nothing. Corrections and fixed bounces step back and fire again; a newer full recipient
list marks the recipients it omits removed.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from connect_mw.model import EnvelopeState, EnvelopeTimes, Notification, Recipient, Transition
from connect_mw.state import RUN_POINTS, fold
from connect_mw.testing import notification, recipient
from connect_mw.testing.builders import BASE_TIME

#: Envelope lifecycles with a correction after delivery (delivered → sent → delivered).
ENVELOPE_LIFECYCLES = {
    "corrected": ["created", "sent", "delivered", "sent", "delivered", "completed"],
    "corrected-twice": ["sent", "delivered", "sent", "sent", "delivered", "sent", "voided"],
    "deleted": ["sent", "delivered", "completed", "deleted"],
    "expired": ["sent", "timedout", "voided"],
}


def minute(i: int) -> datetime:
    return BASE_TIME + timedelta(minutes=i)


def episodes(statuses: list[str]) -> Counter[str]:
    """How many times each status is newly entered along ``statuses``."""
    counts: Counter[str] = Counter()
    for i, status in enumerate(statuses):
        if i == 0 or statuses[i - 1] != status:
            counts[status] += 1
    return counts


def entered_times(statuses: list[str], step: int) -> dict[str, datetime]:
    """Each status' latest entry time up to ``step``, as DocuSign's ``…DateTime`` fields."""
    times: dict[str, datetime] = {}
    for i, status in enumerate(statuses[: step + 1]):
        if i == 0 or statuses[i - 1] != status:
            times["timed_out" if status == "timedout" else status] = minute(i)
    return times


def snapshot(statuses: list[str], step: int) -> Notification:
    """A full message: current status, generated 30 s after the change, every entry time."""
    return notification(
        "env",
        statuses[step],
        at=minute(step) + timedelta(seconds=30),
        times=EnvelopeTimes(**entered_times(statuses, step)),
    )


def minimal(statuses: list[str], step: int) -> Notification:
    """A SIM message without summary: the event's status at its generation time."""
    return notification("env", statuses[step], at=minute(step), times=EnvelopeTimes())


def fold_all(messages: list[Notification]) -> tuple[EnvelopeState, list[Transition]]:
    state: EnvelopeState | None = None
    fired: list[Transition] = []
    for message in messages:
        result = fold(state, message)
        state = result.state
        fired.extend(result.transitions)
    assert state is not None
    return state, fired


@settings(max_examples=200)
@given(
    name=st.sampled_from(sorted(ENVELOPE_LIFECYCLES)),
    build=st.sampled_from([snapshot, minimal]),
    data=st.data(),
)
def test_each_envelope_episode_fires_once_in_any_order(name, build, data) -> None:  # type: ignore[no-untyped-def]
    statuses = ENVELOPE_LIFECYCLES[name]
    messages = [build(statuses, i) for i in range(len(statuses))]
    extra = data.draw(st.lists(st.sampled_from(messages), max_size=4))
    order = data.draw(st.permutations(messages + extra))
    state, fired = fold_all(order)
    in_order, _ = fold_all(messages)
    assert replace(state, event_count=0) == replace(in_order, event_count=0)  # any order
    assert state.event_count == len(order)
    assert state.status == statuses[-1]
    assert Counter(t.status for t in fired) == episodes(statuses)


def recipient_message(statuses: list[str], step: int) -> Notification:
    """A legacy-style message: the envelope still sent, one recipient in its status."""
    status = statuses[step]
    sent = max(i for i in range(step + 1) if statuses[i] == "sent")  # its latest sending
    return notification(
        "env",
        "sent",
        at=minute(step) + timedelta(seconds=30),
        times=EnvelopeTimes(sent=BASE_TIME),
        recipients=(recipient("r1", status, sent_at=minute(sent)),),
    )


@settings(max_examples=150)
@given(
    statuses=st.sampled_from(
        [
            ["sent", "autoresponded", "sent", "delivered", "completed"],  # a fixed bounce
            ["sent", "delivered", "sent", "delivered", "declined"],  # a correction
        ]
    ),
    data=st.data(),
)
def test_each_recipient_episode_fires_once_in_any_order(statuses, data) -> None:  # type: ignore[no-untyped-def]
    messages = [recipient_message(statuses, i) for i in range(len(statuses))]
    extra = data.draw(st.lists(st.sampled_from(messages), max_size=3))
    state, fired = fold_all(data.draw(st.permutations(messages + extra)))
    r1 = state.recipient("r1")
    assert r1 is not None and r1.status == statuses[-1]
    assert Counter(t.status for t in fired if t.kind == "recipient") == episodes(statuses)


def test_a_correction_after_delivery_fires_sent_and_delivered_again() -> None:
    sent = notification("env", "sent", at=minute(0))
    delivered = notification("env", "delivered", at=minute(1))
    corrected = notification("env", "sent", at=minute(2))
    state = fold(fold(None, sent).state, delivered).state
    result = fold(state, corrected)
    assert [t.name for t in result.transitions] == ["envelope-sent"]
    assert not result.stale
    assert (result.state.status, result.state.status_at) == ("sent", minute(2))
    again = fold(result.state, notification("env", "delivered", at=minute(3)))
    assert [t.name for t in again.transitions] == ["envelope-delivered"]


def test_duplicates_and_older_messages_fire_nothing() -> None:
    messages = [snapshot(ENVELOPE_LIFECYCLES["corrected"], i) for i in range(6)]
    state, _ = fold_all(messages)
    for message in messages:
        result = fold(state, message)
        assert result.transitions == ()
        assert result.state.timeline == state.timeline
        assert result.state.status == "completed"


def test_completed_stays_but_may_become_deleted() -> None:
    completed = fold(None, notification("env", "completed", at=minute(0))).state
    later_sent = fold(completed, notification("env", "sent", at=minute(5)))
    assert later_sent.state.status == "completed" and later_sent.transitions == ()
    assert later_sent.stale
    deleted = fold(completed, notification("env", "deleted", at=minute(9)))
    assert deleted.state.status == "deleted"
    assert [t.name for t in deleted.transitions] == ["envelope-deleted"]
    after = fold(deleted.state, notification("env", "completed", at=minute(10)))
    assert after.state.status == "deleted" and after.transitions == ()


def test_timed_out_may_still_be_voided_but_not_sent() -> None:
    expired = fold(None, notification("env", "timedout", at=minute(0))).state
    assert expired.status == "timedout"
    resent = fold(expired, notification("env", "sent", at=minute(1)))
    assert resent.state.status == "timedout" and resent.transitions == ()
    voided = fold(expired, notification("env", "voided", at=minute(2)))
    assert voided.state.status == "voided"
    assert [t.name for t in voided.transitions] == ["envelope-voided"]


def listing(at: datetime, *recipients: Recipient, status: str = "sent") -> Notification:
    """A message carrying the envelope's full recipient list."""
    return notification("env", status, at=at, recipients=recipients, full_recipient_list=True)


def test_a_recipient_the_newer_full_list_omits_is_removed_once() -> None:
    first = listing(minute(0), recipient("1", "sent"), recipient("2", "sent"))
    corrected = listing(minute(5), recipient("1", "delivered"), recipient("3", "sent"))
    state = fold(None, first).state
    result = fold(state, corrected)
    assert ("recipient-removed", "2") in [(t.name, t.recipient_id) for t in result.transitions]
    removed = result.state.recipient("2")
    assert removed is not None and removed.removed and removed.removed_at == minute(5)
    assert removed.status == "sent"  # kept as history
    assert [r.recipient_id for r in result.state.active_recipients] == ["1", "3"]
    again = fold(result.state, listing(minute(6), recipient("1", "completed"), recipient("3")))
    assert "recipient-removed" not in [t.name for t in again.transitions]


def test_an_older_full_list_or_a_minimal_event_removes_nothing() -> None:
    state = fold(None, listing(minute(5), recipient("1", "sent"), recipient("2", "sent"))).state
    older = fold(state, listing(minute(1), recipient("1", "sent")))
    assert not any(r.removed for r in older.state.recipients)
    minimal_event = notification(
        "env",
        None,
        at=minute(7),
        event="recipient-delivered",
        recipients=(recipient("1", "delivered"),),
    )
    assert not any(r.removed for r in fold(state, minimal_event).state.recipients)


def test_a_recipient_seen_after_the_list_is_not_removed() -> None:
    state = fold(None, listing(minute(5), recipient("1", "sent"))).state
    late_add = notification(
        "env", None, at=minute(6), event="recipient-sent", recipients=(recipient("2", "sent"),)
    )
    result = fold(state, late_add)
    r2 = result.state.recipient("2")
    assert r2 is not None and not r2.removed


@given(st.permutations(range(3)))
def test_reassignment_removes_the_original_in_any_order(order: list[int]) -> None:
    """A reassigned signer: DocuSign's newer lists name the new signer, not the original."""
    messages = [
        listing(minute(0), recipient("1", "sent", email="ann@example.com")),
        listing(minute(3), recipient("2", "sent", email="bob@example.com", routing_order=1)),
        listing(
            minute(6), recipient("2", "completed", email="bob@example.com"), status="completed"
        ),
    ]
    state, fired = fold_all([messages[i] for i in order])
    assert [(t.name, t.recipient_id) for t in fired].count(("recipient-removed", "1")) == 1
    assert [r.email for r in state.active_recipients] == ["bob@example.com"]
    original = state.recipient("1")
    assert original is not None and original.removed_at == minute(6)  # the newest list


@given(st.permutations(range(3)))
def test_identity_follows_the_newest_message(order: list[int]) -> None:
    """Reassigned in place (same recipient id): the newest message's identity wins."""
    messages = [
        listing(minute(0), recipient("1", "sent", email="ann@example.com", name="Ann")),
        listing(minute(2), recipient("1", "sent", email="bob@example.com", name="Bob")),
        notification(
            "env",
            None,
            at=minute(4),
            event="recipient-delivered",
            recipients=(recipient("1", "delivered"),),
        ),
    ]
    state, _ = fold_all([messages[i] for i in order])
    r1 = state.recipient("1")
    assert r1 is not None
    assert (r1.email, r1.name, r1.status) == ("bob@example.com", "Bob", "delivered")


def test_a_list_in_the_other_format_names_recipients_by_guid() -> None:
    """XML lists give GUIDs, JSON short ids: the GUID keeps a recipient listed in both."""
    guid = "0b7c9d2e-1f3a-4b5c-8d6e-7f8091a2b3c4"
    json_list = listing(minute(0), recipient("1", "sent", recipient_id_guid=guid))
    xml_list = listing(minute(2), recipient(guid, "delivered", recipient_id_guid=guid))
    for order in ([json_list, xml_list], [xml_list, json_list]):
        state, fired = fold_all(order)
        assert not any(r.removed for r in state.recipients)
        assert "recipient-removed" not in [t.name for t in fired]


def comparable(state: EnvelopeState) -> EnvelopeState:
    """``state`` less what depends on arrival: the event count, the recipients' order."""
    recipients = tuple(sorted(state.recipients, key=lambda r: r.recipient_id))
    return replace(state, event_count=0, recipients=recipients)


#: What a recipient may do next: DocuSign's steps, a correction's step back, a bounce.
NEXT = {
    "created": ["sent"],
    "sent": ["delivered", "autoresponded", "completed", "declined"],
    "delivered": ["completed", "sent"],  # "sent": corrected after delivery
    "autoresponded": ["sent"],  # the sender fixed the address
}


def play(
    choices: list[tuple[int, int]],
) -> tuple[list[Notification], dict[str, list[str]], set[str]]:
    """Run a random envelope: each step moves one recipient, or replaces one (a correction).

    Returns a full-list message per step, each recipient's statuses step by step, and the
    recipients the last list no longer names.
    """
    statuses = {"1": "sent", "2": "sent", "3": "created"}
    entered = {rid: {status: minute(0)} for rid, status in statuses.items()}
    history = {rid: [status] for rid, status in statuses.items()}
    messages = [full_list(0, statuses, entered)]
    next_id = 4
    for step, (who, what) in enumerate(choices, start=1):
        movable = sorted(rid for rid, status in statuses.items() if status in NEXT)
        if not movable:
            break
        rid = movable[who % len(movable)]
        if what % 5 == 4:  # a correction replaces this recipient with a new one
            del statuses[rid]
            new = str(next_id)
            next_id += 1
            statuses[new], entered[new], history[new] = "sent", {"sent": minute(step)}, []
        else:
            options = NEXT[statuses[rid]]
            statuses[rid] = options[what % len(options)]
            entered[rid][statuses[rid]] = minute(step)
        for listed, status in statuses.items():
            history[listed].append(status)
        messages.append(full_list(step, statuses, entered))
    return messages, history, set(history) - set(statuses)


def full_list(
    step: int, statuses: dict[str, str], entered: dict[str, dict[str, datetime]]
) -> Notification:
    recipients = tuple(
        recipient(
            rid,
            status,
            sent_at=entered[rid].get("sent"),
            delivered_at=entered[rid].get("delivered"),
            signed_at=entered[rid].get("completed"),
        )
        for rid, status in sorted(statuses.items())
    )
    return listing(minute(step) + timedelta(seconds=30), *recipients)


@settings(max_examples=200)
@given(
    choices=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 9)), min_size=1, max_size=10),
    data=st.data(),
)
def test_random_corrections_fold_the_same_in_any_order(choices, data) -> None:  # type: ignore[no-untyped-def]
    messages, history, removed = play(choices)
    extra = data.draw(st.lists(st.sampled_from(messages), max_size=3))
    state, fired = fold_all(data.draw(st.permutations(messages + extra)))
    in_order, _ = fold_all(messages)
    assert comparable(state) == comparable(in_order)
    assert {r.recipient_id for r in state.recipients if r.removed} == removed
    counted = Counter((t.recipient_id, t.status) for t in fired if t.kind == "recipient")
    expected: Counter[tuple[str | None, str]] = Counter()
    for rid, statuses in history.items():
        expected.update({(rid, status): n for status, n in episodes(statuses).items()})
        if rid in removed:
            expected[(rid, "removed")] += 1
    assert counted == expected
    for rid, statuses in history.items():
        folded = state.recipient(rid)
        assert folded is not None and folded.status == statuses[-1]


def test_a_removed_recipient_named_again_is_removed_once() -> None:
    """Messages still naming a removed recipient, between newer lists, fire no new removal."""
    state = fold(None, listing(minute(0), recipient("1", "sent"), recipient("2", "sent"))).state
    fired: list[str] = []
    for i in range(1, 9):
        if i % 2:
            message = notification(
                "env",
                None,
                at=minute(i),
                event="recipient-sent",
                recipients=(recipient("2", "sent"),),
            )
        else:
            message = listing(minute(i), recipient("1", "sent"))
        result = fold(state, message)
        state = result.state
        fired.extend(f"{t.name}:{t.recipient_id}" for t in result.transitions)
    assert fired == ["recipient-removed:2"]
    removed = state.recipient("2")
    assert removed is not None and removed.removed


def long_history(messages: int) -> list[Notification]:
    """An envelope that stays sent for ``messages`` messages, each listing its two signers."""
    return [
        listing(
            minute(i),
            recipient("1", "sent", sent_at=minute(0)),
            recipient("2", "delivered", sent_at=minute(0), delivered_at=minute(0)),
            status="sent",
        )
        for i in range(1, messages + 1)
    ]


def test_a_long_lived_envelope_keeps_a_bounded_timeline() -> None:
    """Every message re-observes each recipient at its own time: runs keep RUN_POINTS."""
    state, _ = fold_all([notification("env", "sent", at=minute(0)), *long_history(300)])
    runs = [state.timeline] + [r.timeline for r in state.recipients]
    assert all(len(points) <= RUN_POINTS + 1 for points in runs), [len(p) for p in runs]
    r1 = state.recipient("1")
    assert r1 is not None and r1.timeline[0].at == minute(0)  # the run's entry is kept
    assert r1.timeline[-1].at == minute(300) and r1.status_at == minute(0)


def without_timelines(state: EnvelopeState) -> EnvelopeState:
    recipients = tuple(replace(r, timeline=()) for r in comparable(state).recipients)
    return replace(comparable(state), recipients=recipients, timeline=())


def test_recent_messages_still_fold_the_same_in_any_order_after_a_long_run() -> None:
    """A correction among the latest messages, in any order, fires what it fired in order."""
    history = long_history(100)
    r2 = recipient("2", "delivered", sent_at=minute(0), delivered_at=minute(0))
    steps = [("delivered", 0, 101), ("sent", 102, 101), ("delivered", 102, 103)]  # a correction
    latest = [
        listing(
            minute(at), recipient("1", status, sent_at=minute(sent), delivered_at=minute(seen)), r2
        )
        for at, (status, sent, seen) in enumerate(steps, start=101)
    ]
    in_order, fired = fold_all([*history, *latest])
    expected = Counter((t.recipient_id, t.status) for t in fired)
    assert expected[("1", "sent")] == 2 and expected[("1", "delivered")] == 2
    for order in itertools.permutations(latest):
        state, again = fold_all([*history, *order])
        assert Counter((t.recipient_id, t.status) for t in again) == expected
        # which old points of the long run are kept may differ; nothing else does
        assert without_timelines(state) == without_timelines(in_order)
