"""A :class:`~connect_mw.worker.Worker` that treats each batch like a Django request."""

from __future__ import annotations

from datetime import datetime

from django.db import close_old_connections

from ...worker import Worker


class DjangoWorker(Worker):
    """Closes stale database connections around every batch, as Django does per request.

    A worker thread lives for the whole process: without this its connections would never
    be recycled (``CONN_MAX_AGE``) or replaced after the database restarted.
    """

    def run_once(self, now: datetime | None = None) -> int:
        """Claim and process one batch between two ``close_old_connections()``."""
        close_old_connections()
        try:
            return super().run_once(now)
        finally:
            close_old_connections()
