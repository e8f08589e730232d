"""Checks and conversions for the scalar values both parsers extract.

Every function takes the extracted value and a ``where`` label that names the field in error
reasons (``"XML: EnvelopeStatus/RoutingOrder"``, ``"JSON: data.envelopeId"``). Failures raise
``ParseError`` whose reason names the field but never repeats the offending value, so reasons
stay safe to send back to whoever posted the body.

Text is stripped (pretty-printed XML, stray spaces around emails), empty text becomes
``None``, and text holding a NUL character or a lone surrogate is rejected: neither survives
being written to a database or encoded as UTF-8.
"""

from __future__ import annotations

import re

from ..errors import ParseError

#: Longest identifier (envelope, account, recipient, document id...) accepted.
MAX_ID_LENGTH = 256
#: Most digits a count or an order may have; anything longer is not a real count.
MAX_COUNT_DIGITS = 18

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(f"[0-9]{{1,{MAX_COUNT_DIGITS}}}")
_STATUS = re.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def clean_text(value: str | None, where: str) -> str | None:
    """The text stripped of surrounding whitespace, ``None`` when empty or absent.

    Text holding a NUL character or a lone surrogate is rejected.
    """
    if value is None:
        return None
    if "\x00" in value:
        raise ParseError(f"{where} contains a NUL character")
    if not value.isascii() and _SURROGATE.search(value):
        raise ParseError(f"{where} contains a lone surrogate")
    return value.strip() or None


def identifier(value: str | None, where: str) -> str | None:
    """An id: stripped text of at most ``MAX_ID_LENGTH`` characters, no control characters."""
    text = clean_text(value, where)
    if text is None:
        return None
    if len(text) > MAX_ID_LENGTH:
        raise ParseError(f"{where} is longer than {MAX_ID_LENGTH} characters")
    if not text.isprintable() and _CONTROL.search(text):  # the pattern only decides then
        raise ParseError(f"{where} contains control characters")
    return text


def required_identifier(value: str | None, where: str) -> str:
    """Like ``identifier`` but a missing or empty id is an error."""
    text = identifier(value, where)
    if text is None:
        raise ParseError(f"{where} is missing")
    return text


def boolean(value: str | bool | None, where: str) -> bool | None:
    """``true``/``false`` in any case (or ``1``/``0``, or a JSON boolean); empty is ``None``."""
    if value is None or isinstance(value, bool):
        return value
    text = clean_text(value, where)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ParseError(f"{where} must be true or false")


def count(value: str | int | None, where: str) -> int | None:
    """A non-negative integer given as a number or as decimal digits; empty is ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"{where} must be a non-negative integer")
    if isinstance(value, int):
        if value < 0 or value >= 10**MAX_COUNT_DIGITS:
            raise ParseError(f"{where} must be a non-negative integer of at most 18 digits")
        return value
    text = clean_text(value, where)
    if text is None:
        return None
    if not _DIGITS.fullmatch(text):
        raise ParseError(f"{where} must be a non-negative integer of at most 18 digits")
    return int(text)


def status_name(value: str | None, where: str) -> str | None:
    """A status name (``Completed``, ``sent``) lower-cased; empty is ``None``.

    Status names become parts of event names, so only ASCII letters, digits, ``_``, ``.``
    and ``-`` are accepted, starting with a letter, at most 64 characters.
    """
    text = clean_text(value, where)
    if text is None:
        return None
    if not _STATUS.fullmatch(text):
        raise ParseError(f"{where} is not a status name")
    return text.lower()
