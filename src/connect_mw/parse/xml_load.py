"""Loading an XML body safely into an ``XmlElement`` tree.

Bodies are read by expat (``pyexpat``) with handlers of our own. Safety:

* any ``<!DOCTYPE`` raises at the declaration, before its internal subset is read, and
  expat stops there (60 MB after it cost under a millisecond), so no entity can be
  declared, expanded or fetched (billion laughs, quadratic blowup, external entities,
  external DTDs, parameter entities); the entity and external reference handlers refuse as
  well, in case a declaration ever got that far;
* expat itself refuses references to undeclared entities;
* an element nested deeper than ``MAX_DEPTH`` stops the parse as soon as expat reaches it.

The body is handed to expat in one final call, which expat reads in place. (Feeding it in
slices would not save memory, and expat before 2.6 rescans a token that spans slices at
every slice: a 60 MB attribute fed in 64 KiB slices takes minutes instead of seconds.)

Speed and memory: only what the mapping reads is kept (see ``xml_tree``). The text of
*bulky* elements (``PDFBytes``, base64 documents of many megabytes) is not collected from
expat piece by piece: when the body is UTF-8 or ASCII, the element's content is decoded
straight from the body between its start and end tags, one copy, once. That content is used
only when it is plain ASCII text without ``&``, ``<`` or a carriage return — exactly when it
is the character data expat reports (no references, CDATA, comments or line-end
normalization). Otherwise the body is parsed again, collecting the text as for any element.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import NoReturn, TypeGuard
from xml.parsers.expat import ErrorString, ExpatError, ParserCreate, XMLParserType

from ..errors import ParseError
from .xml_tree import DOCUSIGN_NAMESPACE, XmlElement

#: Deepest element nesting accepted (real Connect documents need about ten levels).
MAX_DEPTH = 64
#: The elements the parser and the raw view load as bulky (base64 documents).
BULKY = frozenset({"PDFBytes"})

_SEPARATOR = "}"
_DOCUSIGN = DOCUSIGN_NAMESPACE + _SEPARATOR
_XSI_NIL = "http://www.w3.org/2001/XMLSchema-instance" + _SEPARATOR + "nil"
_TRUE = ("true", "1")
#: Declared encodings under which an ASCII byte in the body is that ASCII character.
_ASCII_COMPATIBLE = frozenset({"utf-8", "us-ascii"})
_UTF8_BOM = b"\xef\xbb\xbf"
#: Whitespace trimmed from bulky text read from the body (trailing: at most 64 bytes).
_SPACE_BYTES = b" \t\n"
_SPACE = re.compile(b"[ \t\n]*")
_TRIM_LIMIT = 64
#: A whole start tag: quoted attribute values may hold ``>``; nothing else in a tag may.
_START_TAG = re.compile(rb"""<[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")


class _NotLiteral(Exception):
    """A bulky element's content is not its text verbatim: parse again, collecting it."""


def load(document: bytes | str, bulky: Collection[str] = ()) -> XmlElement:
    """Parse an XML document with DTDs, entities and external references forbidden.

    Returns the document node, whose one child is the root element. ``bulky`` names
    elements whose text may be large (read from the body in one piece when possible).
    """
    body = document if bulky and _ascii_transparent(document) else None
    try:
        return _parse(document, bulky, body)
    except _NotLiteral:
        return _parse(document, bulky, None)


def _ascii_transparent(document: bytes | str) -> TypeGuard[bytes]:
    """Whether expat reads ``document`` as UTF-8 unless its XML declaration says otherwise.

    True for bytes starting with a UTF-8 byte-order mark, or with ``<`` not followed by a
    NUL byte (which expat would take for UTF-16).
    """
    if not isinstance(document, bytes):
        return False
    return document.startswith(_UTF8_BOM) or (document[:1] == b"<" and document[1:2] != b"\0")


def _parse(document: bytes | str, bulky: Collection[str], body: bytes | None) -> XmlElement:
    """One expat run over ``document``; every failure becomes a ``ParseError``.

    ``body`` is ``document`` when bulky elements may be read from it, else ``None``.
    """
    parser = _parser()
    tree = _Tree(parser, bulky, body)
    try:
        parser.Parse(document, True)
    except ExpatError as exc:
        raise ParseError(f"XML: not well-formed: {_describe(exc)}") from None
    except (ValueError, LookupError, UnicodeError) as exc:
        raise ParseError(f"XML: cannot be read ({type(exc).__name__})") from None
    finally:
        tree.detach()
    return tree.document


def _parser() -> XMLParserType:
    """A namespace-aware expat parser with every DTD feature refused."""
    parser = ParserCreate(None, _SEPARATOR)
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refusal("document type declarations (DTDs)")
    parser.EntityDeclHandler = parser.UnparsedEntityDeclHandler = _refusal("entity declarations")
    parser.ExternalEntityRefHandler = _refusal("external references")
    return parser


def _describe(exc: ExpatError) -> str:
    """Expat's message for the error and where it happened, without any body text."""
    message = ErrorString(exc.code) if isinstance(exc.code, int) else None
    return f"{message or 'syntax error'} at line {exc.lineno}, column {exc.offset}"


def _local_name(name: str) -> str | None:
    """Expat's ``namespace}local`` name as a local name; ``None`` for a foreign namespace."""
    if _SEPARATOR not in name:
        return name
    if name.startswith(_DOCUSIGN):
        return name[len(_DOCUSIGN) :]
    return None


def _refusal(what: str) -> Callable[..., NoReturn]:
    """An expat handler that stops the parse: ``what`` is not allowed."""

    def refuse(*_: object) -> NoReturn:
        raise ParseError(f"XML: {what} are not allowed")

    return refuse


class _Tree:
    """The ``XmlElement`` tree of one document, built by ``parser``'s handlers.

    The element handlers are closures (``_element_handlers``): expat calls them for every
    element, and local variables are the cheapest state Python has. While a bulky element
    is *held* (its text to be read from the body), other handlers stand in; a child element
    inside it, whose text would not be collected, means parsing again.
    """

    __slots__ = ("_body", "_held_from", "_resume", "document", "parser")

    def __init__(self, parser: XMLParserType, bulky: Collection[str], body: bytes | None) -> None:
        self.document = XmlElement()
        self.parser = parser
        self._body = body
        self._held_from = 0
        self._resume = self._element_handlers(bulky)
        parser.XmlDeclHandler = self._declaration

    def detach(self) -> None:
        """Drop the parser and handlers, which refer back to this tree: no cycle for the GC."""
        del self.parser, self._resume

    def _declaration(self, version: str, encoding: str | None, standalone: int) -> None:
        """A declared encoding other than UTF-8 or ASCII rules out reading from the body."""
        if encoding is not None and encoding.lower() not in _ASCII_COMPATIBLE:
            self._body = None

    def _element_handlers(self, bulky: Collection[str]) -> Callable[[], None]:
        """Install the element and text handlers; return what reinstalls them."""
        stack = [self.document]
        text: list[str] = []
        clear, push, pop = text.clear, stack.append, stack.pop

        def start(name: str, attributes: dict[str, str]) -> None:
            if len(stack) > MAX_DEPTH:
                raise ParseError(f"XML: nested deeper than {MAX_DEPTH} elements")
            clear()
            element = XmlElement()
            parent = stack[-1]
            parent.size += 1
            push(element)
            if attributes:
                element.nil = attributes.get(_XSI_NIL, "").strip().lower() in _TRUE
            local = _local_name(name)
            if local is None:
                return
            index = parent.children
            if index is None:
                parent.children = {local: [element]}
            elif local in index:
                index[local].append(element)
            else:
                index[local] = [element]
            if local in bulky:
                self._hold(element, pop)

        def end(name: str) -> None:
            element = pop()
            if text:
                if not element.size:
                    element.text = "".join(text)
                clear()

        def resume() -> None:
            self.parser.StartElementHandler = start
            self.parser.EndElementHandler = end
            self.parser.CharacterDataHandler = text.append

        resume()
        return resume

    def _hold(self, element: XmlElement, pop: Callable[[], XmlElement]) -> None:
        """Read ``element``'s text from the body at its end instead of collecting it.

        ``pop`` takes the element off the open-element stack when it ends.
        """
        parser, body = self.parser, self._body
        if body is None:
            return
        tag = _START_TAG.match(body, parser.CurrentByteIndex)
        if tag is None:  # cannot happen: expat has just read this start tag
            raise _NotLiteral
        self._held_from = tag.end()

        def end_held(name: str) -> None:
            self._release(pop())

        parser.CharacterDataHandler = None
        parser.StartElementHandler = _start_held
        parser.EndElementHandler = end_held

    def _release(self, element: XmlElement) -> None:
        """The held element ends: set its text from the body (see the module docstring)."""
        self._resume()
        body = self._body
        if body is None:  # cannot happen: the XML declaration comes before any element
            raise _NotLiteral
        start, end = _trimmed(body, self._held_from, self.parser.CurrentByteIndex)
        if end <= start:
            return
        try:
            content = str(memoryview(body)[start:end], "ascii")
        except UnicodeDecodeError:
            raise _NotLiteral from None
        if "&" in content or "<" in content or "\r" in content:
            raise _NotLiteral
        element.text = content


def _trimmed(body: bytes, start: int, end: int) -> tuple[int, int]:
    """``body[start:end]`` without the spaces, tabs and line feeds around it (mostly).

    ``text`` strips them anyway; trimming the bytes saves a second copy of the text.
    Trailing whitespace is trimmed in the last ``_TRIM_LIMIT`` bytes only (a short copy);
    any before them is left for ``text``.
    """
    if end <= start:
        return start, start
    leading = _SPACE.match(body, start, end)
    if leading is not None:  # always: the pattern matches the empty string
        start = leading.end()
    tail = body[max(start, end - _TRIM_LIMIT) : end]
    return start, end - len(tail) + len(tail.rstrip(_SPACE_BYTES))


def _start_held(name: str, attributes: dict[str, str]) -> NoReturn:
    """An element inside the held one: its text is lost, parse again collecting it."""
    raise _NotLiteral
