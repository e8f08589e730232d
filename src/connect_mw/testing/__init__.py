"""Test helpers for users of connect-mw (needs pytest, which is not a core dependency).

* :class:`StoreContract` — the behaviour every store must have; subclass it in your test
  suite and implement ``make_store`` to check your own :class:`~connect_mw.stores.Store`.
* :func:`notification` / :func:`recipient` — build normalized notifications without a body.
* :class:`Simulator` — realistic signed Connect traffic, delivered to a receiver or a URL
  (pytest fixtures: ``connect_simulator``, ``connect_receiver``, ``connect_hmac_key``).
"""

from __future__ import annotations

from .builders import notification, recipient
from .simulator import Simulator
from .store_contract import StoreContract

__all__ = ["Simulator", "StoreContract", "notification", "recipient"]
