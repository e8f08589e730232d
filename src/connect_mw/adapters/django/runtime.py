"""The project's receiver and in-process worker, built once from ``settings.CONNECT_MW``.

Built lazily (by the middleware, the admin, the management commands), rebuilt after
``override_settings(CONNECT_MW=…)`` in tests.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ...errors import ConfigurationError
from ...receiver import Receiver
from ...stores import Store
from ...worker import WorkerThread
from .settings import DJANGO_STORE, ConnectSettings, load_settings
from .signals import connect_signals
from .worker import django_worker


@dataclass(frozen=True)
class Runtime:
    """A receiver and, in deferred mode, the worker thread processing its events."""

    receiver: Receiver
    worker_thread: WorkerThread | None


_lock = threading.Lock()
_current: Runtime | None = None


def _store(config: ConnectSettings) -> str | Store:
    if config.store != DJANGO_STORE:
        return config.store
    from .store import DjangoStore  # noqa: PLC0415  (models need the app registry ready)

    return DjangoStore(using=config.database)


def build_runtime(config: ConnectSettings) -> Runtime:
    """A new receiver (with the signal-sending callbacks) and worker thread for ``config``."""
    try:
        receiver = Receiver(store=_store(config), **config.receiver_options())
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"CONNECT_MW: {exc}") from exc
    connect_signals(receiver)
    worker_thread = None
    if config.runs_worker:
        worker_thread = WorkerThread(django_worker(receiver, **config.worker_options()))
    return Runtime(receiver, worker_thread)


def get_runtime() -> Runtime:
    """The project's runtime, built on first use."""
    global _current  # noqa: PLW0603
    with _lock:
        if _current is None:
            _current = build_runtime(load_settings())
        return _current


def get_receiver() -> Receiver:
    """The project's :class:`~connect_mw.Receiver`: its ``store``, more callbacks."""
    return get_runtime().receiver


def reset_runtime() -> None:
    """Forget the runtime (its worker thread is stopped); the next use builds a new one."""
    global _current
    with _lock:
        previous, _current = _current, None
    if previous is None:
        return
    if previous.worker_thread is not None:
        previous.worker_thread.stop()
    previous.receiver.store.close()


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: rebuild after ``CONNECT_MW`` changed (tests)."""
    if setting == "CONNECT_MW":
        reset_runtime()
