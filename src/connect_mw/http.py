"""Framework-free request and response values exchanged between adapters and the core."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


def lower_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case header names once; repeated headers are joined with ``", "`` as HTTP allows."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as the core sees it: header names are lower-case, the body is raw."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str | None:
        """The media type without parameters, lower-cased, or ``None`` when absent."""
        value = self.headers.get("content-type")
        if not value:
            return None
        return value.split(";", 1)[0].strip().lower() or None


@dataclass(frozen=True, slots=True)
class Response:
    """The core's answer; adapters translate it into their framework's response."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
