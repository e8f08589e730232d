"""Fake PDF documents of a chosen size, as Connect embeds them (base64 ``PDFBytes``)."""

from __future__ import annotations

import base64
from functools import lru_cache

_HEAD = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
_TAIL = b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def fake_pdf(size: int, title: str = "connect-mw simulator") -> bytes:
    """A PDF-looking byte string of exactly ``size`` bytes (at least its skeleton's length)."""
    head = _HEAD + f"% {title}\n".encode()
    filler = max(0, size - len(head) - len(_TAIL))
    line = b"% " + b"connect-mw " * 7 + b"\n"
    padding = (line * (filler // len(line) + 1))[:filler]
    return head + padding + _TAIL


@lru_cache(maxsize=8)
def encoded_pdf(size: int, title: str = "connect-mw simulator") -> str:
    """:func:`fake_pdf` as base64 text, cached: many messages carry the same document."""
    return base64.b64encode(fake_pdf(size, title)).decode("ascii")
