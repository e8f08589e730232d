"""``/healthz`` and ``/readyz`` views for Django (see :mod:`connect_mw.health`).

Include them in your URLconf::

    urlpatterns = [path("", include("connect_mw.adapters.django.health")), ...]

or mount them elsewhere, with another readiness bound::

    from connect_mw.adapters.django.health import health_urls
    urlpatterns = [path("ops/", include(health_urls(timeout=5.0))), ...]

Readiness asks the project's store (``settings.CONNECT_MW``) from a thread of its own and
closes that thread's database connections afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from ...health import DEFAULT_READY_TIMEOUT, HEALTHZ, READYZ, HealthCheck
from ...http import Response
from .runtime import get_receiver
from .store import load_and_close

__all__ = ["health_urls", "healthz", "readyz", "urlpatterns"]

View = Callable[[HttpRequest], HttpResponse]
_lock = threading.Lock()
_checks: dict[float, HealthCheck] = {}


def _check(timeout: float) -> HealthCheck:
    store = get_receiver().store
    with _lock:
        check = _checks.get(timeout)
        if check is None or check.store is not store:  # rebuilt runtime (settings changed)
            probe = partial(load_and_close, store)
            check = _checks[timeout] = HealthCheck(store, timeout, probe=probe)
        return check


def _django(response: Response) -> HttpResponse:
    reply = HttpResponse(response.body, status=response.status)
    for name, value in response.headers:
        reply[name] = value
    return reply


def _views(timeout: float) -> tuple[View, View]:
    def healthz(request: HttpRequest) -> HttpResponse:
        """Liveness: 200 while the process answers."""
        return _django(_check(timeout).answer(request.method or "GET", HEALTHZ))

    def readyz(request: HttpRequest) -> HttpResponse:
        """Readiness: 200 if the store answers within the bound, else 503 with a reason."""
        return _django(_check(timeout).answer(request.method or "GET", READYZ))

    return healthz, readyz


def health_urls(timeout: float = DEFAULT_READY_TIMEOUT) -> list[URLPattern]:
    """``healthz`` and ``readyz`` URL patterns with readiness bounded by ``timeout`` seconds."""
    live, ready = _views(timeout)
    return [
        path("healthz", live, name="connect_mw_healthz"),
        path("readyz", ready, name="connect_mw_readyz"),
    ]


healthz, readyz = _views(DEFAULT_READY_TIMEOUT)
#: For ``include("connect_mw.adapters.django.health")``.
urlpatterns = health_urls()
