"""Test helpers for users of connect-mw (only the contract suites need pytest).

* :class:`StoreContract` — the behaviour every store must have (storage, recording through
  the core, and the work queue over it: :class:`QueueContract`); subclass it in your test
  suite and implement ``make_store`` to check your own :class:`~connect_mw.stores.api.Store`.
* :func:`notification` / :func:`recipient` — build normalized notifications without a body.
* :class:`Simulator` — realistic signed Connect traffic, delivered to a receiver or a URL
  (pytest fixtures: ``connect_simulator``, ``connect_receiver``, ``connect_hmac_key``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .builders import notification, recipient
from .simulator import Simulator

if TYPE_CHECKING:
    from .queue_contract import QueueContract
    from .store_contract import StoreContract

__all__ = ["QueueContract", "Simulator", "StoreContract", "notification", "recipient"]


def __getattr__(name: str) -> Any:
    """The contract suites are imported on first use: they need pytest, the rest does not."""
    if name == "StoreContract":
        from .store_contract import StoreContract  # noqa: PLC0415

        return StoreContract
    if name == "QueueContract":
        from .queue_contract import QueueContract  # noqa: PLC0415

        return QueueContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
