"""A stored body decoded as a plain mapping, for fields the typed model does not cover.

JSON bodies go through the parser's own loader (:func:`~connect_mw.parse.json_load.load_object`:
duplicate keys, huge integers and non-finite numbers refused); XML bodies through the same
safe XML loader the parser uses, shown as an :class:`~connect_mw.parse.xml_view.XmlView`.
Either way the top level is the document's: ``{"event": ..., "data": {...}}`` for JSON SIM,
``{"DocuSignEnvelopeInformation": {...}}`` for XML.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from ..errors import ParseError
from .json_load import load_object
from .sniff import BodyKind, sniff
from .xml_view import XmlView, xml_view


def decode_body(body: bytes) -> Mapping[str, Any]:
    """``body`` as a read-only mapping (see the module docstring); ``ParseError`` if neither."""
    try:
        sniffed = sniff(body, None)
        if sniffed.kind is BodyKind.JSON:
            return MappingProxyType(load_object(body))
        return xml_view(sniffed.document)
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("nested too deeply") from None


class LazyBody(Mapping[str, Any]):
    """``raw`` decoded by :func:`decode_body` the first time it is read, then kept.

    What a callback sees as ``Delivery.body``. An empty ``raw`` reads as an empty mapping;
    a body that cannot be decoded raises ``ParseError`` when read.
    """

    __slots__ = ("_decoded", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._decoded: Mapping[str, Any] | None = None

    def _mapping(self) -> Mapping[str, Any]:
        if self._decoded is None:
            self._decoded = decode_body(self.raw) if self.raw else MappingProxyType({})
        return self._decoded

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __repr__(self) -> str:
        state = "decoded" if self._decoded is not None else "not decoded yet"
        return f"LazyBody({len(self.raw)} bytes, {state})"


__all__ = ["LazyBody", "XmlView", "decode_body"]
