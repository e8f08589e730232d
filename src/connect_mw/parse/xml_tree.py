"""The XML tree the legacy-format mapping reads, and namespace-aware access to it.

``xml_load.load`` builds it: one ``XmlElement`` per element, holding only what the mapping
needs — its children grouped by local name, its text when it has no children, and whether it
is ``xsi:nil``. Element access only counts elements in the DocuSign namespace
(``http://www.docusign.net/API/3.0``) or in no namespace at all (hand-written bodies); an
element of the same local name in any other namespace is invisible, though it still counts
as a child (a scalar holding one is still refused). A scalar element that appears twice
where one is expected is an error, never a silent choice.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ParseError
from .values import clean_text

#: The namespace of DocuSign's ``DocuSignEnvelopeInformation`` documents.
DOCUSIGN_NAMESPACE = "http://www.docusign.net/API/3.0"


class XmlElement:
    """One element (or the document node above the root element).

    ``children`` maps local names to the visible child elements of that name, in document
    order (``None`` when there are none); ``size`` counts every child element, visible or
    not; ``text`` is the element's character data when it has no children (``None`` when
    it has none; for a bulky element read from the body, without the whitespace around it,
    which ``text`` strips anyway); ``nil`` is true for ``xsi:nil="true"`` (or ``"1"``).
    """

    __slots__ = ("children", "nil", "size", "text")

    def __init__(self) -> None:
        self.children: dict[str, list[XmlElement]] | None = None
        self.size = 0
        self.text: str | None = None
        self.nil = False


_NONE: Sequence[XmlElement] = ()


def children(parent: XmlElement, name: str) -> Sequence[XmlElement]:
    """Every child of ``parent`` called ``name`` (in the DocuSign namespace or none)."""
    index = parent.children
    if index is None:
        return _NONE
    return index.get(name, _NONE)


def child(parent: XmlElement, name: str, path: str) -> XmlElement | None:
    """The one child called ``name``; ``None`` if absent, ``ParseError`` if repeated.

    ``path`` is where ``parent`` is, for error reasons.
    """
    found = children(parent, name)
    if not found:
        return None
    if len(found) > 1:
        raise ParseError(f"XML: {path}/{name} appears {len(found)} times (ambiguous)")
    return found[0]


def text(element: XmlElement | None, path: str) -> str | None:
    """The stripped text of a scalar element; ``None`` when absent, empty or ``xsi:nil``."""
    if element is None or element.nil:
        return None
    if element.size:
        raise ParseError(f"XML: {path} must hold text, not elements")
    value = element.text
    if value is None:
        return None
    return clean_text(value, f"XML: {path}")


def child_text(parent: XmlElement, name: str, path: str) -> str | None:
    """The text of ``parent``'s one child called ``name`` (see ``child`` and ``text``)."""
    return text(child(parent, name, path), f"{path}/{name}")
