"""One authenticated eSignature call: account, token, retries, and DocuSign's error.

A :class:`Session` is what every operation is written against: ``yield from
session.call(ApiCall(...))`` returns a successful :class:`ApiResponse` or raises
:class:`~connect_mw.rest.errors.DocuSignAPIError`. A ``401`` (the token expired or was
revoked early) is answered once with a fresh token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from .auth import Account, JWTAuth
from .errors import api_error
from .retry import RetryPolicy
from .sending import Clock, send
from .settings import DocuSignSettings
from .wire import ApiRequest, ApiResponse, Sink, Steps


def segment(value: str) -> str:
    """``value`` quoted as one path segment."""
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class ApiCall:
    """An eSignature call; ``path`` follows ``/v2.1/accounts/{accountId}``.

    Query parameters whose value is ``None`` are left out.
    """

    method: str
    path: str
    params: tuple[tuple[str, str | None], ...] = ()
    json: object = None
    sink: Sink | None = field(default=None, repr=False)
    accept: str = "application/json"

    def request(self, account: Account, authorization: str) -> ApiRequest:
        """The HTTP request for ``account``, authorized."""
        url = f"{account.api_url}/v2.1/accounts/{segment(account.account_id)}{self.path}"
        params = tuple((name, value) for name, value in self.params if value is not None)
        headers = (("Authorization", authorization), ("Accept", self.accept))
        return ApiRequest(self.method, url, params, self.json, None, headers, self.sink)


class Session:
    """Settings, token and account cache, retry policy and clock of one client."""

    def __init__(
        self,
        settings: DocuSignSettings,
        retry: RetryPolicy | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.policy = retry or RetryPolicy()
        self.clock = clock
        self.auth = JWTAuth(settings, self.policy, clock)

    def __repr__(self) -> str:
        return f"Session({self.auth!r})"

    def account(self) -> Steps[Account]:
        """The account calls act on (see :meth:`JWTAuth.account`)."""
        return (yield from self.auth.account())

    def call(self, call: ApiCall) -> Steps[ApiResponse]:
        """Send ``call`` authenticated; a successful response or ``DocuSignAPIError``."""
        account = yield from self.auth.account()
        token = yield from self.auth.token()
        request = call.request(account, token.authorization)
        response = yield from send(request, self.policy, self.clock)
        if response.status == 401:
            self.auth.forget(token)
            token = yield from self.auth.token()
            request = call.request(account, token.authorization)
            response = yield from send(request, self.policy, self.clock)
        if not response.ok:
            raise api_error(response.status, response.body, call.method, urlsplit(request.url).path)
        return response
