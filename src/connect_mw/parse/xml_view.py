"""A read-only, dict-like view of a loaded XML tree: the raw XML message as a mapping.

Built on the tree :func:`connect_mw.parse.xml_load.load` makes (the same safe loader the
parser uses: no DTD, no entities, bounded depth), so reading a field the model does not
cover opens no new XML attack surface. ``view["EnvelopeStatus"]["Subject"]`` is text; an
element with child elements is another view; an element that appears more than once is a
list; ``xsi:nil`` and empty elements are ``None``. Only elements in DocuSign's namespace (or
none) are visible, as for the parser; attributes are not kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .xml_load import BULKY, load
from .xml_tree import XmlElement


class XmlView(Mapping[str, Any]):
    """The child elements of one XML element, by local name (see the module docstring)."""

    __slots__ = ("_element",)

    def __init__(self, element: XmlElement) -> None:
        self._element = element

    def __getitem__(self, name: str) -> Any:
        found = (self._element.children or {}).get(name)
        if not found:
            raise KeyError(name)
        if len(found) == 1:
            return element_value(found[0])
        return [element_value(element) for element in found]

    def __iter__(self) -> Iterator[str]:
        return iter(self._element.children or {})

    def __len__(self) -> int:
        return len(self._element.children or {})

    def __repr__(self) -> str:
        return f"XmlView({sorted(self)!r})"


def element_value(element: XmlElement) -> XmlView | str | None:
    """An element as the view shows it: a view when it has children, else its text."""
    if element.nil:
        return None
    if element.size:
        return XmlView(element)
    text = element.text
    return None if text is None else (text.strip() or None)


def xml_view(document: bytes | str) -> XmlView:
    """The whole document as a view: ``{"DocuSignEnvelopeInformation": {...}}``."""
    return XmlView(load(document, BULKY))
