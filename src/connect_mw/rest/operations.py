"""The eSignature operations, each written once as steps over a :class:`Session`.

Every function here is a generator (see :mod:`connect_mw.rest.wire`): the clients in
:mod:`connect_mw.rest.client` run the same code synchronously or on an event loop. Paths
and parameters are the ones of DocuSign's eSignature REST API v2.1 (``/restapi`` prefix):

=================================  ===================================================
operation                          call
=================================  ===================================================
``get_account``                    ``GET /oauth/userinfo`` (once; skipped with base_uri)
``list_status_changes[_page]``     ``GET /accounts/{id}/envelopes`` (listStatusChanges)
``get_envelope``                   ``GET …/envelopes/{envelopeId}``
``list_recipients``                ``GET …/envelopes/{envelopeId}/recipients``
``list_documents``                 ``GET …/envelopes/{envelopeId}/documents``
``download_document[_to]``         ``GET …/envelopes/{envelopeId}/documents/{documentId}``
``get_form_data``                  ``GET …/envelopes/{envelopeId}/form_data``
``list_connect_failures``          ``GET /accounts/{id}/connect/failures``
``republish``                      ``PUT /accounts/{id}/connect/envelopes/retry_queue``
``list_connect_configurations``    ``GET /accounts/{id}/connect``
=================================  ===================================================

Dates are timezone-aware ``datetime`` values (sent as ISO 8601 in UTC) or strings passed
as they are.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from .auth import Account
from .errors import DocuSignAPIError
from .results import (
    ConnectConfiguration,
    ConnectFailure,
    DocumentDownload,
    EnvelopeDocument,
    JSONObject,
    RepublishResult,
    StatusChangesPage,
    filename_of,
    read_configurations,
    read_documents,
    read_failures,
    read_republish,
    read_status_changes,
)
from .session import ApiCall, Session, segment
from .wire import ApiResponse, CountingSink, Sink, Steps

Moment = datetime | str
#: The ``include`` listStatusChanges asks for by default: what a ``Notification`` needs.
DEFAULT_INCLUDE = ("recipients", "custom_fields", "documents")
#: ``documentId`` keywords besides a document's own id.
COMBINED, CERTIFICATE, ARCHIVE = "combined", "certificate", "archive"
DEFAULT_PAGE_SIZE = 100


def iso(moment: Moment | None, name: str) -> str | None:
    """``moment`` as DocuSign's date parameter (ISO 8601, UTC, ``Z``); strings unchanged."""
    if moment is None or isinstance(moment, str):
        return moment
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (DocuSign reads naive times in its own)")
    text = moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


def _object(response: ApiResponse, call: ApiCall) -> JSONObject:
    """The JSON object a successful answer carries."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DocuSignAPIError(
            response.status, None, "the answer is not a JSON object", call.method, call.path
        )
    return body


def _fetch(session: Session, call: ApiCall) -> Steps[JSONObject]:
    """Send ``call`` and return the JSON object answered."""
    response = yield from session.call(call)
    return _object(response, call)


def _envelope_path(envelope_id: str, tail: str = "") -> str:
    return f"/envelopes/{segment(envelope_id)}{tail}"


def get_account(session: Session) -> Steps[Account]:
    """The account calls act on, and its ``base_uri`` (``/oauth/userinfo``, cached)."""
    return (yield from session.account())


def status_changes_call(
    from_date: Moment,
    to_date: Moment | None,
    *,
    from_to_status: str,
    include: Sequence[str],
    status: Sequence[str] | None,
    start_position: int,
    count: int,
) -> ApiCall:
    """The ``listStatusChanges`` call for one page, oldest status change first."""
    params = (
        ("from_date", iso(from_date, "from_date")),
        ("to_date", iso(to_date, "to_date")),
        ("from_to_status", from_to_status),
        ("include", ",".join(include) or None),
        ("status", ",".join(status) if status else None),
        ("order_by", "status_changed"),
        ("order", "asc"),
        ("start_position", str(start_position)),
        ("count", str(count)),
    )
    return ApiCall("GET", "/envelopes", params)


def list_status_changes_page(
    session: Session,
    from_date: Moment,
    to_date: Moment | None = None,
    *,
    from_to_status: str = "changed",
    include: Sequence[str] = DEFAULT_INCLUDE,
    status: Sequence[str] | None = None,
    start_position: int = 0,
    count: int = DEFAULT_PAGE_SIZE,
) -> Steps[StatusChangesPage]:
    """One page of the envelopes whose status changed between ``from_date`` and ``to_date``.

    ``status`` filters on the current status; ``page.next_start`` is where the next page
    starts (``None`` after the last).
    """
    call = status_changes_call(
        from_date,
        to_date,
        from_to_status=from_to_status,
        include=include,
        status=status,
        start_position=start_position,
        count=count,
    )
    body = yield from _fetch(session, call)
    return read_status_changes(body, start_position)


def following_position(page: StatusChangesPage, previous_total: int | None) -> int | None:
    """Where to read after ``page``, stepping back when the result set shrank meanwhile.

    An envelope that changes again after the window leaves the result set; every later one
    moves down a position. When the total shrank by ``d`` since the previous page, this page
    started ``d`` envelopes too late, so reading resumes ``d`` positions before it
    (envelopes are seen twice rather than never).
    """
    total = page.total_set_size
    if previous_total is not None and total is not None and total < previous_total:
        return max(0, page.start_position - (previous_total - total))
    return page.next_start


def list_status_changes(
    session: Session,
    from_date: Moment,
    to_date: Moment | None = None,
    *,
    from_to_status: str = "changed",
    include: Sequence[str] = DEFAULT_INCLUDE,
    status: Sequence[str] | None = None,
    count: int = DEFAULT_PAGE_SIZE,
) -> Steps[list[JSONObject]]:
    """Every envelope whose status changed in the window, paging through every page.

    Without ``to_date`` the window ends when the call starts, so pages stay consistent.
    Each envelope appears once, oldest change first.
    """
    now = datetime.fromtimestamp(session.clock(), timezone.utc)
    until = to_date if to_date is not None else now
    found: dict[str, JSONObject] = {}
    start: int | None = 0
    total: int | None = None
    while start is not None:
        page = yield from list_status_changes_page(
            session,
            from_date,
            until,
            from_to_status=from_to_status,
            include=include,
            status=status,
            start_position=start,
            count=count,
        )
        for index, envelope in enumerate(page.envelopes):
            found[str(envelope.get("envelopeId") or f"#{page.start_position + index}")] = envelope
        start, total = following_position(page, total), page.total_set_size
    return list(found.values())


def get_envelope(
    session: Session, envelope_id: str, *, include: Sequence[str] = ()
) -> Steps[JSONObject]:
    """The envelope (``include``: ``recipients``, ``tabs``, ``custom_fields``, ``documents``…)."""
    params = (("include", ",".join(include) or None),)
    return (yield from _fetch(session, ApiCall("GET", _envelope_path(envelope_id), params)))


def list_recipients(
    session: Session, envelope_id: str, *, include_tabs: bool = False
) -> Steps[JSONObject]:
    """The envelope's ``recipients`` object (``signers``, ``carbonCopies``…)."""
    params = (("include_tabs", "true" if include_tabs else None),)
    call = ApiCall("GET", _envelope_path(envelope_id, "/recipients"), params)
    return (yield from _fetch(session, call))


def list_documents(session: Session, envelope_id: str) -> Steps[list[EnvelopeDocument]]:
    """The envelope's documents (ids, names, sizes), without their bytes."""
    body = yield from _fetch(session, ApiCall("GET", _envelope_path(envelope_id, "/documents")))
    return read_documents(body)


def download_document(
    session: Session,
    envelope_id: str,
    sink: Sink,
    document_id: str = COMBINED,
    *,
    certificate: bool | None = None,
    max_bytes: int | None = None,
) -> Steps[DocumentDownload]:
    """Stream a document into ``sink`` chunk by chunk (never the whole PDF in memory).

    ``document_id`` is a document's id, ``combined`` (every document as one PDF),
    ``certificate`` (the certificate of completion) or ``archive`` (a ZIP).
    ``certificate=False`` leaves the certificate out of ``combined``. Past ``max_bytes``
    the download stops with ``DocumentTooLarge``.
    """
    counting = CountingSink(sink, max_bytes)
    flag = None if certificate is None else str(certificate).lower()
    path = _envelope_path(envelope_id, f"/documents/{segment(document_id)}")
    call = ApiCall("GET", path, (("certificate", flag),), sink=counting, accept="application/pdf")
    response = yield from session.call(call)
    return DocumentDownload(
        envelope_id=envelope_id,
        document_id=document_id,
        size=counting.bytes,
        filename=filename_of(response.headers),
        content_type=response.headers.get("content-type"),
    )


def download_document_to(
    session: Session,
    envelope_id: str,
    path: str | os.PathLike[str],
    document_id: str = COMBINED,
    *,
    certificate: bool | None = None,
    max_bytes: int | None = None,
) -> Steps[DocumentDownload]:
    """Download a document into the file ``path``, atomically.

    The bytes go to a hidden temporary file beside ``path`` (mode ``0600``), renamed over
    ``path`` once complete; on any failure it is removed and ``path`` is left untouched.
    """
    with part_file(path) as handle:
        result = yield from download_document(
            session, envelope_id, handle, document_id, certificate=certificate, max_bytes=max_bytes
        )
    return replace(result, path=str(Path(path)))


@contextmanager
def part_file(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A hidden ``0600`` file beside ``path``, renamed over it when the block succeeds.

    When the block raises (or the steps around it are closed) the part file is removed and
    ``path`` is left as it was.
    """
    target = Path(path)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, renamed after)
        "wb", dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )
    try:
        with handle:
            yield handle
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def get_form_data(session: Session, envelope_id: str) -> Steps[JSONObject]:
    """The envelope's form data (``envelopeFormData``: ``formData``, ``recipientFormData``)."""
    return (yield from _fetch(session, ApiCall("GET", _envelope_path(envelope_id, "/form_data"))))


def list_connect_failures(
    session: Session, from_date: Moment | None = None, to_date: Moment | None = None
) -> Steps[list[ConnectFailure]]:
    """The Connect failure log: deliveries DocuSign could not make (all when no dates)."""
    params = (("from_date", iso(from_date, "from_date")), ("to_date", iso(to_date, "to_date")))
    body = yield from _fetch(session, ApiCall("GET", "/connect/failures", params))
    return read_failures(body)


def republish(session: Session, envelope_ids: Sequence[str]) -> Steps[list[RepublishResult]]:
    """Ask Connect to deliver these envelopes again (``retry_queue``); one result each."""
    unique = list(dict.fromkeys(envelope_ids))
    if not unique:
        raise ValueError("republish needs at least one envelope id")
    call = ApiCall("PUT", "/connect/envelopes/retry_queue", json={"envelopeIds": unique})
    return read_republish((yield from _fetch(session, call)))


def list_connect_configurations(session: Session) -> Steps[list[ConnectConfiguration]]:
    """The account's Connect configurations (needs an account administrator)."""
    return read_configurations((yield from _fetch(session, ApiCall("GET", "/connect"))))
