"""Typed results of the REST operations, read from DocuSign's JSON.

DocuSign writes nearly every scalar as a string (``"resultSetSize": "2"``, ``"true"``); the
readers here accept those and plain JSON numbers and booleans alike. Objects too large to
model (an envelope, its recipients, form data) stay ``JSONObject``; every typed result keeps
the object it was read from as ``raw``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import ConnectError
from ..parse.timestamps import parse_timestamp

#: A JSON object as decoded by ``json.loads``.
JSONObject = dict[str, Any]

_FILENAME = re.compile(r'filename="?([^";]+)"?', re.IGNORECASE)


def text(obj: Mapping[str, Any], key: str) -> str | None:
    """The string under ``key`` (numbers as text); ``None`` when absent or empty."""
    value = obj.get(key)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value) or None
    return None


def number(obj: Mapping[str, Any], key: str) -> int | None:
    """The integer under ``key``, from a JSON number or a digit string."""
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    digits = value.strip().removeprefix("-")
    if digits.isascii() and digits.isdigit():  # "²" is a digit int() refuses
        return int(value)
    return None


def flag(obj: Mapping[str, Any], key: str) -> bool | None:
    """The boolean under ``key``, from a JSON boolean or ``"true"``/``"false"``."""
    value = obj.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def moment(obj: Mapping[str, Any], key: str) -> datetime | None:
    """The timestamp under ``key`` (DocuSign's shape, offset-less read as UTC), or ``None``.

    Lenient: an absent or unreadable value is ``None``, never an error.
    """
    value = obj.get(key)
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value, key)
    except ConnectError:
        return None


def objects(obj: Mapping[str, Any], key: str) -> list[JSONObject]:
    """The objects of the array under ``key`` (anything else skipped)."""
    value = obj.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class StatusChangesPage:
    """One page of ``listStatusChanges`` (``envelopesInformation``).

    ``start_position`` and ``end_position`` are zero-based indexes into the whole result
    set of ``total_set_size`` envelopes.
    """

    envelopes: tuple[JSONObject, ...]
    start_position: int
    end_position: int | None
    result_set_size: int
    total_set_size: int | None
    next_uri: str | None = None
    last_queried: str | None = None

    @property
    def next_start(self) -> int | None:
        """Where the next page starts, or ``None`` after the last page."""
        if self.result_set_size == 0 or not self.envelopes:
            return None
        if self.end_position is not None:
            following = self.end_position + 1
        else:
            following = self.start_position + len(self.envelopes)
        if self.total_set_size is None and self.next_uri is None:
            return None
        if self.total_set_size is not None and following >= self.total_set_size:
            return None
        return following if following > self.start_position else None


def read_status_changes(body: Mapping[str, Any], requested_start: int) -> StatusChangesPage:
    """A ``StatusChangesPage`` from ``envelopesInformation``."""
    envelopes = tuple(objects(body, "envelopes"))
    size = number(body, "resultSetSize")
    start = number(body, "startPosition")
    return StatusChangesPage(
        envelopes=envelopes,
        start_position=requested_start if start is None else start,
        end_position=number(body, "endPosition"),
        result_set_size=len(envelopes) if size is None else size,
        total_set_size=number(body, "totalSetSize"),
        next_uri=text(body, "nextUri"),
        last_queried=text(body, "lastQueriedDateTime"),
    )


@dataclass(frozen=True, slots=True)
class EnvelopeDocument:
    """One entry of ``listDocuments`` (``envelopeDocument``)."""

    document_id: str
    name: str | None
    document_type: str | None
    order: int | None
    page_count: int | None
    size_bytes: int | None
    uri: str | None
    raw: JSONObject = field(repr=False, compare=False)


def read_documents(body: Mapping[str, Any]) -> list[EnvelopeDocument]:
    """The documents of ``envelopeDocumentsResult``."""
    found = []
    for item in objects(body, "envelopeDocuments"):
        pages = item.get("pages")
        found.append(
            EnvelopeDocument(
                document_id=text(item, "documentId") or "",
                name=text(item, "name"),
                document_type=text(item, "type"),
                order=number(item, "order"),
                page_count=len(pages) if isinstance(pages, list) else number(item, "pages"),
                size_bytes=number(item, "sizeBytes"),
                uri=text(item, "uri"),
                raw=item,
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class DocumentDownload:
    """What a document download wrote: ``size`` bytes, named ``filename`` by DocuSign.

    ``path`` is set when the download went to a file.
    """

    envelope_id: str
    document_id: str
    size: int
    filename: str | None
    content_type: str | None
    path: str | None = None


def filename_of(headers: Mapping[str, str]) -> str | None:
    """The file name in ``Content-Disposition: file; filename="NDA.pdf"; documentid="1"``."""
    match = _FILENAME.search(headers.get("content-disposition", ""))
    return match.group(1).strip() if match else None


@dataclass(frozen=True, slots=True)
class ConnectFailure:
    """One entry of the Connect failure log (``connectLog`` in ``failures``)."""

    failure_id: str | None
    envelope_id: str | None
    status: str | None
    error: str | None
    created: str | None
    last_try: str | None
    retry_count: int | None
    connect_id: str | None
    config_url: str | None
    subject: str | None
    raw: JSONObject = field(repr=False, compare=False)


def read_failures(body: Mapping[str, Any]) -> list[ConnectFailure]:
    """The ``failures`` of ``connectLogs``."""
    return [
        ConnectFailure(
            failure_id=text(item, "failureId"),
            envelope_id=text(item, "envelopeId"),
            status=text(item, "status"),
            error=text(item, "error"),
            created=text(item, "created"),
            last_try=text(item, "lastTry"),
            retry_count=number(item, "retryCount"),
            connect_id=text(item, "connectId"),
            config_url=text(item, "configUrl"),
            subject=text(item, "subject"),
            raw=item,
        )
        for item in objects(body, "failures")
    ]


@dataclass(frozen=True, slots=True)
class RepublishResult:
    """DocuSign's answer for one envelope of a republish (``connectFailureResult``)."""

    envelope_id: str | None
    status: str | None
    status_message: str | None
    config_id: str | None
    config_url: str | None


def read_republish(body: Mapping[str, Any]) -> list[RepublishResult]:
    """The ``retryQueue`` of ``connectFailureResults``."""
    return [
        RepublishResult(
            envelope_id=text(item, "envelopeId"),
            status=text(item, "status"),
            status_message=text(item, "statusMessage"),
            config_id=text(item, "configId"),
            config_url=text(item, "configUrl"),
        )
        for item in objects(body, "retryQueue")
    ]


@dataclass(frozen=True, slots=True)
class ConnectConfiguration:
    """One Connect configuration (``connectCustomConfiguration``), its main fields typed."""

    connect_id: str | None
    name: str | None
    url: str | None
    configuration_type: str | None
    all_users: bool | None
    envelope_publish: bool | None
    requires_acknowledgement: bool | None
    include_hmac: bool | None
    event_data_version: str | None
    raw: JSONObject = field(repr=False, compare=False)


def read_configurations(body: Mapping[str, Any]) -> list[ConnectConfiguration]:
    """The ``configurations`` of ``connectConfigResults``."""
    found = []
    for item in objects(body, "configurations"):
        event_data = item.get("eventData")
        found.append(
            ConnectConfiguration(
                connect_id=text(item, "connectId"),
                name=text(item, "name"),
                url=text(item, "urlToPublishTo"),
                configuration_type=text(item, "configurationType"),
                all_users=flag(item, "allUsers"),
                envelope_publish=flag(item, "allowEnvelopePublish"),
                requires_acknowledgement=flag(item, "requiresAcknowledgement"),
                include_hmac=flag(item, "includeHMAC"),
                event_data_version=text(event_data, "version")
                if isinstance(event_data, dict)
                else None,
                raw=item,
            )
        )
    return found
