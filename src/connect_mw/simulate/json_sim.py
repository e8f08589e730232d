"""JSON SIM (Connect 2.0) bodies: minimal, with ``envelopeSummary``, with documents.

Shapes follow DocuSign's published Connect 2.0 schema and real captures: every scalar in
``envelopeSummary`` is a string, only ``retryCount`` and ``configurationId`` are numbers,
``generatedDateTime`` has seven fractional digits and ``Z``. Every recipient type goes to
its own list (``signers``, ``agents`` … ``notaries``); a recipient who filled in form fields
has them as ``tabs.<kind>Tabs``; an embedded signer has a ``clientUserId``. Template and
click events carry no envelope: a ``templateId`` or ``clickwrapId`` (and ``agreementId``)
in ``data`` and a ``uri`` naming the template or clickwrap.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .account import Account
from .documents import encoded_pdf
from .lifecycles import Lifecycle, Moment, Party, PartyState

_SUMMARY_TIMES = ("created", "sent", "delivered", "completed", "declined", "voided", "deleted")
_PARTY_TIMES = (
    ("sentDateTime", "sent_at"),
    ("deliveredDateTime", "delivered_at"),
    ("signedDateTime", "signed_at"),
    ("declinedDateTime", "declined_at"),
)
_LISTS = {
    "signer": "signers",
    "agent": "agents",
    "editor": "editors",
    "intermediary": "intermediaries",
    "carbon_copy": "carbonCopies",
    "certified_delivery": "certifiedDeliveries",
    "in_person_signer": "inPersonSigners",
    "seal": "seals",
    "witness": "witnesses",
    "notary": "notaries",
}


def generated_time(moment: datetime) -> str:
    """``2024-02-14T05:03:08.6759150Z``: seven fractional digits, UTC."""
    utc = moment.astimezone(timezone.utc)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0Z"


def summary_time(moment: datetime) -> str:
    """``2024-03-05T09:22:47.6Z``: milliseconds without trailing zeros, UTC."""
    utc = moment.astimezone(timezone.utc)
    millis = f"{utc.microsecond // 1000:03d}".rstrip("0") or "0"
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{millis}Z"


def _recipient(party: Party, state: PartyState) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": party.name,
        "email": party.email,
        "recipientId": party.recipient_id,
        "recipientIdGuid": party.guid,
        "routingOrder": str(party.routing_order),
        "status": state.status,
        "recipientType": party.kind.replace("_", ""),
    }
    if party.client_user_id is not None:
        entry["clientUserId"] = party.client_user_id
    if party.tabs and state.status == "completed":
        entry["tabs"] = _tabs(party)
    if state.auto_responded_reason:
        entry["autoRespondedReason"] = state.auto_responded_reason
    for key, attribute in _PARTY_TIMES:
        stamp = getattr(state, attribute)
        if stamp is not None:
            entry[key] = summary_time(stamp)
    if state.decline_reason:
        entry["declinedReason"] = state.decline_reason
    return entry


def _tabs(party: Party) -> dict[str, list[dict[str, str]]]:
    """The recipient's filled-in form fields, ``<kind>Tabs`` lists as the REST API shows."""
    tabs: dict[str, list[dict[str, str]]] = {}
    for number, (kind, label, value) in enumerate(party.tabs, start=1):
        tabs.setdefault(f"{kind}Tabs", []).append(
            {
                "tabLabel": label,
                "value": value,
                "documentId": "1",
                "pageNumber": "1",
                "recipientId": party.recipient_id,
                "tabId": f"{party.guid[:-4]}{number:04d}",
                "status": "signed",
            }
        )
    return tabs


def _recipients(moment: Moment) -> dict[str, Any]:
    lists: dict[str, Any] = {name: [] for name in _LISTS.values()}
    for party, state in moment.recipients:
        lists[_LISTS[party.kind]].append(_recipient(party, state))
    active = [
        party.routing_order
        for party, state in moment.recipients
        if state.status in ("sent", "delivered")
    ]
    lists["recipientCount"] = str(len(moment.recipients))
    lists["currentRoutingOrder"] = str(min(active, default=1))
    return lists


def _documents(lifecycle: Lifecycle, moment: Moment, document_size: int) -> list[dict[str, Any]]:
    content: dict[str, Any] = {
        "documentId": "1",
        "name": f"{lifecycle.subject}.pdf",
        "type": "content",
        "order": "1",
    }
    documents = [content]
    if document_size > 0:
        content["PDFBytes"] = encoded_pdf(document_size, lifecycle.subject)
        if moment.status == "completed":
            documents.append(
                {
                    "documentId": "certificate",
                    "name": "Summary",
                    "type": "summary",
                    "order": "999",
                    "PDFBytes": encoded_pdf(max(2048, document_size // 10), "Certificate"),
                }
            )
    return documents


def envelope_summary(
    lifecycle: Lifecycle, moment: Moment, account: Account, document_size: int = 0
) -> dict[str, Any]:
    """The ``envelopeSummary`` of ``moment``: the envelope as the REST API shows it."""
    eid = lifecycle.envelope_id
    summary: dict[str, Any] = {
        "status": moment.status,
        "documentsUri": f"/envelopes/{eid}/documents",
        "recipientsUri": f"/envelopes/{eid}/recipients",
        "envelopeUri": f"/envelopes/{eid}",
        "emailSubject": lifecycle.subject,
        "envelopeId": eid,
        "signingLocation": "online",
    }
    for name in _SUMMARY_TIMES:
        stamp = moment.time(name)
        if stamp is not None:
            summary[f"{name}DateTime"] = summary_time(stamp)
    status_at = moment.time(moment.status)
    if status_at is not None:
        summary["statusChangedDateTime"] = summary_time(status_at)
    if moment.void_reason:
        summary["voidedReason"] = moment.void_reason
    summary["sender"] = {
        "userName": account.sender_name,
        "userId": account.user_id,
        "accountId": account.account_id,
        "email": account.sender_email,
        "ipAddress": account.sender_ip,
    }
    summary["customFields"] = {
        "textCustomFields": [
            {"fieldId": "1", "name": "Source", "show": "false", "required": "false",
             "value": "connect-mw simulator"}
        ],
        "listCustomFields": [],
    }  # fmt: skip
    summary["recipients"] = _recipients(moment)
    summary["envelopeDocuments"] = _documents(lifecycle, moment, document_size)
    return summary


def sim_message(
    lifecycle: Lifecycle,
    moment: Moment,
    account: Account,
    *,
    retry_count: int = 0,
    summary: bool = False,
    document_size: int = 0,
) -> dict[str, Any]:
    """One SIM message for ``moment``; with ``summary`` it carries ``envelopeSummary``."""
    if not moment.about_envelope:
        return _non_envelope_message(lifecycle, moment, account, retry_count)
    eid = lifecycle.envelope_id
    data: dict[str, Any] = {
        "accountId": account.account_id,
        "userId": account.user_id,
        "envelopeId": eid,
    }
    if moment.recipient_id is not None:
        data["recipientId"] = moment.recipient_id
    if summary or document_size > 0:
        data["envelopeSummary"] = envelope_summary(lifecycle, moment, account, document_size)
    return {
        "event": moment.event,
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/{account.account_id}/envelopes/{eid}",
        "retryCount": retry_count,
        "configurationId": account.configuration_id,
        "generatedDateTime": generated_time(moment.at),
        "data": data,
    }


def _non_envelope_message(
    lifecycle: Lifecycle, moment: Moment, account: Account, retry_count: int
) -> dict[str, Any]:
    """A template or click event: about a template or clickwrap, not an envelope."""
    subject = moment.subject_id or ""
    data: dict[str, Any] = {"accountId": account.account_id, "userId": account.user_id}
    if lifecycle.kind == "template":
        data["templateId"] = subject
        uri = f"/restapi/v2.1/accounts/{account.account_id}/templates/{subject}"
        api_version = "v2.1"
    else:
        data["clickwrapId"] = subject
        data["versionNumber"] = "1"
        data["status"] = moment.event.removeprefix("click-")
        uri = f"/clickapi/v1/accounts/{account.account_id}/clickwraps/{subject}"
        api_version = "v1"
    data.update(moment.data)
    return {
        "event": moment.event,
        "apiVersion": api_version,
        "uri": uri,
        "retryCount": retry_count,
        "configurationId": account.configuration_id,
        "generatedDateTime": generated_time(moment.at),
        "data": data,
    }


def sim_body(
    lifecycle: Lifecycle,
    moment: Moment,
    account: Account,
    *,
    retry_count: int = 0,
    summary: bool = False,
    document_size: int = 0,
) -> bytes:
    """:func:`sim_message` encoded as DocuSign sends it (compact UTF-8 JSON)."""
    message = sim_message(
        lifecycle,
        moment,
        account,
        retry_count=retry_count,
        summary=summary,
        document_size=document_size,
    )
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
