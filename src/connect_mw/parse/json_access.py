"""Typed, path-aware access to decoded JSON objects.

Each getter reads one key of an object, checks the JSON type and raises ``ParseError``
naming the field (``JSON: data.envelopeSummary.recipients.signers[0].routingOrder must be a
non-negative integer``) when it is wrong. The common case (plain ASCII text, an id, a
timestamp in DocuSign's usual shape) is answered first without building that label. JSON
``null`` is treated like an absent key. Connect sends nearly every scalar as a string
(``"true"``, ``"1"``); counts and orders are also accepted as JSON integers and booleans as
JSON booleans.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import ParseError
from .json_load import JSONObject, UnreadableNumber
from .timestamps import parse_timestamp, quick_timestamp
from .values import boolean, clean_text, count, identifier, plain_identifier, plain_text


def where(path: str, key: str) -> str:
    """The error label of ``key`` inside the object at ``path`` (``""`` for the top level)."""
    return f"JSON: {path}.{key}" if path else f"JSON: {key}"


def join(path: str, key: str) -> str:
    """The path of ``key`` inside the object at ``path``."""
    return f"{path}.{key}" if path else key


def _value(obj: JSONObject, key: str, path: str) -> object:
    """The value under ``key``; ``ParseError`` for a number a lenient load left unread."""
    value = obj.get(key)
    if isinstance(value, UnreadableNumber):
        raise ParseError(f"{where(path, key)} is a number too large to read")
    return value


def get_object(obj: JSONObject, key: str, path: str) -> JSONObject | None:
    """The object under ``key``; ``None`` when absent or null."""
    value = _value(obj, key, path)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ParseError(f"{where(path, key)} must be an object")
    return value


def get_objects(obj: JSONObject, key: str, path: str) -> list[JSONObject]:
    """The array of objects under ``key``; empty when absent or null."""
    value = _value(obj, key, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ParseError(f"{where(path, key)} must be an array")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ParseError(f"{where(path, key)}[{index}] must be an object")
    return value


def get_string(obj: JSONObject, key: str, path: str) -> str | None:
    """The raw string under ``key``; ``None`` when absent or null."""
    value = _value(obj, key, path)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(f"{where(path, key)} must be a string")
    return value


def get_text(obj: JSONObject, key: str, path: str) -> str | None:
    """The stripped text under ``key``; ``None`` when absent, null or empty."""
    value = _value(obj, key, path)
    if value is None:
        return None
    if type(value) is str and plain_text(value):
        return value.strip() or None
    text = get_string(obj, key, path)  # the checks that name the field in their errors
    return None if text is None else clean_text(text, where(path, key))


def get_id(obj: JSONObject, key: str, path: str) -> str | None:
    """The identifier under ``key`` (see ``values.identifier``)."""
    value = _value(obj, key, path)
    if value is None:
        return None
    if type(value) is str:
        quick = plain_identifier(value)
        if quick is not None:
            return quick
    text = get_string(obj, key, path)
    return None if text is None else identifier(text, where(path, key))


def get_count(obj: JSONObject, key: str, path: str) -> int | None:
    """The non-negative integer under ``key``, given as a JSON integer or a digit string."""
    value = _value(obj, key, path)
    if value is None:
        return None
    if not isinstance(value, (str, int)):
        raise ParseError(f"{where(path, key)} must be a non-negative integer")
    return count(value, where(path, key))


def get_boolean(obj: JSONObject, key: str, path: str) -> bool | None:
    """The boolean under ``key``, given as a JSON boolean or ``"true"``/``"false"``."""
    value = _value(obj, key, path)
    if value is None:
        return None
    if not isinstance(value, (str, bool)):
        raise ParseError(f"{where(path, key)} must be true or false")
    return boolean(value, where(path, key))


def get_time(obj: JSONObject, key: str, path: str) -> datetime | None:
    """The timestamp under ``key``; times without an offset are UTC."""
    value = _value(obj, key, path)
    if value is None:
        return None
    if type(value) is str:
        quick = quick_timestamp(value)
        if quick is not None:
            return quick
    text = get_string(obj, key, path)
    return None if text is None else parse_timestamp(text, where(path, key))
