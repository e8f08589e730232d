"""An event's raw body on its dashboard page: a preview, and the whole body as a download.

The page shows the first :data:`RAW_PREVIEW` bytes decoded as UTF-8 (invalid bytes
replaced), HTML-escaped like every value; the download link serves the body byte for byte as
an attachment (``application/octet-stream``, never rendered by the browser). The body is
what :meth:`~connect_mw.stores.api.Store.get_event` returns: an
:class:`~connect_mw.stores.EncryptedStore` opens it, any other store returns it as stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import PayloadFormat
from ..stores.api import StoredEvent

#: The most bytes of a body an event page shows (the rest: the download link).
RAW_PREVIEW = 64 * 1024
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS = {PayloadFormat.XML_LEGACY: "xml", PayloadFormat.UNPARSED: "bin"}


@dataclass(frozen=True)
class RawPreview:
    """The start of a body as text: ``shown`` of its ``size`` bytes."""

    text: str
    shown: int
    size: int

    @property
    def truncated(self) -> bool:
        """Whether bytes were left out."""
        return self.shown < self.size


def preview(raw: bytes | None, limit: int = RAW_PREVIEW) -> RawPreview | None:
    """The first ``limit`` bytes of ``raw`` as text (``None`` without a body)."""
    if raw is None:
        return None
    head = raw[:limit]
    return RawPreview(head.decode("utf-8", "replace"), len(head), len(raw))


def download_name(event: StoredEvent) -> str:
    """A file name for the body: the key made safe, with the format's extension."""
    stem = _UNSAFE_NAME.sub("_", event.key).strip("._")[:100] or "event"
    return f"{stem}.{_EXTENSIONS.get(event.format, 'json')}"
