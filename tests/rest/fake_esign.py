"""A local fake of DocuSign's account server and eSignature REST API (an ASGI app).

It implements the operations the client uses with the request parameters and response
fields of the project's spec extract (``spec/esignature-extract.json``): a query parameter
the spec does not list is refused with ``400 INVALID_REQUEST_PARAMETER``, and the drift test
checks every answer against the spec's definitions. Behaviour worth testing against:

* ``/oauth/token`` checks the JWT (see ``fake_oauth``), answers ``consent_required`` while
  ``grant.consented`` is false; ``/oauth/userinfo`` lists two accounts;
* API calls need a live token (``grant.expire_all()`` makes the next call a ``401``);
* ``listStatusChanges`` filters on ``from_date``/``to_date`` by ``from_to_status``, on
  ``status``, orders by ``order_by``/``order`` and pages with ``start_position``/``count``
  (``resultSetSize``, ``startPosition``, ``endPosition``, ``totalSetSize``, ``nextUri``);
  ``before_page`` runs before each page is answered (to change envelopes mid-run), and
  ``ignore_order`` answers newest first whatever was asked;
* documents are streamed in chunks, never built whole;
* ``fail(...)``/``rate_limit(...)`` script error answers (``429`` with DocuSign's rate-limit
  headers, ``5xx``) for the next matching requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fake_data import ACCOUNT_ID
from .fake_handlers import (
    OTHER_ACCOUNT_ID,
    get_document,
    get_envelope,
    get_form_data,
    list_configurations,
    list_documents,
    list_failures,
    list_recipients,
    list_status_changes,
    retry_queue,
    token,
    userinfo,
)
from .fake_oauth import Grant, OAuthError
from .fake_state import ApiError, FakeESign, Seen
from .spec_check import query_parameters

__all__ = ["API", "API_ROUTES", "OTHER_ACCOUNT_ID", "FakeESign", "build_app", "new_fake"]

API = "/restapi/v2.1/accounts/{accountId}"

# --- plumbing ---------------------------------------------------------------------------

Handler = Callable[[FakeESign, Request], Awaitable[Response]]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errorCode": code, "message": message}, status)


async def _scripted(fake: FakeESign, path: str) -> Response | None:
    for fault in fake.faults:
        if fault.path in path and fault.times > 0:
            fault.times -= 1
            await asyncio.sleep(fault.delay)
            return JSONResponse(fault.body, fault.status, headers=fault.headers)
    return None


def _check_query(request: Request, spec_path: str | None) -> None:
    if spec_path is None:
        return
    allowed = query_parameters(request.method, spec_path)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ApiError(400, "INVALID_REQUEST_PARAMETER", f"unknown parameter {unknown[0]}")


def _check_api(fake: FakeESign, request: Request) -> None:
    if not fake.grant.valid(request.headers.get("authorization")):
        raise ApiError(
            401,
            "USER_AUTHENTICATION_FAILED",
            "One or both of Username and Password are invalid. Invalid access token",
        )
    if request.path_params.get("accountId") not in (ACCOUNT_ID, OTHER_ACCOUNT_ID):
        raise ApiError(
            400,
            "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT",
            "The specified User is not a member of the specified Account.",
        )


def _endpoint(fake: FakeESign, handler: Handler, spec_path: str | None) -> Any:
    async def endpoint(request: Request) -> Response:
        authorized = fake.grant.valid(request.headers.get("authorization"))
        query = dict(request.query_params)
        body = await request.body()
        fake.requests.append(Seen(request.method, request.url.path, query, authorized, body))
        scripted = await _scripted(fake, request.url.path)
        if scripted is not None:
            return scripted
        try:
            _check_query(request, spec_path)
            if spec_path is not None:
                _check_api(fake, request)
            return await handler(fake, request)
        except ApiError as exc:
            return _error(exc.status, exc.code, exc.message)
        except OAuthError as exc:
            return JSONResponse(exc.body(), 400)

    return endpoint


API_ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", f"{API}/envelopes", list_status_changes, "envelopesInformation"),
    ("GET", f"{API}/envelopes/{{envelopeId}}", get_envelope, "envelope"),
    ("GET", f"{API}/envelopes/{{envelopeId}}/recipients", list_recipients, "recipients"),
    ("GET", f"{API}/envelopes/{{envelopeId}}/documents", list_documents, "envelopeDocumentsResult"),
    ("GET", f"{API}/envelopes/{{envelopeId}}/documents/{{documentId}}", get_document, "file"),
    ("GET", f"{API}/envelopes/{{envelopeId}}/form_data", get_form_data, "envelopeFormData"),
    ("GET", f"{API}/connect", list_configurations, "connectConfigResults"),
    ("GET", f"{API}/connect/failures", list_failures, "connectLogs"),
    ("PUT", f"{API}/connect/envelopes/retry_queue", retry_queue, "connectFailureResults"),
]
OAUTH_ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/oauth/token", token),
    ("GET", "/oauth/userinfo", userinfo),
]


def build_app(fake: FakeESign) -> Starlette:
    """The Starlette app of ``fake``: the OAuth routes and every API route."""
    routes = [
        Route(path, _endpoint(fake, handler, None), methods=[method])
        for method, path, handler in OAUTH_ROUTES
    ]
    routes += [
        Route(path, _endpoint(fake, handler, path), methods=[method])
        for method, path, handler, _ in API_ROUTES
    ]
    return Starlette(routes=routes)


def new_fake(public_key: rsa.RSAPublicKey, clock: Callable[[], float], base_url: str) -> FakeESign:
    """A fake with one integration key and user, no envelopes."""
    grant = Grant(
        "9e8d7c6b-ik00-4a3b-8c2d-1e0f9a8b7c6d",
        "1a2b3c4d-user-4e5f-8a9b-0c1d2e3f4a5b",
        public_key,
        clock,
    )
    return FakeESign(grant, base_url)
