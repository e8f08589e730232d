"""Loading XML safely and reading it namespace-aware.

Bodies are parsed with ``defusedxml`` with DTDs, entity declarations and external
references all forbidden, so entity-expansion bombs and external entity tricks fail before
any element is built. Element access only counts elements in the DocuSign namespace
(``http://www.docusign.net/API/3.0``) or in no namespace at all (hand-written bodies); an
element of the same local name in any other namespace is invisible. A scalar element that
appears twice where one is expected is an error, never a silent choice.
"""

from __future__ import annotations

import threading
import weakref
from pyexpat import ErrorString
from xml.etree.ElementTree import Element, TreeBuilder
from xml.etree.ElementTree import ParseError as ExpatParseError

import defusedxml.ElementTree as DefusedET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from ..errors import ParseError
from .values import clean_text

#: The namespace of DocuSign's ``DocuSignEnvelopeInformation`` documents.
DOCUSIGN_NAMESPACE = "http://www.docusign.net/API/3.0"

#: Deepest element nesting accepted (real Connect documents need about ten levels).
MAX_DEPTH = 64
_CHILDREN = threading.local()
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_DOCUSIGN_PREFIX = "{" + DOCUSIGN_NAMESPACE + "}"


class _DepthLimitedBuilder(TreeBuilder):
    """A tree builder that refuses documents nested deeper than ``MAX_DEPTH``.

    Connect documents are about ten levels deep; without a bound a body of ``<a><a>…``
    builds millions of elements. Raising from ``start`` stops expat at once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ParseError(f"XML: nested deeper than {MAX_DEPTH} elements")
        return super().start(tag, attrs)

    def end(self, tag: str) -> Element:
        self._depth -= 1
        return super().end(tag)


def load(document: bytes | str) -> Element:
    """Parse an XML document with DTDs, entities and external references forbidden."""
    parser = DefusedET.DefusedXMLParser(target=_DepthLimitedBuilder(), forbid_dtd=True)
    try:
        parser.feed(document)
        return parser.close()
    except DTDForbidden:
        raise ParseError("XML: document type declarations (DTDs) are not allowed") from None
    except EntitiesForbidden:
        raise ParseError("XML: entity declarations are not allowed") from None
    except ExternalReferenceForbidden:
        raise ParseError("XML: external references are not allowed") from None
    except ExpatParseError as exc:
        raise ParseError(f"XML: not well-formed: {_describe(exc)}") from None
    except RecursionError:
        raise ParseError("XML: nested too deeply") from None
    except (ValueError, LookupError, UnicodeError) as exc:
        raise ParseError(f"XML: cannot be read ({type(exc).__name__})") from None


def _describe(exc: ExpatParseError) -> str:
    """Expat's message for the error and where it happened, without any body text."""
    code = getattr(exc, "code", None)
    message = ErrorString(code) if isinstance(code, int) else None
    line, column = getattr(exc, "position", (0, 0))
    return f"{message or 'syntax error'} at line {line}, column {column}"


def local_name(element: Element) -> str | None:
    """The element's name if it is in the DocuSign namespace or none, else ``None``."""
    tag: object = element.tag
    if not isinstance(tag, str):
        return None
    if tag.startswith(_DOCUSIGN_PREFIX):
        return tag[len(_DOCUSIGN_PREFIX) :]
    if tag.startswith("{"):
        return None
    return tag


def _children_by_name(parent: Element) -> dict[str, list[Element]]:
    """``parent``'s children grouped by local name, built once per element.

    The mapping reads dozens of fields from each element; without the index every lookup
    rescanned all children. The cache is per thread and forgets an element with its tree.
    """
    cache: weakref.WeakKeyDictionary[Element, dict[str, list[Element]]] | None
    cache = getattr(_CHILDREN, "index", None)
    if cache is None:
        cache = _CHILDREN.index = weakref.WeakKeyDictionary()
    index = cache.get(parent)
    if index is None:
        index = {}
        for element in parent:
            name = local_name(element)
            if name is not None:
                index.setdefault(name, []).append(element)
        cache[parent] = index
    return index


def children(parent: Element, name: str) -> list[Element]:
    """Every child of ``parent`` called ``name`` (in the DocuSign namespace or none)."""
    return list(_children_by_name(parent).get(name, ()))


def child(parent: Element, name: str, path: str) -> Element | None:
    """The one child called ``name``; ``None`` if absent, ``ParseError`` if repeated.

    ``path`` is where ``parent`` is, for error reasons.
    """
    found = children(parent, name)
    if len(found) > 1:
        raise ParseError(f"XML: {path}/{name} appears {len(found)} times (ambiguous)")
    return found[0] if found else None


def text(element: Element | None, path: str) -> str | None:
    """The stripped text of a scalar element; ``None`` when absent, empty or ``xsi:nil``."""
    if element is None:
        return None
    if element.get(_XSI_NIL, "").strip().lower() in ("true", "1"):
        return None
    if len(element):
        raise ParseError(f"XML: {path} must hold text, not elements")
    return clean_text(element.text, f"XML: {path}")


def child_text(parent: Element, name: str, path: str) -> str | None:
    """The text of ``parent``'s one child called ``name`` (see ``child`` and ``text``)."""
    return text(child(parent, name, path), f"{path}/{name}")
