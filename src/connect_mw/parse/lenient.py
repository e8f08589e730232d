"""Secondary fields: read leniently, left empty when their shape is unexpected.

Strictness belongs to what identifies a message — the envelope id, the event (for XML and
aggregate JSON: the envelope status it is derived from), the generation time and the
``TimeZoneOffset`` that time is read in. Everything else (recipients, their orders, times
and ids, the summary object, sender, custom fields, documents, tabs, counters such as
``retryCount``) is *secondary*: a value of an unexpected shape (``routingOrder: "abc"``, a
``recipients`` that is a string, a summary that is not an object) is left empty in the
model, stays in the raw body the store keeps, and is reported once per message as a
warning. It never sends a genuine DocuSign message to the dead letters.

:class:`Leniency` collects those reasons while one message is parsed. ``STRICT`` (used by
the REST envelope reader, :mod:`connect_mw.parse.rest`) raises instead: an envelope read
over the API is a reply to our own request, and a shape we cannot read there is a bug to
see, not a message to keep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ..errors import ParseError
from .json_access import get_objects, where
from .json_load import JSONObject

_P = ParamSpec("_P")
_T = TypeVar("_T")
#: Reasons kept per message (the rest are only counted).
MAX_REASONS = 10


class Leniency:
    """The secondary fields left empty while parsing one message, and why.

    ``strict=True`` re-raises every ``ParseError`` instead (see :data:`STRICT`).
    """

    __slots__ = ("count", "reasons", "strict")

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.reasons: list[str] = []
        self.count = 0

    def skip(self, reason: str) -> None:
        """Note that a field was left empty because of ``reason`` (raise if strict)."""
        if self.strict:
            raise ParseError(reason)
        self.count += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)

    def read(self, func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T | None:
        """``func(*args, **kwargs)``, or ``None`` (noted) when it raises ``ParseError``."""
        if self.strict:
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except ParseError as exc:
            self.skip(exc.reason)
            return None

    def objects(self, obj: JSONObject, key: str, path: str) -> list[JSONObject]:
        """The objects of the JSON array under ``key``; other items are skipped (noted)."""
        if self.strict:
            return get_objects(obj, key, path)
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.skip(f"{where(path, key)} must be an array")
            return []
        found: list[JSONObject] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                found.append(item)
            else:
                self.skip(f"{where(path, key)}[{index}] must be an object")
        return found

    def summary(self) -> tuple[str, ...]:
        """The reasons kept, and a last line counting the others when some were dropped."""
        more = self.count - len(self.reasons)
        tail = (f"and {more} more",) if more > 0 else ()
        return (*self.reasons, *tail)


#: Raises every ``ParseError``: for readers that must stay strict (REST replies).
STRICT = Leniency(strict=True)
