r"""Showing identifiers to people: invisible and direction-changing characters made visible.

An envelope id is any text a signed body carries. One holding a right-to-left override
(U+202E), a zero-width space (U+200B) or a BOM (U+FEFF) looks, printed raw, exactly like a
genuine id, or like a different one; a line feed in it forges a second log line. So every
place that shows an identifier to a person — log lines, the CLI's tables, the dashboard —
passes it through :func:`display`, while stores and JSON output keep the raw text.

:func:`display` escapes every character Python does not call printable (``str.isprintable``:
control characters, the bidirectional controls U+200E/F, U+202A to U+202E and U+2066 to U+2069,
zero-width characters, U+2060, the BOM, separators other than the ASCII space, unassigned
and private-use code points) as ``\xNN``, ``\uNNNN`` or ``\UNNNNNNNN``, and doubles a
backslash, so a displayed text is one line of visible characters and names exactly one raw
text: :func:`undisplay` gives it back (to look up an id pasted from a log line). An escape
:func:`display` never writes (``\U`` beyond U+10FFFF) stays as typed.
"""

from __future__ import annotations

import re

_LAST_CODE_POINT = 0x10FFFF
_ESCAPE = re.compile(r"\\(?:\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _escape(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char.isprintable():
        return char
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    if point < 0x10000:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


def display(text: str) -> str:
    """``text`` with every invisible or control character escaped (see the module doc)."""
    if text.isprintable() and "\\" not in text:
        return text  # the usual id: nothing to escape, no copy
    return "".join(_escape(char) for char in text)


def display_optional(text: str | None, missing: str = "-") -> str:
    """:func:`display`, or ``missing`` for ``None`` and the empty string."""
    return display(text) if text else missing


def undisplay(shown: str) -> str:
    """The raw text :func:`display` showed as ``shown`` (its exact inverse)."""
    if "\\" not in shown:
        return shown
    return _ESCAPE.sub(_unescape, shown)


def _unescape(match: re.Match[str]) -> str:
    escape = match.group()
    if escape == "\\\\":
        return "\\"
    point = int(escape[2:], 16)
    # display never writes a code point beyond U+10FFFF: such an escape stays as typed
    return chr(point) if point <= _LAST_CODE_POINT else escape
