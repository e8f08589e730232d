"""Any envelope state the model can hold is written and read back equal, as the same text."""

from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mw.model import (
    EnvelopeState,
    EnvelopeStatus,
    Observation,
    RecipientState,
    RecipientStatus,
)
from connect_mw.stores.codec import dump_state, load_state

#: Text as parsed values can hold it: anything but a lone surrogate (the parser rejects those).
text = st.text(st.characters(codec="utf-8"), max_size=12)
optional_text = st.none() | text
#: Offsets of whole minutes, as RFC 3339 writes them (DocuSign's XML times carry the
#: account's offset; JSON times are UTC).
offset = st.integers(-23 * 60 + 1, 23 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
time = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offset
)
optional_time = st.none() | time
#: Known statuses and ones DocuSign may add (kept by the open enums).
status_text = st.sampled_from(["sent", "delivered", "completed", "voided"]) | st.text(
    string.ascii_lowercase, min_size=1, max_size=10
)
statuses = st.frozensets(status_text, max_size=4)
timeline = st.lists(st.builds(Observation, optional_time, status_text), max_size=4).map(tuple)

recipients = st.builds(
    RecipientState,
    recipient_id=text,
    recipient_type=optional_text,
    email=optional_text,
    name=optional_text,
    routing_order=st.none() | st.integers(0, 10**18),
    status=st.none() | status_text.map(RecipientStatus),
    status_at=optional_time,
    reached=statuses,
    removed_at=optional_time,
    last_seen_at=optional_time,
    identity_at=optional_time,
    timeline=timeline,
    recipient_id_guid=optional_text,
)
states = st.builds(
    EnvelopeState,
    envelope_id=text,
    account_id=optional_text,
    status=st.none() | status_text.map(EnvelopeStatus),
    status_at=optional_time,
    updated_at=optional_time,
    subject=optional_text,
    void_reason=optional_text,
    decline_reason=optional_text,
    reached=statuses,
    recipients=st.lists(recipients, max_size=5).map(tuple),
    event_count=st.integers(0, 2**40),
    timeline=timeline,
    roster=st.none() | st.frozensets(text, max_size=5),
    roster_at=optional_time,
)


@settings(max_examples=300)
@given(states)
def test_a_state_round_trips_equal_and_as_the_same_text(state: EnvelopeState) -> None:
    written = dump_state(state)
    loaded = load_state(written)
    assert loaded == state
    assert dump_state(loaded) == written


@given(states)
def test_times_keep_their_offsets(state: EnvelopeState) -> None:
    loaded = load_state(dump_state(state))
    pairs = [(loaded.status_at, state.status_at), (loaded.roster_at, state.roster_at)]
    pairs += [(a.at, b.at) for a, b in zip(loaded.timeline, state.timeline, strict=True)]
    for got, want in pairs:
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert got.utcoffset() == want.utcoffset()
