"""The overview queries every store answers: counts per status, the backlog, search.

Part of :class:`~connect_mw.testing.StoreContract` (which inherits it), so every backend and
every user store is checked. The defaults in :class:`~connect_mw.stores.api.Store` page
through the store :data:`~connect_mw.stores.api.SCAN_PAGE` envelopes at a time; the tests
shrink that page so paging is exercised with a handful of rows.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from ..model import EnvelopeState, EnvelopeStatus, RecipientState
from ..stores import api
from ..stores.api import (
    Backlog,
    Commit,
    EnvelopeSearch,
    ProcessingState,
    Progress,
    Store,
    StoredEvent,
    envelope_position,
    utcnow,
)
from .builders import BASE_TIME


def _event(key: str, envelope_id: str, received_at: datetime | None = None) -> StoredEvent:
    from .store_contract import stored_event  # noqa: PLC0415 (that module imports this one)

    event = stored_event(key, envelope_id)
    return event if received_at is None else dataclasses.replace(event, received_at=received_at)


def _envelope(
    envelope_id: str,
    status: str | None,
    minutes: float,
    subject: str | None = None,
    emails: tuple[str, ...] = (),
) -> EnvelopeState:
    at = BASE_TIME + timedelta(minutes=minutes)
    recipients = tuple(
        RecipientState(str(n), "signer", email, f"Name {envelope_id}", n)
        for n, email in enumerate(emails, 1)
    )
    return EnvelopeState(
        envelope_id=envelope_id,
        status=None if status is None else EnvelopeStatus(status),
        updated_at=at,
        subject=subject,
        recipients=recipients,
        event_count=1,
    )


def _put(store: Store, state: EnvelopeState) -> None:
    event = _event(f"k-{state.envelope_id}", state.envelope_id)
    assert store.commit(event, state, 0) is Commit.INSERTED


#: Envelopes for the search tests, newest first (the order every listing returns).
_SEARCHED = [
    _envelope("AA-1", "sent", 9, "Offer letter — Ünïcode", ("alice@example.com",)),
    _envelope("bb-2", "completed", 8, "50% off_deal", ("BOB@Example.org", "carol@corp.io")),
    _envelope("cc-3", "sent", 7, 'He said "hi"', ("dave@example.com",)),
    _envelope("dd-4", None, 6, None, ()),
    _envelope("ee-5", "sent", 5, "Lease renewal", ("erin@lease.example",)),
]


class OverviewContract:
    """Contract tests of :meth:`Store.envelope_counts`, :meth:`Store.backlog`, search."""

    @pytest.fixture
    def small_pages(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Default overview queries read two envelopes per page."""
        monkeypatch.setattr(api, "SCAN_PAGE", 2)

    def test_envelope_counts_per_status(self, store: Store, small_pages: None) -> None:
        assert store.envelope_counts() == {}
        for n, status in enumerate(["sent", "sent", "completed", None, "sent"]):
            _put(store, _envelope(f"env-{n}", status, n))
        assert store.commit(_event("no-envelope", ""), None, 0) is Commit.INSERTED
        assert store.envelope_counts() == {"sent": 3, "completed": 1, None: 1}

    def test_envelope_counts_follow_status_changes(self, store: Store, small_pages: None) -> None:
        """Each envelope counts once, under its current status, however often it changed."""
        for n in range(3):
            _put(store, _envelope(f"env-{n}", "sent", n))
        steps = [("env-0", "delivered"), ("env-0", "completed"), ("env-1", "voided"),
                 ("env-0", "deleted"), ("env-2", None), ("env-1", "deleted")]  # fmt: skip
        versions = {f"env-{n}": 1 for n in range(3)}
        for step, (envelope_id, status) in enumerate(steps):
            state = _envelope(envelope_id, status, 10 + step)
            event = _event(f"k-{envelope_id}-{step}", envelope_id)
            assert store.commit(event, state, versions[envelope_id]) is Commit.INSERTED
            versions[envelope_id] += 1
        assert store.envelope_counts() == {"deleted": 2, None: 1}
        _put(store, _envelope("env-3", "sent", 30))
        assert store.envelope_counts() == {"deleted": 2, "sent": 1, None: 1}

    def test_backlog_counts_unfinished_and_dead_events(self, store: Store) -> None:
        assert store.backlog() == Backlog()
        plan = [
            ("p-new", 30, ProcessingState.PENDING),
            ("p-old", 10, ProcessingState.PENDING),
            ("failed", 5, ProcessingState.FAILED),
            ("dead-1", 1, ProcessingState.DEAD),
            ("dead-2", 2, ProcessingState.DEAD),
            ("done", 0, ProcessingState.PROCESSED),
        ]
        # Recent: a store may drop final events once older than its retention.
        start = utcnow() - timedelta(hours=1)
        for key, minutes, processing in plan:
            received = start + timedelta(minutes=minutes)
            assert store.commit(_event(key, "e1", received), None, 0) is Commit.INSERTED
            if processing is not ProcessingState.PENDING:
                assert store.update_event(key, 0, Progress(processing, 1, revision=1))
        oldest = start + timedelta(minutes=10)
        assert store.backlog() == Backlog(pending=2, failed=1, dead=2, oldest_pending_at=oldest)

    def test_search_by_id_subject_and_email(self, store: Store, small_pages: None) -> None:
        for state in _SEARCHED:
            _put(store, state)

        def ids(text: str, **filters: object) -> list[str]:
            query = EnvelopeSearch(text, **filters)  # type: ignore[arg-type]
            return [state.envelope_id for state in store.search_envelopes(query)]

        assert ids("aa-1") == ["AA-1"]  # ids, any case
        assert ids("  LEASE ") == ["ee-5"]  # subject and email, blanks stripped
        assert ids("example.org") == ["bb-2"]  # a recipient's email, any case
        assert ids("example") == ["AA-1", "bb-2", "cc-3", "ee-5"]
        assert ids("ünï") == ["AA-1"]  # beyond ASCII
        assert ids("% off_") == ["bb-2"] and ids("%") == ["bb-2"]  # LIKE wildcards are text
        assert ids('"hi"') == ["cc-3"]  # quotes, as JSON would escape them
        assert ids("name") == []  # recipients' names are not searched
        assert ids("") == ["AA-1", "bb-2", "cc-3", "dd-4", "ee-5"]

    def test_search_filters_by_status_and_pages_by_keyset(
        self, store: Store, small_pages: None
    ) -> None:
        for state in _SEARCHED:
            _put(store, state)
        sent = EnvelopeSearch("e", status="sent", limit=2)
        first = store.search_envelopes(sent)
        assert [s.envelope_id for s in first] == ["AA-1", "cc-3"]
        after = envelope_position(first[-1])
        rest = store.search_envelopes(dataclasses.replace(sent, after=after))
        assert [s.envelope_id for s in rest] == ["ee-5"]
        assert store.search_envelopes(dataclasses.replace(sent, limit=0)) == []
        assert store.search_envelopes(EnvelopeSearch("zzz")) == []
