"""The shared timestamp parser: ISO-8601 with 0-7 fractional digits and offsets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mw.errors import ParseError
from connect_mw.parse.timestamps import parse_timestamp, parse_utc_offset

UTC = timezone.utc
FIELD = "JSON: data.envelopeSummary.sentDateTime"


def offset(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(sign * timedelta(hours=abs(hours), minutes=minutes))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-14T05:03:08Z", datetime(2024, 2, 14, 5, 3, 8, tzinfo=UTC)),
        ("2024-02-14T05:03:08.6Z", datetime(2024, 2, 14, 5, 3, 8, 600000, tzinfo=UTC)),
        ("2024-02-14T05:03:08.67Z", datetime(2024, 2, 14, 5, 3, 8, 670000, tzinfo=UTC)),
        ("2024-02-14T05:03:08.675Z", datetime(2024, 2, 14, 5, 3, 8, 675000, tzinfo=UTC)),
        ("2024-02-14T05:03:08.6759Z", datetime(2024, 2, 14, 5, 3, 8, 675900, tzinfo=UTC)),
        ("2024-02-14T05:03:08.67591Z", datetime(2024, 2, 14, 5, 3, 8, 675910, tzinfo=UTC)),
        ("2024-02-14T05:03:08.675915Z", datetime(2024, 2, 14, 5, 3, 8, 675915, tzinfo=UTC)),
        ("2024-02-14T05:03:08.6759159Z", datetime(2024, 2, 14, 5, 3, 8, 675915, tzinfo=UTC)),
        ("2024-02-14T05:03:08.9999999Z", datetime(2024, 2, 14, 5, 3, 8, 999999, tzinfo=UTC)),
        ("2024-02-14t05:03:08z", datetime(2024, 2, 14, 5, 3, 8, tzinfo=UTC)),
        ("2024-02-14 05:03:08Z", datetime(2024, 2, 14, 5, 3, 8, tzinfo=UTC)),
        ("2024-02-14T05:03Z", datetime(2024, 2, 14, 5, 3, tzinfo=UTC)),
        ("2012-08-14T13:05:24.3296414-07:00", datetime(2012, 8, 14, 13, 5, 24, 329641, offset(-7))),
        ("2024-02-14T05:03:08+05:30", datetime(2024, 2, 14, 5, 3, 8, tzinfo=offset(5, 30))),
        ("2024-02-14T05:03:08-0330", datetime(2024, 2, 14, 5, 3, 8, tzinfo=offset(-3, 30))),
        ("2024-02-14T05:03:08+02", datetime(2024, 2, 14, 5, 3, 8, tzinfo=offset(2))),
        ("2024-02-14T05:03:08+00:00", datetime(2024, 2, 14, 5, 3, 8, tzinfo=UTC)),
        ("  2024-02-14T05:03:08Z\n", datetime(2024, 2, 14, 5, 3, 8, tzinfo=UTC)),
        ("2024-02-29T23:59:59.1Z", datetime(2024, 2, 29, 23, 59, 59, 100000, tzinfo=UTC)),
    ],
)
def test_valid_timestamps(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text, FIELD)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == expected.utcoffset()


def test_offset_less_times_use_the_default_zone_or_utc() -> None:
    pdt = offset(-7)
    assert parse_timestamp("2024-07-01T17:00:00.5", FIELD) == datetime(
        2024, 7, 1, 17, 0, 0, 500000, tzinfo=UTC
    )
    local = parse_timestamp("2024-07-01T17:00:00.5", FIELD, pdt)
    assert local == datetime(2024, 7, 1, 17, 0, 0, 500000, tzinfo=pdt)
    assert local is not None
    assert local.utcoffset() == timedelta(hours=-7)
    assert parse_timestamp("2024-07-01T17:00:00Z", FIELD, pdt) == datetime(
        2024, 7, 1, 17, tzinfo=UTC
    )


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_is_none(text: str | None) -> None:
    assert parse_timestamp(text, FIELD) is None


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-14",
        "05:03:08",
        "2024-02-14T05:03:08.",
        "2024-02-14T05:03:08.12345678Z",
        "2024-02-14T05:03:08ZZ",
        "2024-02-14T05:03:08 Z",
        "2024-02-14T5:03:08Z",
        "24-02-14T05:03:08Z",
        "2024-2-14T05:03:08Z",
        "2024-02-14T05:03:08+5",
        "2024-02-14T05:03:08+05:3",
        "20240214T050308Z",
        "\uff12\uff10\uff12\uff14-02-14T05:03:08Z",  # full-width digits
        "2024-02-14T05:03:08Z garbage",
        "Wed, 14 Feb 2024 05:03:08 GMT",
        "1707886988",
    ],
)
def test_malformed_timestamps_name_the_field(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_timestamp(text, FIELD)
    assert caught.value.reason == f"{FIELD} is not an ISO-8601 timestamp"


@pytest.mark.parametrize(
    "text",
    [
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-02-14T24:00:00Z",
        "2024-02-14T23:60:00Z",
        "2024-02-14T23:59:60Z",
        "0000-01-01T00:00:00Z",
    ],
)
def test_impossible_dates_name_the_field(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_timestamp(text, FIELD)
    assert caught.value.reason == f"{FIELD} is not a valid date and time"


@pytest.mark.parametrize("text", ["2024-02-14T05:03:08+24:00", "2024-02-14T05:03:08-05:60"])
def test_impossible_offsets(text: str) -> None:
    with pytest.raises(ParseError, match="impossible UTC offset"):
        parse_timestamp(text, FIELD)


def test_nul_in_timestamp_is_rejected() -> None:
    with pytest.raises(ParseError, match="NUL"):
        parse_timestamp("2024-02-14T05:03:08\x00Z", FIELD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-7", timedelta(hours=-7)),
        ("+2", timedelta(hours=2)),
        ("7", timedelta(hours=7)),
        ("0", timedelta(0)),
        ("-0", timedelta(0)),
        ("5.5", timedelta(hours=5, minutes=30)),
        ("5.75", timedelta(hours=5, minutes=45)),
        ("-3.5", timedelta(hours=-3, minutes=-30)),
        ("+5:30", timedelta(hours=5, minutes=30)),
        ("-07:00", timedelta(hours=-7)),
        ("12.75", timedelta(hours=12, minutes=45)),
        ("5.999", timedelta(hours=6)),
        (" -8 ", timedelta(hours=-8)),
    ],
)
def test_time_zone_offsets(text: str, expected: timedelta) -> None:
    zone = parse_utc_offset(text, "XML: TimeZoneOffset")
    assert zone is not None
    assert zone.utcoffset(None) == expected


@pytest.mark.parametrize("text", [None, "", "  "])
def test_empty_time_zone_offset_is_none(text: str | None) -> None:
    assert parse_utc_offset(text, "XML: TimeZoneOffset") is None


@pytest.mark.parametrize(
    "text", ["abc", "24", "-24", "+5:60", "5.", ".5", "--7", "+-7", "5,5", "-7h", "UTC-7", "100"]
)
def test_malformed_time_zone_offsets(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_utc_offset(text, "XML: TimeZoneOffset")
    assert caught.value.reason == "XML: TimeZoneOffset is not a UTC offset in hours"


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    minutes=st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    digits=st.integers(min_value=0, max_value=7),
)
def test_round_trip(moment: datetime, minutes: int, digits: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    fraction = f"{moment.microsecond:06d}0"[:digits]
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    text = (
        f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
        + (f".{fraction}" if digits else "")
        + f"{sign}{hours:02d}:{mins:02d}"
    )
    parsed = parse_timestamp(text, FIELD)
    expected_micro = int(fraction.ljust(6, "0")[:6]) if digits else 0
    assert parsed == moment.replace(microsecond=expected_micro, tzinfo=zone)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(minutes=minutes)


def test_time_that_cannot_be_expressed_in_utc_is_rejected() -> None:
    with pytest.raises(ParseError, match="not a valid date"):
        parse_timestamp("0001-01-01T00:00:00+05:00", "generatedDateTime")
    with pytest.raises(ParseError, match="not a valid date"):
        parse_timestamp("9999-12-31T23:59:59-05:00", "generatedDateTime")
