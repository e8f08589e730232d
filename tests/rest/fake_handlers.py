"""The fake DocuSign's handlers: one per operation, shaped as the spec extract says.

Each takes the fake's state and the request and returns the answer; an ``ApiError`` becomes
DocuSign's ``errorDetails`` answer (see ``fake_esign``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from connect_mw.parse.timestamps import parse_timestamp

from .fake_data import ACCOUNT_ID, FakeDocument, JSONObject, make_form_data
from .fake_oauth import OAuthError
from .fake_state import ApiError, FakeESign

OTHER_ACCOUNT_ID = "0f1e2d3c-4b5a-4968-8776-655443322110"
_TIME_FIELDS = {
    "changed": "statusChangedDateTime",
    "created": "createdDateTime",
    "sent": "sentDateTime",
    "delivered": "deliveredDateTime",
    "completed": "completedDateTime",
    "declined": "declinedDateTime",
    "voided": "voidedDateTime",
    "deleted": "deletedDateTime",
}
_ORDER_FIELDS = {
    "status_changed": "statusChangedDateTime",
    "last_modified": "lastModifiedDateTime",
    "created": "createdDateTime",
    "sent": "sentDateTime",
    "completed": "completedDateTime",
}
_INCLUDED = {
    "recipients": "recipients",
    "custom_fields": "customFields",
    "documents": "envelopeDocuments",
}


def _envelope(fake: FakeESign, request: Request) -> JSONObject:
    envelope = fake.envelopes.get(request.path_params["envelopeId"])
    if envelope is None:
        raise ApiError(
            400,
            "ENVELOPE_DOES_NOT_EXIST",
            "The envelope specified either does not exist or you have no rights to the envelope.",
        )
    return envelope


def _time(value: str, name: str) -> datetime:
    moment = parse_timestamp(value, name)
    if moment is None:
        raise ApiError(400, "INVALID_REQUEST_PARAMETER", f"{name} is empty")
    return moment


# --- account server -----------------------------------------------------------------------


async def token(fake: FakeESign, request: Request) -> Response:
    """``POST /oauth/token`` (JWT bearer grant)."""
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("ascii")).items()}
    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        raise OAuthError("unsupported_grant_type")
    assertion = form.get("assertion")
    if not isinstance(assertion, str):
        raise OAuthError("invalid_request", "assertion is required")
    return JSONResponse(fake.grant.grant(assertion, request.headers.get("host", "")))


async def userinfo(fake: FakeESign, request: Request) -> Response:
    """``GET /oauth/userinfo``: the user and the two accounts it belongs to."""
    if not fake.grant.valid(request.headers.get("authorization")):
        return JSONResponse({"error": "invalid_token"}, 401)
    accounts = [
        {
            "account_id": OTHER_ACCOUNT_ID,
            "is_default": False,
            "account_name": "Other",
            "base_uri": fake.base_url,
        },
        {
            "account_id": ACCOUNT_ID,
            "is_default": True,
            "account_name": "Main",
            "base_uri": fake.base_url,
            "organization": {"organization_id": "o1", "links": []},
        },
    ]
    return JSONResponse(
        {
            "sub": fake.grant.user_id,
            "name": "Ada Sender",
            "given_name": "Ada",
            "family_name": "Sender",
            "created": "2020-01-01T00:00:00.000",
            "email": "ada@example.com",
            "accounts": accounts,
        }
    )


# --- envelopes ------------------------------------------------------------------------------


def _shaped(envelope: JSONObject, include: set[str]) -> JSONObject:
    """The envelope with only the optional parts ``include`` asks for."""
    left_out = {key for name, key in _INCLUDED.items() if name not in include}
    return {key: value for key, value in envelope.items() if key not in left_out}


def _matching(fake: FakeESign, query: dict[str, str]) -> list[JSONObject]:
    """The envelopes listStatusChanges selects, in the order asked for."""
    field_name = _TIME_FIELDS.get(query.get("from_to_status", "changed").lower())
    if field_name is None:
        raise ApiError(400, "INVALID_REQUEST_PARAMETER", "invalid from_to_status")
    start = _time(query["from_date"], "from_date")
    end = _time(query["to_date"], "to_date") if "to_date" in query else None
    end = end or datetime.fromtimestamp(fake.clock(), timezone.utc)
    statuses = {s.strip().lower() for s in query.get("status", "any").split(",")}
    found = []
    for envelope in fake.envelopes.values():
        stamp = envelope.get(field_name)
        if stamp is None or not start <= _time(stamp, field_name) <= end:
            continue
        if "any" in statuses or envelope["status"] in statuses:
            found.append(envelope)
    order_field = _ORDER_FIELDS.get(query.get("order_by", "last_modified"), "lastModifiedDateTime")
    found.sort(key=lambda e: (_time(e[order_field], order_field), e["envelopeId"]))
    descending = fake.ignore_order or query.get("order", "desc") == "desc"
    return found[::-1] if descending else found


def _page_links(query: dict[str, str], start: int, size: int, total: int) -> JSONObject:
    links: JSONObject = {}
    if start + size < total:
        links["nextUri"] = "/envelopes?" + urlencode({**query, "start_position": start + size})
    if start > 0:
        previous = max(0, start - size)
        links["previousUri"] = "/envelopes?" + urlencode({**query, "start_position": previous})
    return links


async def list_status_changes(fake: FakeESign, request: Request) -> Response:
    """``GET /envelopes`` (listStatusChanges)."""
    query = dict(request.query_params)
    if "from_date" not in query:
        raise ApiError(
            400,
            "INVALID_REQUEST_PARAMETER",
            "from_date, envelope_ids or transaction_ids must be specified",
        )
    start = int(query.get("start_position", "0"))
    count = min(int(query.get("count", str(fake.max_count))), fake.max_count)
    if fake.before_page is not None:
        fake.before_page(start)
    selected = _matching(fake, query)
    include = {name.strip() for name in query.get("include", "").split(",")}
    page = [_shaped(envelope, include) for envelope in selected[start : start + count]]
    body: JSONObject = {
        "resultSetSize": str(len(page)),
        "startPosition": str(start),
        "totalSetSize": str(len(selected)),
        "lastQueriedDateTime": datetime.fromtimestamp(fake.clock(), timezone.utc).isoformat(),
        **_page_links(query, start, len(page), len(selected)),
    }
    if page:
        body["endPosition"] = str(start + len(page) - 1)
        body["envelopes"] = page
    return JSONResponse(body)


async def get_envelope(fake: FakeESign, request: Request) -> Response:
    """``GET /envelopes/{envelopeId}``."""
    include = {name.strip() for name in request.query_params.get("include", "").split(",")}
    return JSONResponse(_shaped(_envelope(fake, request), include))


async def list_recipients(fake: FakeESign, request: Request) -> Response:
    """``GET /envelopes/{envelopeId}/recipients``."""
    return JSONResponse(_envelope(fake, request)["recipients"])


async def get_form_data(fake: FakeESign, request: Request) -> Response:
    """``GET /envelopes/{envelopeId}/form_data``."""
    return JSONResponse(make_form_data(_envelope(fake, request)))


# --- documents ------------------------------------------------------------------------------


def _documents(fake: FakeESign, request: Request) -> list[FakeDocument]:
    envelope = _envelope(fake, request)
    return fake.documents.get(envelope["envelopeId"], [])


async def list_documents(fake: FakeESign, request: Request) -> Response:
    """``GET /envelopes/{envelopeId}/documents``."""
    ident = request.path_params["envelopeId"]
    listing = [doc.listing(ident, order) for order, doc in enumerate(_documents(fake, request), 1)]
    return JSONResponse({"envelopeId": ident, "envelopeDocuments": listing})


def _selected(
    documents: list[FakeDocument], document_id: str, certificate: bool
) -> list[FakeDocument]:
    if document_id == "combined":
        return [d for d in documents if certificate or d.kind != "summary"]
    return [d for d in documents if d.document_id == document_id]


def _stream(documents: list[FakeDocument]) -> Iterator[bytes]:
    for document in documents:
        yield from document.chunks()


async def get_document(fake: FakeESign, request: Request) -> Response:
    """``GET /envelopes/{envelopeId}/documents/{documentId}``: the bytes, in chunks."""
    document_id = request.path_params["documentId"]
    certificate = request.query_params.get("certificate", "true").lower() != "false"
    chosen = _selected(_documents(fake, request), document_id, certificate)
    if not chosen:
        raise ApiError(400, "DOCUMENT_DOES_NOT_EXIST", "The document specified does not exist.")
    name = (
        f"{request.path_params['envelopeId']}.pdf" if document_id == "combined" else chosen[0].name
    )
    disposition = f'file; filename="{name}"; documentid="{document_id}"'
    return StreamingResponse(
        _stream(chosen),
        media_type="application/pdf",
        headers={"Content-Disposition": disposition},
    )


# --- Connect --------------------------------------------------------------------------------


async def list_failures(fake: FakeESign, request: Request) -> Response:
    """``GET /connect/failures``: the failure log, filtered on ``created``."""
    query = request.query_params
    start = _time(query["from_date"], "from_date") if "from_date" in query else None
    end = _time(query["to_date"], "to_date") if "to_date" in query else None
    failures = [
        f
        for f in fake.failures
        if (start is None or _time(f["created"], "created") >= start)
        and (end is None or _time(f["created"], "created") <= end)
    ]
    return JSONResponse({"failures": failures, "logs": [], "totalRecords": str(len(failures))})


async def retry_queue(fake: FakeESign, request: Request) -> Response:
    """``PUT /connect/envelopes/retry_queue`` with ``connectFailureFilter``."""
    body = json.loads(await request.body() or b"{}")
    ids = body.get("envelopeIds") if isinstance(body, dict) else None
    if set(body) - {"envelopeIds", "synchronous"} or not isinstance(ids, list) or not ids:
        raise ApiError(400, "INVALID_REQUEST_BODY", "envelopeIds is required")
    fake.republished.append(list(ids))
    results = [
        {
            "envelopeId": ident,
            "status": "Success" if ident in fake.envelopes else "Failure",
            "statusMessage": "queued" if ident in fake.envelopes else "envelope not found",
            "configId": "1234",
            "configUrl": "https://listener.example.com/docusign/connect",
        }
        for ident in ids
    ]
    return JSONResponse({"retryQueue": results})


async def list_configurations(fake: FakeESign, request: Request) -> Response:
    """``GET /connect``."""
    configurations = fake.configurations
    return JSONResponse(
        {"configurations": configurations, "totalRecords": str(len(configurations))}
    )
