"""Health answers, sans I/O: liveness (the process answers) and readiness (the store does).

``GET /healthz`` answers 200 ``{"status":"ok"}`` whenever the process can answer at all.
``GET /readyz`` asks the store one cheap question (loading an envelope that does not exist)
and answers 200 ``{"status":"ready"}`` if it answered within ``timeout`` seconds (default
2), or 503 ``{"status":"unavailable","reason":"…"}`` when it did not answer in time or
failed. The reason names the exception's type only: its message may quote a connection
string. While one check still waits for a hung store, the next answers 503 at once instead
of starting another wait, so probes never pile up.

:class:`HealthCheck` is the logic, written once as effects (:mod:`connect_mw.effects`);
:mod:`connect_mw.adapters.health` mounts it in ASGI and WSGI apps,
:mod:`connect_mw.adapters.django.health` in Django, and ``connect-mw serve`` serves it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from .effects import Effect, Steps, adrive, drive
from .http import Response
from .stores.api import Store
from .stores.probe import PROBE_ENVELOPE, call_within, check_timeout

__all__ = [
    "DEFAULT_READY_TIMEOUT",
    "HEALTHZ",
    "PROBE_ENVELOPE",
    "READYZ",
    "Bounded",
    "HealthCheck",
]

HEALTHZ = "/healthz"
READYZ = "/readyz"
DEFAULT_READY_TIMEOUT = 2.0
_HEADERS = (("content-type", "application/json"), ("cache-control", "no-store"))


@dataclass(frozen=True, slots=True)
class Bounded(Effect):
    """A blocking call given at most ``timeout`` seconds; ``TimeoutError`` after that.

    The call runs in another thread, abandoned (left to finish on its own) when late.
    """

    call: Callable[[], Any]
    timeout: float

    def run(self) -> Any:
        """Run it in a daemon thread and wait for it at most ``timeout`` seconds."""
        return call_within(self.timeout, self.call, name="connect-mw-readyz")

    async def arun(self) -> Any:
        """Run it in a worker thread the event loop stops waiting for after ``timeout``."""
        with anyio.move_on_after(self.timeout):
            return await anyio.to_thread.run_sync(self.call, abandon_on_cancel=True)
        raise TimeoutError(f"no answer within {self.timeout:g} s")


def _json(code: int, state: str, reason: str | None = None) -> Response:
    fields = {"status": state} if reason is None else {"status": state, "reason": reason}
    return Response(code, _HEADERS, json.dumps(fields, separators=(",", ":")).encode())


class HealthCheck:
    """Liveness and readiness of a receiver's ``store``.

    ``timeout`` bounds the readiness check (seconds). ``probe`` replaces the question asked
    (default: ``store.load`` of an envelope that does not exist); the Django view uses it to
    close the probe thread's database connection.
    """

    def __init__(
        self,
        store: Store,
        timeout: float = DEFAULT_READY_TIMEOUT,
        *,
        probe: Callable[[], object] | None = None,
        healthz: str = HEALTHZ,
        readyz: str = READYZ,
    ) -> None:
        check_timeout(timeout)
        self.store = store
        self.timeout = timeout
        self.probe = probe or (lambda: store.load(PROBE_ENVELOPE))
        self.paths = {healthz.rstrip("/"): "live", readyz.rstrip("/"): "ready"}
        self._waiting = threading.Lock()  # held while a check waits for the store

    def owns(self, path: str) -> bool:
        """Whether ``path`` is the liveness or the readiness path."""
        return path.rstrip("/") in self.paths

    def live(self) -> Response:
        """The liveness answer: the process answers."""
        return _json(200, "ok")

    def ready_steps(self) -> Steps[Response]:
        """The readiness answer, as effects: does the store answer within the bound."""
        if not self._waiting.acquire(blocking=False):
            return _json(503, "unavailable", "the store has not answered a previous check")

        claimed = threading.Lock()  # taken by whichever comes first: the probe or the timeout

        def probe() -> object:
            if not claimed.acquire(blocking=False):
                return None  # started after its check gave up: the check released the lock
            try:
                return self.probe()
            finally:  # whenever the store answers, however late
                self._waiting.release()

        try:
            yield Bounded(probe, self.timeout)
        except TimeoutError:
            reason = f"the store did not answer within {self.timeout:g} s"
            return _json(503, "unavailable", reason)
        except Exception as exc:
            return _json(503, "unavailable", f"the store failed: {type(exc).__name__}")
        finally:  # the probe never started (no free worker thread, cancelled): free the slot
            if claimed.acquire(blocking=False):
                self._waiting.release()
        return _json(200, "ready")

    def steps(self, method: str, path: str) -> Steps[Response]:
        """The answer to ``method path`` (one of :meth:`owns`' paths): 405 unless GET/HEAD."""
        if method.upper() not in {"GET", "HEAD"}:
            return Response(405, (*_HEADERS, ("allow", "GET, HEAD")), b'{"error":"GET only"}')
        if self.paths[path.rstrip("/")] == "live":
            response = self.live()
        else:
            response = yield from self.ready_steps()
        if method.upper() == "HEAD":
            return Response(response.status, response.headers, b"")
        return response

    def answer(self, method: str, path: str) -> Response:
        """:meth:`steps` in this thread (WSGI)."""
        return drive(self.steps(method, path))

    async def aanswer(self, method: str, path: str) -> Response:
        """:meth:`steps` on the event loop (ASGI)."""
        return await adrive(self.steps(method, path))
