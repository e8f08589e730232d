"""Talking back to DocuSign: the eSignature REST client, JWT grant and reconciliation.

Needs the ``rest`` extra (``pip install 'connect-mw[rest]'``, which brings ``httpx``).
Importing this package does not import ``httpx``: the clients are loaded on first access,
so ``connect_mw.cli`` can offer the REST commands in an install without the extra.

* :class:`ESignClient` / :class:`AsyncESignClient` — the operations
  (:mod:`connect_mw.rest.operations`), one implementation, two faces;
* :class:`DocuSignSettings` — integration key, user, RSA key, account, servers;
* :func:`rest_envelope_to_notification` — a REST envelope as a ``rest-poll`` notification;
* :func:`reconcile_receiver` (:mod:`connect_mw.rest.reconcile`, with ``reconcile`` and
  ``stuck_envelopes``) and :class:`ReconcileJob` — recover what Connect did not deliver;
* :class:`EnvelopeEnricher` / :class:`AsyncEnvelopeEnricher` — ``Receiver(enrich=...)``
  completing minimal messages;
* :func:`fetch_document` / :func:`afetch_document` and
  :func:`download_completed_documents` — documents from a callback.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..parse.rest import rest_envelope_to_notification
from .auth import Account, consent_url
from .errors import (
    ConsentRequired,
    DocumentTooLarge,
    DocuSignAPIError,
    DocuSignAuthError,
    DocuSignError,
    DocuSignTransportError,
)
from .results import (
    ConnectConfiguration,
    ConnectFailure,
    DocumentDownload,
    EnvelopeDocument,
    RepublishResult,
    StatusChangesPage,
)
from .retry import RetryPolicy
from .settings import DEMO_AUTH_SERVER, PRODUCTION_AUTH_SERVER, DocuSignSettings

if TYPE_CHECKING:
    from .client import AsyncESignClient, ESignClient
    from .documents import afetch_document, download_completed_documents, fetch_document
    from .enrich import AsyncEnvelopeEnricher, EnvelopeEnricher
    from .job import ReconcileJob
    from .reconcile import reconcile_receiver

__all__ = [
    "DEMO_AUTH_SERVER",
    "PRODUCTION_AUTH_SERVER",
    "Account",
    "AsyncESignClient",
    "AsyncEnvelopeEnricher",
    "ConnectConfiguration",
    "ConnectFailure",
    "ConsentRequired",
    "DocuSignAPIError",
    "DocuSignAuthError",
    "DocuSignError",
    "DocuSignSettings",
    "DocuSignTransportError",
    "DocumentDownload",
    "DocumentTooLarge",
    "ESignClient",
    "EnvelopeDocument",
    "EnvelopeEnricher",
    "ReconcileJob",
    "RepublishResult",
    "RetryPolicy",
    "StatusChangesPage",
    "afetch_document",
    "consent_url",
    "download_completed_documents",
    "fetch_document",
    "reconcile_receiver",
    "rest_envelope_to_notification",
]

#: Loaded on first access (the clients need httpx; the rest keeps ``import`` light).
_LAZY = {
    "ESignClient": "client",
    "AsyncESignClient": "client",
    "EnvelopeEnricher": "enrich",
    "AsyncEnvelopeEnricher": "enrich",
    "fetch_document": "documents",
    "afetch_document": "documents",
    "download_completed_documents": "documents",
    "ReconcileJob": "job",
    "reconcile_receiver": "reconcile",
}


def __getattr__(name: str) -> Any:
    """Load the clients (and ``httpx``) and the helpers built on them on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        loaded = importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError as exc:
        raise ImportError(
            f"connect_mw.rest.{name} needs {exc.name}: pip install 'connect-mw[rest]'"
        ) from exc
    return getattr(loaded, name)
