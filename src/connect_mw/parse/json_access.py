"""Typed, path-aware access to decoded JSON objects.

Each getter reads one key of an object, checks the JSON type and the value (with the checks
of :mod:`.values`) and raises ``ParseError`` naming the field (``JSON:
data.envelopeSummary.recipients.signers[0].routingOrder must be a non-negative integer``)
when it is wrong. A getter carries ``path`` and ``key`` and formats that label only when it
raises: the checks name the field by its key, and a failing one has the path put in front.
JSON ``null`` is treated like an absent key. Connect sends nearly every scalar as a string
(``"true"``, ``"1"``); counts and orders are also accepted as JSON integers and booleans as
JSON booleans.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from ..errors import ParseError
from .json_load import JSONObject, UnreadableNumber
from .timestamps import parse_timestamp
from .values import boolean, clean_text, count, identifier

_T = TypeVar("_T")
#: The JSON types a getter accepts, and the error's words for any other.
_Shape = tuple[type | tuple[type, ...], str]
_STRING: _Shape = (str, "must be a string")
_COUNT: _Shape = ((str, int), "must be a non-negative integer")
_BOOLEAN: _Shape = ((str, bool), "must be true or false")


def where(path: str, key: str) -> str:
    """The error label of ``key`` inside the object at ``path`` (``""`` for the top level)."""
    return f"JSON: {path}.{key}" if path else f"JSON: {key}"


def join(path: str, key: str) -> str:
    """The path of ``key`` inside the object at ``path``."""
    return f"{path}.{key}" if path else key


def _wrong(value: object, path: str, key: str, expected: str) -> ParseError:
    """The error for ``value`` under ``key``, not of the ``expected`` JSON type."""
    if isinstance(value, UnreadableNumber):  # left unread by a lenient load
        return ParseError(f"{where(path, key)} is a number too large to read")
    return ParseError(f"{where(path, key)} {expected}")


def get_object(obj: JSONObject, key: str, path: str) -> JSONObject | None:
    """The object under ``key``; ``None`` when absent or null."""
    value = obj.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise _wrong(value, path, key, "must be an object")


def get_objects(obj: JSONObject, key: str, path: str) -> list[JSONObject]:
    """The array of objects under ``key``; empty when absent or null."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(value, path, key, "must be an array")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ParseError(f"{where(path, key)}[{index}] must be an object")
    return value


def get_string(obj: JSONObject, key: str, path: str) -> str | None:
    """The raw string under ``key``; ``None`` when absent or null."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _wrong(value, path, key, "must be a string")


def _checked(
    obj: JSONObject,
    key: str,
    path: str,
    shape: _Shape,
    check: Callable[[Any, str], _T | None],
) -> _T | None:
    """``check(value, key)`` of the value under ``key`` if of ``shape``; ``None`` if absent.

    The check names the field by its key alone; a failing one gets the path put in front,
    so the label is built only for an error.
    """
    value = obj.get(key)
    if value is None:
        return None
    kinds, expected = shape
    if not isinstance(value, kinds):
        raise _wrong(value, path, key, expected)
    try:
        return check(value, key)
    except ParseError as error:
        raise ParseError(where(path, error.reason)) from None


def get_text(obj: JSONObject, key: str, path: str) -> str | None:
    """The stripped text under ``key``; ``None`` when absent, null or empty."""
    return _checked(obj, key, path, _STRING, clean_text)


def get_id(obj: JSONObject, key: str, path: str) -> str | None:
    """The identifier under ``key`` (see ``values.identifier``)."""
    return _checked(obj, key, path, _STRING, identifier)


def get_count(obj: JSONObject, key: str, path: str) -> int | None:
    """The non-negative integer under ``key``, given as a JSON integer or a digit string."""
    return _checked(obj, key, path, _COUNT, count)


def get_boolean(obj: JSONObject, key: str, path: str) -> bool | None:
    """The boolean under ``key``, given as a JSON boolean or ``"true"``/``"false"``."""
    return _checked(obj, key, path, _BOOLEAN, boolean)


def get_time(obj: JSONObject, key: str, path: str) -> datetime | None:
    """The timestamp under ``key``; times without an offset are UTC."""
    return _checked(obj, key, path, _STRING, parse_timestamp)
