"""Deciding whether a body is XML or JSON.

Connect posts both formats to the same endpoint, and the ``Content-Type`` header is not
always trustworthy, so the body decides first:

1. A byte-order mark is noted and skipped (UTF-8, UTF-16 and UTF-32, either byte order).
2. Leading whitespace (space, tab, CR, LF) is skipped.
3. The first remaining character decides: ``<`` is XML, ``{`` or ``[`` is JSON.
4. Anything else (including an empty body) falls back to the content type:
   ``text/xml``, ``application/xml`` or ``*+xml`` is XML, ``application/json`` or ``*+json``
   is JSON; otherwise the body is rejected as "neither XML nor JSON".

The body handed on to the XML parser has its leading whitespace removed (an XML declaration
must come first), keeping the BOM; UTF-32 XML, which expat cannot read, is decoded to text
first. JSON bodies are handed on whole: the JSON loader detects their encoding itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import ParseError

_WHITESPACE = b" \t\r\n"
_TEXT_WHITESPACE = " \t\r\n"
#: Byte-order marks, longest first so UTF-32 LE is not mistaken for UTF-16 LE.
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
#: How many bytes after a UTF-16/32 BOM are decoded at a time to find the first character.
_SNIFF_BYTES = 4096


class BodyKind(enum.Enum):
    """The two body syntaxes Connect uses."""

    XML = "xml"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Sniffed:
    """The sniffed syntax and the document to hand to that syntax's parser."""

    kind: BodyKind
    document: bytes | str


def sniff(body: bytes, content_type: str | None) -> Sniffed:
    """Decide how to parse ``body``; ``content_type`` breaks ties (see the module docstring)."""
    bom, encoding = _bom(body)
    first = _first_character(body[len(bom) :], encoding)
    kind = _kind_of(first) or _kind_of_media_type(content_type)
    if kind is None:
        raise ParseError("empty body" if first is None else "neither XML nor JSON")
    if kind is BodyKind.JSON:
        return Sniffed(kind, body)
    return Sniffed(kind, _xml_document(body, bom, encoding))


def _bom(body: bytes) -> tuple[bytes, str]:
    """The byte-order mark ``body`` starts with (or ``b""``) and the encoding it names."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return bom, encoding
    return b"", "utf-8"


def _first_character(rest: bytes, encoding: str) -> str | None:
    """The first non-whitespace character of ``rest`` (the body after its BOM)."""
    if encoding == "utf-8":
        stripped = rest.lstrip(_WHITESPACE)
        return chr(stripped[0]) if stripped else None
    unit = 4 if encoding.startswith("utf-32") else 2
    step = _SNIFF_BYTES - _SNIFF_BYTES % unit
    for start in range(0, len(rest), step):
        chunk = rest[start : start + step].decode(encoding, errors="replace")
        stripped_text = chunk.lstrip(_TEXT_WHITESPACE)
        if stripped_text:
            return stripped_text[0]
    return None


def _kind_of(first: str | None) -> BodyKind | None:
    """The syntax a first character announces, if any."""
    if first == "<":
        return BodyKind.XML
    if first in ("{", "["):
        return BodyKind.JSON
    return None


def _kind_of_media_type(content_type: str | None) -> BodyKind | None:
    """The syntax a media type names, if any (parameters and case are tolerated)."""
    if not content_type:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in ("text/xml", "application/xml") or media_type.endswith("+xml"):
        return BodyKind.XML
    if media_type == "application/json" or media_type.endswith("+json"):
        return BodyKind.JSON
    return None


def _xml_document(body: bytes, bom: bytes, encoding: str) -> bytes | str:
    """What to hand expat: leading whitespace removed; UTF-32 decoded to text."""
    if encoding.startswith("utf-32"):
        try:
            return body[len(bom) :].decode(encoding).lstrip(_TEXT_WHITESPACE)
        except UnicodeDecodeError:
            raise ParseError("XML: body is not valid UTF-32 text") from None
    if encoding == "utf-8":
        return bom + body[len(bom) :].lstrip(_WHITESPACE)
    return body
