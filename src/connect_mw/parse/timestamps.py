"""The one timestamp parser both formats use.

DocuSign writes ISO-8601 timestamps with up to seven fractional digits
(``2024-02-14T05:03:08.6759159Z``), which ``datetime.fromisoformat`` cannot read before
Python 3.11. This module parses them with a regular expression instead (on Python 3.11+ the
common shape DocuSign sends, ``2024-02-14T05:03:08.6759159Z`` or with a ``±HH:MM`` offset, is
checked by a narrow pattern and then built by ``datetime.fromisoformat``, ten times faster
than converting the groups by hand; anything else takes the general path):

* ``YYYY-MM-DDTHH:MM[:SS[.fffffff]]`` followed by nothing, ``Z``, or an offset ``±HH:MM``
  (also ``±HHMM`` or ``±HH``); ``T`` may be lower case or a space; fractions of 1 to 7 digits
  are truncated to microseconds.
* **Times without an offset** (the XML legacy format writes them in the account's time zone)
  are interpreted in the message's ``TimeZoneOffset`` when the message carries one, and as
  UTC otherwise. JSON messages carry no ``TimeZoneOffset``, so an offset-less JSON time is UTC.
* ``TimeZoneOffset`` is a number of hours: ``-7``, ``5.5`` (five and a half hours) and
  ``+5:30`` are all accepted; fractions are rounded to the minute.

The result is always a timezone-aware ``datetime`` that keeps the offset the message gave
(``Z`` becomes ``timezone.utc``). A malformed timestamp raises ``ParseError`` naming the
field; empty text gives ``None``.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone

from ..errors import ParseError
from .values import clean_text

_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,7}))?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_hours>[0-9]{2})(?::?(?P<off_minutes>[0-9]{2}))?)?"
)
_HOURS_OFFSET = re.compile(
    r"(?P<sign>[+-]?)(?P<hours>[0-9]{1,2})"
    r"(?:\.(?P<fraction>[0-9]{1,4})|:(?P<minutes>[0-9]{2}))?"
)
_MAX_OFFSET_MINUTES = 24 * 60
#: The shape ``datetime.fromisoformat`` reads exactly as the general path would (3.11+ only:
#: earlier versions reject ``Z`` and seven fractional digits).
_COMMON_SHAPE = (
    re.compile(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,7})?"
        r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
    )
    if sys.version_info >= (3, 11)
    else None
)


def quick_timestamp(value: str, default_tz: timezone = timezone.utc) -> datetime | None:
    """``value`` parsed when it has the common shape, else ``None`` (use ``parse_timestamp``).

    Gives the same result as ``parse_timestamp`` whenever it gives one; it never raises and
    never builds an error label, so callers on the hot path try it first.
    """
    if _COMMON_SHAPE is None or not value.isascii():
        return None
    text = value.strip()
    if _COMMON_SHAPE.fullmatch(text) is None:
        return None
    try:
        stamp = datetime.fromisoformat(text)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=default_tz)
        if stamp.year in (1, 9999):  # only these can fall outside UTC's range
            stamp.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None  # the general path names the field in its error
    return stamp


def parse_timestamp(
    value: str | None, where: str, default_tz: timezone = timezone.utc
) -> datetime | None:
    """Parse a DocuSign timestamp; offset-less times are read in ``default_tz``.

    ``where`` names the field in the ``ParseError`` raised for malformed text.
    """
    if value is not None:
        quick = quick_timestamp(value, default_tz)
        if quick is not None:
            return quick
    return general_timestamp(value, where, default_tz)


def general_timestamp(
    value: str | None, where: str, default_tz: timezone = timezone.utc
) -> datetime | None:
    """``parse_timestamp`` without the fast path: every accepted form, every error."""
    text = clean_text(value, where)
    if text is None:
        return None
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ParseError(f"{where} is not an ISO-8601 timestamp")
    explicit = _explicit_offset(match, where)
    tz = default_tz if explicit is None else explicit
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        stamp = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            int(fraction),
            tzinfo=tz,
        )
        # Stores keep times in UTC: a time that cannot be expressed there is malformed.
        stamp.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ParseError(f"{where} is not a valid date and time") from None
    return stamp


def _explicit_offset(match: re.Match[str], where: str) -> timezone | None:
    """The offset written in the timestamp itself, or ``None`` when it has none."""
    if match["utc"]:
        return timezone.utc
    if not match["sign"]:
        return None
    hours, minutes = int(match["off_hours"]), int(match["off_minutes"] or 0)
    if hours > 23 or minutes > 59:
        raise ParseError(f"{where} has an impossible UTC offset")
    total = hours * 60 + minutes
    return _fixed_offset(-total if match["sign"] == "-" else total)


def parse_utc_offset(value: str | None, where: str) -> timezone | None:
    """Parse a ``TimeZoneOffset`` given in hours (``-7``, ``5.5``, ``+5:30``); empty is ``None``."""
    text = clean_text(value, where)
    if text is None:
        return None
    match = _HOURS_OFFSET.fullmatch(text)
    if match is None:
        raise ParseError(f"{where} is not a UTC offset in hours")
    minutes = int(match["hours"]) * 60
    if match["minutes"] is not None:
        if int(match["minutes"]) > 59:
            raise ParseError(f"{where} is not a UTC offset in hours")
        minutes += int(match["minutes"])
    elif match["fraction"] is not None:
        digits = match["fraction"]
        minutes += round(int(digits) * 60 / 10 ** len(digits))
    if minutes >= _MAX_OFFSET_MINUTES:
        raise ParseError(f"{where} is not a UTC offset in hours")
    return _fixed_offset(-minutes if match["sign"] == "-" else minutes)


def _fixed_offset(minutes: int) -> timezone:
    """A fixed-offset timezone, ``timezone.utc`` itself for a zero offset."""
    if minutes == 0:
        return timezone.utc
    return timezone(timedelta(minutes=minutes))
