"""The two drivers: run an operation's steps over ``httpx.Client`` or ``httpx.AsyncClient``.

These are the only sync/async pair of the REST client; everything they run is written once
(:mod:`connect_mw.rest.operations`). A driver sends each :class:`ApiRequest` the steps yield
and sends back the :class:`ApiResponse`, streams a successful body into the request's sink
``CHUNK_SIZE`` bytes at a time, performs each :class:`Sleep` with the injected sleep, and
throws any failure into the steps (``httpx`` transport errors as :class:`TransportFailure`)
so they can retry or clean up.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from .wire import CHUNK_SIZE, ApiRequest, ApiResponse, Effect, Sleep, Steps, TransportFailure

_T = TypeVar("_T")
#: Most bytes of an error answer kept (DocuSign's are a few hundred).
MAX_ERROR_BODY = 1 << 20

SyncSleep = Callable[[float], object]
AsyncSleep = Callable[[float], Awaitable[object]]


def _options(request: ApiRequest) -> dict[str, Any]:
    """``httpx`` keyword arguments for ``request``."""
    return {
        "params": list(request.params),
        "json": request.json,
        "data": dict(request.form) if request.form is not None else None,
        "headers": dict(request.headers),
    }


def _headers(response: httpx.Response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


def _failure(exc: httpx.TransportError) -> TransportFailure:
    detail = str(exc)
    return TransportFailure(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)


def _send(http: httpx.Client, request: ApiRequest) -> ApiResponse:
    try:
        with http.stream(request.method, request.url, **_options(request)) as response:
            headers = _headers(response)
            if request.sink is not None and response.is_success:
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    request.sink.write(chunk)
                return ApiResponse(response.status_code, headers)
            body = b""
            for chunk in response.iter_bytes(CHUNK_SIZE):
                body += chunk[: MAX_ERROR_BODY - len(body)]
            return ApiResponse(response.status_code, headers, body)
    except httpx.TransportError as exc:
        raise _failure(exc) from None


async def _asend(http: httpx.AsyncClient, request: ApiRequest) -> ApiResponse:
    try:
        async with http.stream(request.method, request.url, **_options(request)) as response:
            headers = _headers(response)
            if request.sink is not None and response.is_success:
                async for chunk in response.aiter_bytes(CHUNK_SIZE):
                    written = request.sink.write(chunk)
                    if inspect.isawaitable(written):
                        await written
                return ApiResponse(response.status_code, headers)
            body = b""
            async for chunk in response.aiter_bytes(CHUNK_SIZE):
                body += chunk[: MAX_ERROR_BODY - len(body)]
            return ApiResponse(response.status_code, headers, body)
    except httpx.TransportError as exc:
        raise _failure(exc) from None


def _perform(effect: Effect, http: httpx.Client, sleep: SyncSleep) -> Any:
    if isinstance(effect, Sleep):
        return sleep(effect.seconds)
    return _send(http, effect)


async def _aperform(effect: Effect, http: httpx.AsyncClient, sleep: AsyncSleep) -> Any:
    if isinstance(effect, Sleep):
        return await sleep(effect.seconds)
    return await _asend(http, effect)


def run(steps: Steps[_T], http: httpx.Client, sleep: SyncSleep) -> _T:
    """Run ``steps`` to completion in this thread."""
    value: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                effect = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = _perform(effect, http, sleep)
            except Exception as exc:
                error = exc
    finally:
        steps.close()


async def arun(steps: Steps[_T], http: httpx.AsyncClient, sleep: AsyncSleep) -> _T:
    """Run ``steps`` to completion on the event loop."""
    value: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                effect = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = await _aperform(effect, http, sleep)
            except Exception as exc:
                error = exc
    finally:
        steps.close()
