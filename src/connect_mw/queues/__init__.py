"""Work queues: the :class:`Queue` interface and its store-backed default."""

from __future__ import annotations

from .api import Queue
from .store_queue import StoreQueue

__all__ = ["Queue", "StoreQueue"]
