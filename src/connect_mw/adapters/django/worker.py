"""A :class:`~connect_mw.worker.Worker` that treats each batch like a Django request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import close_old_connections

from ...receiver import Receiver
from ...worker import Worker


@contextmanager
def fresh_connections() -> Iterator[None]:
    """``close_old_connections()`` before and after the block, as Django does per request.

    A worker thread lives for the whole process: without this its connections would never
    be recycled (``CONN_MAX_AGE``) or replaced after the database restarted.
    """
    close_old_connections()
    try:
        yield
    finally:
        close_old_connections()


def django_worker(receiver: Receiver, **options: Any) -> Worker:
    """``receiver.worker(**options)`` with every batch inside :func:`fresh_connections`."""
    return receiver.worker(around_batch=fresh_connections, **options)
