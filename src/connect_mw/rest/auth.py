"""OAuth JWT Grant: an access token from an RSA key, and the account's ``base_uri``.

``POST {auth server}/oauth/token`` with ``grant_type=urn:ietf:params:oauth:grant-type:
jwt-bearer`` and a signed assertion (:mod:`connect_mw.rest.jwt`) gives a token, cached until
shortly before it expires. ``GET /oauth/userinfo`` lists the user's accounts; the one named
by ``account_id`` (or the default one) gives the ``base_uri`` API calls go to. When DocuSign
answers ``consent_required``, :class:`~connect_mw.rest.errors.ConsentRequired` carries the
URL to open once. Tokens and keys are never logged and never part of a ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .errors import DocuSignAuthError, auth_error, json_body
from .jwt import assertion, load_private_key
from .retry import RetryPolicy
from .sending import Clock, send
from .settings import DocuSignSettings
from .wire import ApiRequest, ApiResponse, Steps

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: A token is renewed this long before it expires (at most half its lifetime).
REFRESH_MARGIN = 300.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token and when to stop using it (epoch seconds, margin included)."""

    value: str = field(repr=False)
    token_type: str
    fresh_until: float

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value: ``Bearer <token>``."""
        return f"{self.token_type} {self.value}"


@dataclass(frozen=True, slots=True)
class Account:
    """The account API calls act on, and the server it lives on."""

    account_id: str
    base_uri: str
    account_name: str | None = None

    @property
    def api_url(self) -> str:
        """``<base_uri>/restapi``, the root of every eSignature path."""
        return self.base_uri.rstrip("/") + "/restapi"


def consent_url(settings: DocuSignSettings) -> str:
    """The URL where the user grants the integration key consent (individual consent)."""
    query = {
        "response_type": "code",
        "scope": settings.scopes,
        "client_id": settings.integration_key,
        "redirect_uri": settings.redirect_uri or "<a redirect URI registered on the key>",
    }
    return f"{settings.auth_url}/oauth/auth?{urlencode(query, safe='<>')}"


def token_request(settings: DocuSignSettings, signed: str) -> ApiRequest:
    """``POST /oauth/token`` exchanging the signed assertion."""
    form = (("grant_type", JWT_GRANT), ("assertion", signed))
    return ApiRequest("POST", f"{settings.auth_url}/oauth/token", form=form)


def read_token(response: ApiResponse, settings: DocuSignSettings, now: float) -> AccessToken:
    """The token in a ``/oauth/token`` answer; raises the matching auth error otherwise."""
    if not response.ok:
        raise auth_error(response.status, response.body, consent_url(settings))
    body = json_body(response.body)
    value, kind, expires = body.get("access_token"), body.get("token_type"), body.get("expires_in")
    if not isinstance(value, str) or not value:
        raise DocuSignAuthError("DocuSign's token answer has no access_token", response.status)
    lifetime = float(expires) if isinstance(expires, (int, float, str)) else 0.0
    margin = min(REFRESH_MARGIN, lifetime / 2)
    token_type = kind.capitalize() if isinstance(kind, str) and kind else "Bearer"
    return AccessToken(value, token_type, now + lifetime - margin)


def userinfo_request(settings: DocuSignSettings, token: AccessToken) -> ApiRequest:
    """``GET /oauth/userinfo`` with the token."""
    return ApiRequest(
        "GET",
        f"{settings.auth_url}/oauth/userinfo",
        headers=(("Authorization", token.authorization),),
    )


def _is_default(entry: Mapping[str, Any]) -> bool:
    flag = entry.get("is_default")
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


def _account(entry: Mapping[str, Any]) -> Account:
    account_id, base_uri = entry.get("account_id"), entry.get("base_uri")
    if not isinstance(account_id, str) or not isinstance(base_uri, str):
        raise DocuSignAuthError("DocuSign's userinfo lists an account without id or base_uri")
    name = entry.get("account_name")
    return Account(account_id, base_uri, name if isinstance(name, str) else None)


def pick_account(userinfo: Mapping[str, Any], account_id: str | None) -> Account:
    """The account named ``account_id`` in a userinfo answer, else the default one."""
    raw = userinfo.get("accounts")
    entries = [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []
    if not entries:
        raise DocuSignAuthError("the DocuSign user has no account")
    if account_id is None:
        return _account(next((e for e in entries if _is_default(e)), entries[0]))
    for entry in entries:
        if str(entry.get("account_id", "")).lower() == account_id.lower():
            return _account(entry)
    known = ", ".join(str(e.get("account_id")) for e in entries)
    raise DocuSignAuthError(f"the DocuSign user has no account {account_id} (has: {known})")


class JWTAuth:
    """The token and account of one client, each fetched once and reused.

    ``clock`` gives epoch seconds (``time.time``); it dates the assertions and decides when
    the cached token is stale.
    """

    def __init__(self, settings: DocuSignSettings, policy: RetryPolicy, clock: Clock) -> None:
        self.settings = settings
        self._key = load_private_key(settings.private_key_pem())
        self._policy = policy
        self._clock = clock
        self._token: AccessToken | None = None
        self._account: Account | None = None

    def __repr__(self) -> str:
        return f"JWTAuth(integration_key={self.settings.integration_key!r})"

    def token(self) -> Steps[AccessToken]:
        """The cached token, or a new one when there is none or it is about to expire."""
        cached = self._token
        if cached is not None and self._clock() < cached.fresh_until:
            return cached
        signed = assertion(self.settings, self._key, self._clock())
        request = token_request(self.settings, signed)
        response = yield from send(request, self._policy, self._clock)
        self._token = read_token(response, self.settings, self._clock())
        return self._token

    def forget(self, token: AccessToken) -> None:
        """Drop ``token`` (DocuSign refused it) so the next call fetches a new one."""
        if self._token is token:
            self._token = None

    def account(self) -> Steps[Account]:
        """The account: from the settings' ``base_uri``, else ``/oauth/userinfo`` (cached)."""
        if self._account is not None:
            return self._account
        settings = self.settings
        if settings.base_uri is not None and settings.account_id is not None:
            self._account = Account(settings.account_id, settings.base_uri)
            return self._account
        token = yield from self.token()
        response = yield from send(userinfo_request(settings, token), self._policy, self._clock)
        if not response.ok:
            raise DocuSignAuthError(
                f"DocuSign answered {response.status} to GET /oauth/userinfo", response.status
            )
        self._account = pick_account(json_body(response.body), settings.account_id)
        return self._account
