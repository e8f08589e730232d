"""The errors the eSignature REST client raises.

All derive from :class:`DocuSignError`. None of them ever carries an access token, a JWT
assertion or a private key: only DocuSign's error code and message, the HTTP status and the
method and path of the call (ids, never query strings).
"""

from __future__ import annotations

import json

_HINTS = {
    "no_valid_keys_or_signatures": "the RSA key does not match a public key registered on "
    "the integration key",
    "invalid_client": "the integration key is unknown on this account server (demo and "
    "production keys differ)",
    "issuer_not_found": "the integration key is unknown on this account server",
    "user_not_found": "the user id is unknown on this account server (use the API user id "
    "GUID, not the email)",
    "expired": "the JWT assertion has expired: check this machine's clock",
}


class DocuSignError(Exception):
    """Base of every error of :mod:`connect_mw.rest`."""


class DocuSignAPIError(DocuSignError):
    """DocuSign answered an eSignature API call with an error.

    ``status`` is the HTTP status; ``error_code`` and ``message`` are DocuSign's
    ``errorDetails`` (``ENVELOPE_DOES_NOT_EXIST``, ``HOURLY_APIINVOCATION_LIMIT_EXCEEDED``…),
    ``None`` when the body carried none.
    """

    def __init__(
        self,
        status: int,
        error_code: str | None,
        message: str | None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.method = method
        self.path = path
        super().__init__(self._text())

    def _text(self) -> str:
        what = f" to {self.method} {self.path}" if self.method else ""
        code = f" {self.error_code}" if self.error_code else ""
        detail = f": {self.message}" if self.message else ""
        return f"DocuSign answered {self.status}{what}:{code or ' error'}{detail}"


class DocuSignAuthError(DocuSignError):
    """The OAuth JWT grant or ``/oauth/userinfo`` failed.

    ``error`` and ``description`` are OAuth's ``error``/``error_description`` when DocuSign
    sent them.
    """

    def __init__(
        self,
        message: str,
        status: int = 0,
        error: str | None = None,
        description: str | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.description = description
        super().__init__(message)


class ConsentRequired(DocuSignAuthError):
    """The user has not granted the integration key consent yet; open ``consent_url`` once."""

    def __init__(self, consent_url: str, status: int = 400) -> None:
        self.consent_url = consent_url
        super().__init__(
            "DocuSign answered consent_required: the user has not granted this integration "
            "key consent for 'signature impersonation'. Open this URL once, logged in as "
            f"that user, and accept: {consent_url}",
            status=status,
            error="consent_required",
        )


class DocuSignTransportError(DocuSignError):
    """DocuSign could not be reached (connection refused, timeout…) after every retry."""


class DocumentTooLarge(DocuSignError):
    """A downloaded document grew past the ``max_bytes`` the caller allowed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the document is larger than the {limit} bytes allowed")


def json_body(body: bytes) -> dict[str, object]:
    """``body`` decoded as a JSON object, or ``{}`` when it is not one."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _text_field(obj: dict[str, object], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def api_error(status: int, body: bytes, method: str, path: str) -> DocuSignAPIError:
    """The error for an eSignature API answer ``status`` with ``body`` (``errorDetails``)."""
    details = json_body(body)
    return DocuSignAPIError(
        status, _text_field(details, "errorCode"), _text_field(details, "message"), method, path
    )


def auth_error(status: int, body: bytes, consent_url: str) -> DocuSignAuthError:
    """The error for an OAuth answer ``status`` with ``body`` (``{error, error_description}``)."""
    details = json_body(body)
    error = _text_field(details, "error")
    description = _text_field(details, "error_description")
    if error == "consent_required" or description == "consent_required":
        return ConsentRequired(consent_url, status)
    shown = error or f"HTTP {status}"
    if description:
        shown += f" ({description})"
    hint = _HINTS.get(description or "") or _HINTS.get(error or "")
    message = f"DocuSign refused the JWT grant: {shown}" + (f": {hint}" if hint else "")
    return DocuSignAuthError(message, status, error, description)
