"""Signed Connect deliveries built in code, for the receiver and adapter tests."""

from __future__ import annotations

import json
from typing import Any

from connect_mw.http import Request
from connect_mw.verify import sign

KEY = "test-hmac-key-9GuCDHn8GoJx8g7w1TYFXTe0PSPlHRPiu5sR="
ACCOUNT = "7ed99888-4cf3-42ad-b3d5-5b0f016a294a"
PATH = "/docusign/connect"


def sim_body(
    event: str = "envelope-completed",
    envelope_id: str = "e8b18544-c605-4499-abcf-52209a7f4438",
    *,
    generated: str = "2026-01-05T09:00:00.1234567Z",
    retry_count: int = 0,
    status: str | None = None,
    recipient_id: str | None = None,
    summary: dict[str, Any] | None = None,
) -> bytes:
    """A JSON SIM body; with ``status`` it carries a small ``envelopeSummary``."""
    data: dict[str, Any] = {"accountId": ACCOUNT, "userId": "u-1", "envelopeId": envelope_id}
    if recipient_id is not None:
        data["recipientId"] = recipient_id
    if summary is not None:
        data["envelopeSummary"] = summary
    elif status is not None:
        data["envelopeSummary"] = {
            "status": status,
            "envelopeId": envelope_id,
            "emailSubject": "Please sign",
        }
    message = {
        "event": event,
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/{ACCOUNT}/envelopes/{envelope_id}",
        "retryCount": retry_count,
        "configurationId": 10502729,
        "generatedDateTime": generated,
        "data": data,
    }
    return json.dumps(message, indent=2).encode()


def signed_headers(
    body: bytes, key: str = KEY, content_type: str = "application/json", **extra: str
) -> dict[str, str]:
    """Headers DocuSign would send with ``body`` signed by ``key``."""
    headers = {
        "content-type": content_type,
        "content-length": str(len(body)),
        "x-docusign-signature-1": sign(key, body),
        "x-authorization-digest": "HMACSHA256",
        "x-docusign-accountid": ACCOUNT,
    }
    headers.update({name.lower().replace("_", "-"): value for name, value in extra.items()})
    return headers


def signed_request(
    body: bytes,
    key: str = KEY,
    content_type: str = "application/json",
    method: str = "POST",
    path: str = PATH,
    **extra: str,
) -> Request:
    """A core :class:`Request` as an adapter would build it."""
    return Request(method, path, signed_headers(body, key, content_type, **extra), body)
