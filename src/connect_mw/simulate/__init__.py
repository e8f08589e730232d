"""A DocuSign Connect simulator: realistic lifecycles, rendered and signed, delivered over HTTP.

* :mod:`.lifecycles` — envelopes as DocuSign reports them (:func:`build_lifecycle`, with
  their true final state);
* :mod:`.messages` — each moment as an XML legacy or JSON SIM body, signed
  (:class:`SimulatedMessage`, :func:`messages_for`);
* :mod:`.engine` — delivery with DocuSign's timeout and retry rules, duplicates, shuffling and
  concurrency (:func:`deliver`; needs httpx, imported only when delivering);
* :mod:`.report` — counts, latency percentiles, a progress bar.

``connect-mw simulate`` is the command line; :class:`connect_mw.testing.simulator.Simulator`
wraps all of it for tests.
"""

from __future__ import annotations

from .account import DEFAULT_ACCOUNT_ID, Account
from .engine import DOCUSIGN_TIMEOUT, DeliveryOptions, adeliver, deliver
from .lifecycles import KINDS, Lifecycle, Moment, build_lifecycle, build_lifecycles
from .messages import FORMATS, SimulatedMessage, messages_for, signed_headers
from .report import Progress, Report

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DOCUSIGN_TIMEOUT",
    "FORMATS",
    "KINDS",
    "Account",
    "DeliveryOptions",
    "Lifecycle",
    "Moment",
    "Progress",
    "Report",
    "SimulatedMessage",
    "adeliver",
    "build_lifecycle",
    "build_lifecycles",
    "deliver",
    "messages_for",
    "signed_headers",
]
