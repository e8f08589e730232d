"""listStatusChanges: the window, filters and paging through every page."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from connect_mw.rest import ESignClient, StatusChangesPage
from connect_mw.rest.operations import following_position

from .fake_data import ds_time, envelope_id, make_envelope
from .fake_esign import FakeESign


def _five(fake: FakeESign) -> datetime:
    """Envelopes 1..5 changed one minute apart, the last a minute ago; returns the first time."""
    first = fake.now() - timedelta(minutes=5)
    statuses = ["sent", "delivered", "completed", "declined", "voided"]
    fake.add(
        *(make_envelope(n, statuses[n - 1], first + timedelta(minutes=n - 1)) for n in range(1, 6))
    )
    return first


def test_every_page_is_read_oldest_change_first(fake: FakeESign, client: ESignClient) -> None:
    first = _five(fake)
    fake.add(make_envelope(9, "sent", first - timedelta(days=2)))  # before the window
    envelopes = client.list_status_changes(first - timedelta(seconds=1), count=2)
    assert [e["envelopeId"] for e in envelopes] == [envelope_id(n) for n in range(1, 6)]
    calls = fake.api_calls("/envelopes")
    assert [c.query["start_position"] for c in calls] == ["0", "2", "4"]
    assert len({c.query["to_date"] for c in calls}) == 1  # one fixed window for every page
    assert calls[0].query | {"from_date": "", "to_date": ""} == {
        "from_date": "",
        "to_date": "",
        "from_to_status": "changed",
        "include": "recipients,custom_fields,documents",
        "order_by": "status_changed",
        "order": "asc",
        "start_position": "0",
        "count": "2",
    }


def test_the_window_and_status_filter(fake: FakeESign, client: ESignClient) -> None:
    first = _five(fake)
    inside = client.list_status_changes(
        first + timedelta(seconds=30), first + timedelta(minutes=3, seconds=30)
    )
    assert [e["envelopeId"] for e in inside] == [envelope_id(n) for n in (2, 3, 4)]
    finished = client.list_status_changes(first, status=["completed", "declined"], include=[])
    assert [e["status"] for e in finished] == ["completed", "declined"]
    assert "recipients" not in finished[0]


def test_one_page_and_its_positions(fake: FakeESign, client: ESignClient) -> None:
    first = _five(fake)
    page = client.list_status_changes_page(first, start_position=2, count=2)
    assert [e["envelopeId"] for e in page.envelopes] == [envelope_id(3), envelope_id(4)]
    assert (page.start_position, page.end_position, page.result_set_size, page.total_set_size) == (
        2,
        3,
        2,
        5,
    )
    assert page.next_start == 4 and page.next_uri is not None
    assert page.last_queried is not None
    empty = client.list_status_changes_page(
        fake.now() + timedelta(hours=1), fake.now() + timedelta(hours=2)
    )
    assert (empty.envelopes, empty.result_set_size, empty.next_start) == ((), 0, None)


def test_envelopes_moving_out_of_the_window_mid_run_skip_nothing(
    fake: FakeESign, client: ESignClient
) -> None:
    first = _five(fake)
    window_end = fake.now()

    def change_first_envelope_again(start: int) -> None:
        if start == 2:  # between page 1 and 2, envelope 1 changes again: it leaves the window
            fake.envelopes[envelope_id(1)]["statusChangedDateTime"] = ds_time(
                window_end + timedelta(hours=1)
            )

    fake.before_page = change_first_envelope_again
    envelopes = client.list_status_changes(first, window_end, count=2)
    assert sorted(e["envelopeId"] for e in envelopes) == [envelope_id(n) for n in range(1, 6)]
    assert [c.query["start_position"] for c in fake.api_calls("/envelopes")] == ["0", "2", "1", "3"]


def _page(
    start: int, size: int, total: int | None, end: int | None = -1, next_uri: str | None = None
) -> StatusChangesPage:
    envelopes = tuple({"envelopeId": str(i)} for i in range(size))
    return StatusChangesPage(
        envelopes, start, start + size - 1 if end == -1 else end, size, total, next_uri
    )


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (_page(0, 2, 5), 2),
        (_page(4, 1, 5), None),  # the last page
        (_page(0, 0, 0), None),  # empty
        (_page(0, 2, 5, end=None), 2),  # endPosition missing: start + size
        (_page(0, 2, None, next_uri="/envelopes?start_position=2"), 2),  # no total, a nextUri
        (_page(0, 2, None), None),  # neither total nor nextUri: nothing says there is more
        (_page(3, 2, 9, end=1), None),  # an endPosition before the start never loops
    ],
)
def test_next_start(page: StatusChangesPage, expected: int | None) -> None:
    assert page.next_start == expected


def test_following_position_steps_back_by_the_shrink() -> None:
    assert following_position(_page(2, 2, 5), previous_total=5) == 4
    assert following_position(_page(2, 2, 4), previous_total=5) == 1
    assert following_position(_page(2, 2, 2), previous_total=9) == 0
    assert following_position(_page(2, 2, 6), previous_total=5) == 4  # grew: carry on
    assert following_position(_page(4, 1, 5), previous_total=None) is None


@pytest.mark.parametrize("text", ["\u00b2", "-\u00b9", " 1\u00b2 "])
def test_a_count_of_non_ascii_digits_reads_as_absent(text: str) -> None:
    from connect_mw.rest.results import number

    assert number({"resultSetSize": text}, "resultSetSize") is None  # not a ValueError
    assert number({"resultSetSize": " -12 "}, "resultSetSize") == -12
