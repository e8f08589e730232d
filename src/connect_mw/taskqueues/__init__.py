"""Processing on the task queue you already run: Celery, Dramatiq or RQ.

``Receiver(processing=backend)`` makes the receiver enqueue a small task message (the
event's key) after each commit; the queue's own workers run the callbacks through the same
processor (retry policy, dead letters, per-envelope order) and a sweeper enqueues whatever
a broker outage left pending. See ``docs/task-queues.md``.

The backends import their task queue lazily: ``CeleryProcessing`` (``connect-mw[celery]``),
``DramatiqProcessing`` (``connect-mw[dramatiq]``), ``RQProcessing`` (``connect-mw[rq]``);
importing this package needs none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import BrokerQueue, Outcome, Sweeper, TaskQueueProcessing
from .uri import from_uri

if TYPE_CHECKING:
    from .celery import CeleryProcessing
    from .dramatiq import DramatiqProcessing
    from .rq import RQProcessing

__all__ = [
    "BrokerQueue",
    "CeleryProcessing",
    "DramatiqProcessing",
    "Outcome",
    "RQProcessing",
    "Sweeper",
    "TaskQueueProcessing",
    "from_uri",
]

_LAZY = {
    "CeleryProcessing": ".celery",
    "DramatiqProcessing": ".dramatiq",
    "RQProcessing": ".rq",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib  # noqa: PLC0415

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
