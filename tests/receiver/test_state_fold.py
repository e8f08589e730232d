"""Folding notifications into envelope state: never regress, fire each transition once."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mw.model import EnvelopeState, EnvelopeTimes, Notification, Transition
from connect_mw.state import fold
from connect_mw.testing import notification, recipient
from connect_mw.testing.builders import BASE_TIME

LIFECYCLES = {
    "completed": ["created", "sent", "delivered", "completed"],
    "declined": ["sent", "delivered", "declined"],
    "voided": ["sent", "voided"],
}


def snapshot(statuses: list[str], step: int) -> Notification:
    """The message DocuSign sends at ``step``: current status plus every earlier status time."""
    times = {s: BASE_TIME + timedelta(minutes=i) for i, s in enumerate(statuses[: step + 1])}
    return notification(
        "env",
        statuses[step],
        at=BASE_TIME + timedelta(minutes=step, seconds=30),
        times=EnvelopeTimes(**times),
    )


def minimal(statuses: list[str], step: int) -> Notification:
    """A SIM message without envelopeSummary: only the event and its generation time."""
    return notification(
        "env", statuses[step], at=BASE_TIME + timedelta(minutes=step), times=EnvelopeTimes()
    )


def fold_all(messages: list[Notification]) -> tuple[EnvelopeState, list[Transition]]:
    state: EnvelopeState | None = None
    fired: list[Transition] = []
    for message in messages:
        result = fold(state, message)
        state = result.state
        fired.extend(result.transitions)
    assert state is not None
    return state, fired


@settings(max_examples=150)
@given(
    final=st.sampled_from(sorted(LIFECYCLES)),
    build=st.sampled_from([snapshot, minimal]),
    data=st.data(),
)
def test_any_permutation_with_duplicates_ends_in_true_final_state(final, build, data) -> None:  # type: ignore[no-untyped-def]
    statuses = LIFECYCLES[final]
    messages = [build(statuses, i) for i in range(len(statuses))]
    extra = data.draw(st.lists(st.sampled_from(messages), max_size=4))
    order = data.draw(st.permutations(messages + extra))
    state, fired = fold_all(order)
    assert state.status == final
    assert state.reached == set(statuses)
    names = [t.name for t in fired]
    assert sorted(names) == sorted(f"envelope-{s}" for s in statuses)  # each exactly once
    assert state.event_count == len(order)


@given(st.permutations(range(4)))
def test_recipient_transitions_fire_once_in_any_order(order: list[int]) -> None:
    steps = ["sent", "delivered", "completed", "completed"]
    messages = [
        notification(
            "env",
            "sent",
            at=BASE_TIME + timedelta(minutes=i),
            recipients=(recipient("r1", status),),
        )
        for i, status in enumerate(steps)
    ]
    state, fired = fold_all([messages[i] for i in order])
    recipient_state = state.recipient("r1")
    assert recipient_state is not None and recipient_state.status == "completed"
    assert sorted(t.status for t in fired if t.kind == "recipient") == [
        "completed",
        "delivered",
        "sent",
    ]


def test_aggregate_message_yields_every_recipient_transition() -> None:
    """One legacy message where signer 1 completed *and* signer 2 was sent."""
    first = notification("env", "sent", recipients=(recipient("s1", "sent"),))
    aggregate = notification(
        "env",
        "sent",
        at=BASE_TIME + timedelta(minutes=5),
        recipients=(
            recipient("s1", "completed", sent_at=BASE_TIME, delivered_at=BASE_TIME),
            recipient("s2", "sent", sent_at=BASE_TIME + timedelta(minutes=5)),
        ),
    )
    state = fold(None, first).state
    result = fold(state, aggregate)
    assert [(t.name, t.recipient_id) for t in result.transitions] == [
        ("recipient-delivered", "s1"),
        ("recipient-completed", "s1"),
        ("recipient-sent", "s2"),
    ]


def test_equal_timestamps_are_ordered_by_lifecycle() -> None:
    same = BASE_TIME
    completed = notification("env", "completed", at=same)
    sent = notification("env", "sent", at=same)
    assert fold(fold(None, completed).state, sent).state.status == "completed"
    assert fold(fold(None, sent).state, completed).state.status == "completed"


def test_newer_non_terminal_status_replaces_older() -> None:
    sent = notification("env", "sent", at=BASE_TIME)
    delivered = notification("env", "delivered", at=BASE_TIME + timedelta(seconds=1))
    result = fold(fold(None, sent).state, delivered)
    assert result.state.status == "delivered"
    assert not result.stale
    assert result.state.status_at == delivered.generated_at


def test_stale_message_is_flagged_and_changes_no_status() -> None:
    delivered = notification("env", "delivered", at=BASE_TIME + timedelta(hours=1))
    sent = notification("env", "sent", at=BASE_TIME, subject="old subject")
    result = fold(fold(None, delivered).state, sent)
    assert result.stale
    assert result.state.status == "delivered"
    assert result.state.subject == "old subject"  # fills a gap, never overwrites


def test_unknown_status_is_kept_and_reported() -> None:
    result = fold(None, notification("env", "archived"))
    assert result.state.status == "archived"
    assert [t.name for t in result.transitions] == ["envelope-archived"]


def test_event_without_status_changes_no_status() -> None:
    base = fold(None, notification("env", "sent")).state
    corrected = notification("env", None, event="envelope-corrected", at=BASE_TIME + timedelta(1))
    result = fold(base, corrected)
    assert result.state.status == "sent"
    assert result.transitions == ()
    assert not result.stale


def test_void_reason_and_terminal_never_replaced() -> None:
    voided = notification("env", "voided", void_reason="wrong contract")
    later = notification("env", "completed", at=BASE_TIME + timedelta(days=1))
    result = fold(fold(None, voided).state, later)
    assert result.state.status == "voided"
    assert result.state.void_reason == "wrong contract"
    assert result.transitions == ()  # a voided envelope never fires "completed"
    assert "completed" not in result.state.reached
