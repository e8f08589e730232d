"""The one timestamp parser both formats use.

DocuSign writes ISO-8601 timestamps with up to seven fractional digits
(``2024-02-14T05:03:08.6759159Z``). The accepted forms are checked by a regular expression,
then built by ``datetime.fromisoformat`` (Python 3.11+ reads every accepted form once a
lower-case ``z`` is upper-cased; Python 3.10 is given them rewritten to the form it reads):

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

#: What is accepted (see above), ``%s`` standing for the offset's hours and minutes.
_SHAPE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,7})?)?"
    r"(?:[Zz]|[+-]%s)?"
)
_TIMESTAMP = re.compile(_SHAPE % r"(?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?")
#: Any two-digit offset: text only this matches has an impossible one (for the error).
_ANY_OFFSET = re.compile(_SHAPE % r"[0-9]{2}(?::?[0-9]{2})?")
_HOURS_OFFSET = re.compile(
    r"(?P<sign>[+-]?)(?P<hours>[0-9]{1,2})"
    r"(?:\.(?P<fraction>[0-9]{1,4})|:(?P<minutes>[0-9]{2}))?"
)
_MAX_OFFSET_MINUTES = 24 * 60


def parse_timestamp(
    value: str | None, where: str, default_tz: timezone = timezone.utc
) -> datetime | None:
    """Parse a DocuSign timestamp; offset-less times are read in ``default_tz``.

    ``where`` names the field in the ``ParseError`` raised for malformed text.
    """
    text = clean_text(value, where)
    if text is None:
        return None
    if _TIMESTAMP.fullmatch(text) is None:
        if _ANY_OFFSET.fullmatch(text) is not None:
            raise ParseError(f"{where} has an impossible UTC offset")
        raise ParseError(f"{where} is not an ISO-8601 timestamp")
    try:
        stamp = datetime.fromisoformat(_readable(text))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=default_tz)
        if stamp.year in (1, 9999):  # stores keep UTC: only these years can fall outside it
            stamp.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ParseError(f"{where} is not a valid date and time") from None
    return stamp


if sys.version_info >= (3, 11):

    def _readable(text: str) -> str:
        """An accepted timestamp as ``datetime.fromisoformat`` reads it (only ``z`` differs)."""
        return text.upper()

else:
    _PARTS = re.compile(r"(.{16}(?::..)?)(?:\.([0-9]+))?([Zz])?(?:([+-]..):?(..)?)?")

    def _readable(text: str) -> str:
        """An accepted timestamp as Python 3.10's ``fromisoformat`` reads it.

        That is six fractional digits and a ``±HH:MM`` offset.
        """
        clock, fraction, utc, hours, minutes = _PARTS.findall(text)[0]
        fraction = f".{fraction[:6]:0<6}" if fraction else ""
        zone = "+00:00" if utc else f"{hours}:{minutes or '00'}" if hours else ""
        return f"{clock}{fraction}{zone}"


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
    if minutes == 0:
        return timezone.utc
    return timezone(timedelta(minutes=-minutes if match["sign"] == "-" else minutes))
