"""Test helpers for users of connect-mw (needs pytest, which is not a core dependency).

* :class:`StoreContract` — the behaviour every store must have; subclass it in your test
  suite and implement ``make_store`` to check your own :class:`~connect_mw.stores.Store`.
* :func:`notification` / :func:`recipient` — build normalized notifications without a body.
"""

from __future__ import annotations

from .builders import notification, recipient
from .store_contract import StoreContract

__all__ = ["StoreContract", "notification", "recipient"]
