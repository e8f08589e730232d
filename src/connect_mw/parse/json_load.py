"""Decoding JSON bodies strictly.

``json.loads`` alone accepts things a webhook body must not contain, and different JSON
parsers disagree about some of them (a parser differential lets one body mean two things).
This loader rejects, with ``ParseError``:

* bodies that are not UTF-8, UTF-16 or UTF-32 text (the encoding is detected as
  ``json.loads`` does: BOM or the pattern of NUL bytes);
* ``NaN``, ``Infinity`` and ``-Infinity``, and floats too large to be finite;
* integers of more than ``MAX_INT_DIGITS`` digits (checked before conversion, so Python
  3.10, which has no limit of its own, never converts a megabyte of digits), float
  literals over ``MAX_FLOAT_LENGTH`` characters and floats too large to be finite — unless
  the caller keeps them as :class:`UnreadableNumber` (``keep_unreadable``, the parser's
  lenient mode: valid JSON, so a secondary field holding one is only left empty);
* an object with the same key twice;
* nesting deep enough to exhaust the interpreter's recursion limit;
* a top level that is not an object.
"""

from __future__ import annotations

import json
import math
from functools import partial
from typing import NoReturn

from ..errors import ParseError
from .json_bulk import MIN_BODY, load_sliced

#: Most digits an integer literal may have.
MAX_INT_DIGITS = 30
#: Longest float literal accepted.
MAX_FLOAT_LENGTH = 100

JSONObject = dict[str, object]


class UnreadableNumber:
    """A JSON number a lenient load left unconverted: too many digits, or beyond a float.

    Every reader takes it for a value of the wrong shape: a secondary field holding one is
    left empty (and noted), an identity field is refused. Only its literal's length is kept.
    """

    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length

    def __repr__(self) -> str:
        return f"UnreadableNumber(length={self.length})"


def load_object(body: bytes, *, keep_unreadable: bool = False) -> JSONObject:
    """Decode ``body`` and parse it as one JSON object.

    With ``keep_unreadable`` a number too large to read becomes an :class:`UnreadableNumber`
    instead of failing the whole body. A large body's long ``PDFBytes`` values are cut out
    before the load and put back after it (:mod:`.json_bulk`), to the same object.
    """
    decoder = _LENIENT if keep_unreadable else _STRICT
    sliced = load_sliced(body, partial(_load, decoder=decoder)) if len(body) >= MIN_BODY else None
    return _load(body, decoder) if sliced is None else sliced


def _load(body: bytes, decoder: json.JSONDecoder) -> JSONObject:
    """``body`` decoded by ``decoder``, every failure a ``ParseError``."""
    text = _decode(body)
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"JSON: malformed: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise ParseError("JSON: nested too deeply") from None
    except ValueError as exc:
        raise ParseError(f"JSON: cannot be read ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise ParseError(f"JSON: top level must be an object, not {_kind(value)}")
    return value


def _decode(body: bytes) -> str:
    """The body as text, in the encoding its first bytes show (UTF-8 by default)."""
    encoding = json.detect_encoding(body)
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        name = encoding.replace("-sig", "").upper()
        raise ParseError(f"JSON: body is not valid {name} text") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> JSONObject:
    """Build an object, rejecting a key that appears twice."""
    result: JSONObject = dict(pairs)
    if len(result) != len(pairs):
        raise ParseError("JSON: an object has the same key twice")
    return result


def _reject_constant(name: str) -> NoReturn:
    """Reject ``NaN``, ``Infinity`` and ``-Infinity``."""
    raise ParseError(f"JSON: {name} is not a valid JSON number")


def _integer(literal: str, keep: bool) -> int | UnreadableNumber:
    """An integer literal of at most ``MAX_INT_DIGITS`` digits (see :func:`_unreadable`)."""
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        return _unreadable(literal, keep, f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(literal)


def _float(literal: str, keep: bool) -> float | UnreadableNumber:
    """A float literal that is not absurdly long and stays finite (see :func:`_unreadable`)."""
    if len(literal) > MAX_FLOAT_LENGTH:
        return _unreadable(literal, keep, f"a number is longer than {MAX_FLOAT_LENGTH} characters")
    value = float(literal)
    return value if math.isfinite(value) else _unreadable(literal, keep, "a number is too large")


def _unreadable(literal: str, keep: bool, reason: str) -> UnreadableNumber:
    """The number kept unread when ``keep``, else a ``ParseError`` for ``reason``."""
    if keep:
        return UnreadableNumber(len(literal))
    raise ParseError(f"JSON: {reason}")


def _decoder(keep: bool) -> json.JSONDecoder:
    """A decoder with the refusals above, built once (``json.loads`` builds one per call)."""
    return json.JSONDecoder(
        object_pairs_hook=_unique_keys,
        parse_constant=_reject_constant,
        parse_int=partial(_integer, keep=keep),
        parse_float=partial(_float, keep=keep),
    )


_STRICT = _decoder(keep=False)
_LENIENT = _decoder(keep=True)


def plain(value: object) -> object:
    """``value`` (decoded JSON) with every :class:`UnreadableNumber` in it made ``None``.

    For the sections a notification keeps as the message carried them (``extras``).
    """
    if isinstance(value, UnreadableNumber):
        return None
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _kind(value: object) -> str:
    """A JSON name for the type of ``value``."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
