"""Large JSON bodies loaded without a whole-body text copy.

A 25 MB Connect body is almost all base64 ``PDFBytes``. ``json.loads`` needs the body as
text (a full copy) beside the strings it makes (a second). Here each long ``PDFBytes``
value of plain base64 is cut from the bytes and replaced by a placeholder; the rest is
loaded by the strict loader and the values, decoded straight from the body, are put back.
Where the result cannot be shown to be the whole-body load's (a cut not landing on a
``PDFBytes`` value, a placeholder met twice or not at all, any refusal) the caller loads
the whole body, so every refusal and its message stay the strict loader's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

from ..errors import ParseError

#: Bodies shorter than this are loaded whole (no copy worth saving).
MIN_BODY = 1 << 20
#: ``PDFBytes`` values shorter than this stay in the loaded rest.
MIN_VALUE = 1 << 16

_KEY = b'"PDFBytes"'
#: After the key: JSON whitespace, the colon, whitespace, the value's opening quote.
_OPENING = re.compile(rb'[ \t\n\r]*:[ \t\n\r]*"')
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#: Bytes of a value checked at a time (the check copies them).
_CHUNK = 1 << 20


def load_sliced(
    body: bytes, load: Callable[[bytes], dict[str, object]], min_value: int = MIN_VALUE
) -> dict[str, object] | None:
    """``load(body)``'s object, loaded with the long ``PDFBytes`` values cut out, or ``None``.

    ``None`` means the body has no value to cut, or the cut load could not be shown equal
    to the whole one (the caller then loads the whole body). Only UTF-8 bodies without a
    BOM are cut: the values are ASCII and the rest keeps the body's first bytes.
    """
    if json.detect_encoding(body) != "utf-8":
        return None
    view = memoryview(body)
    spans = list(_long_values(body, view, min_value))
    if not spans:
        return None
    pieces: list[bytes | memoryview] = []
    start = 0
    for index, (begin, end) in enumerate(spans):
        pieces += (view[start:begin], b"\\u0000%d" % index)
        start = end
    pieces.append(view[start:])
    try:
        top = load(b"".join(pieces))
    except ParseError:
        return None
    values = {
        f"\x00{index}": str(view[begin:end], "ascii") for index, (begin, end) in enumerate(spans)
    }
    try:
        return top if _restore(top, values) == len(spans) else None
    except RecursionError:  # nested deeper than this walk may go: the whole load decides
        return None


def _long_values(body: bytes, view: memoryview, min_value: int) -> Iterator[tuple[int, int]]:
    """The spans of base64 ``PDFBytes`` string values of ``min_value`` bytes or more.

    A span ends at the first quote after the opening one: base64 holds no backslash, so
    that quote closes the string.
    """
    at = body.find(_KEY)
    while at >= 0:
        opening = _OPENING.match(body, at + len(_KEY))
        if opening is not None:
            begin = opening.end()
            end = body.find(b'"', begin)
            if end - begin >= min_value and _base64(view, begin, end):
                yield begin, end
                at = end
        at = body.find(_KEY, at + 1)


def _base64(view: memoryview, begin: int, end: int) -> bool:
    """Whether ``view[begin:end]`` holds only base64 characters (checked a chunk at a time)."""
    return not any(
        bytes(view[at : min(at + _CHUNK, end)]).translate(None, _BASE64)
        for at in range(begin, end, _CHUNK)
    )


def _restore(value: object, values: dict[str, str]) -> int:
    """Put each placeholder's value back in ``value``; how many were put back.

    A placeholder counts only as a ``PDFBytes`` member's whole value, and only once: a
    member holding a NUL-led string that is no placeholder left to use counts -1, so the
    total equals the number cut only if every value went back where it was cut from.
    """
    restored = 0
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "PDFBytes" and isinstance(item, str) and item[:1] == "\x00":
                found = values.pop(item, None)
                if found is None:
                    restored -= 1
                else:
                    value[key] = found
                    restored += 1
            else:
                restored += _restore(item, values)
    elif isinstance(value, list):
        restored = sum(_restore(item, values) for item in value)
    return restored
