"""Sending one request with retries: the only loop around the network.

Used for the account server (token, userinfo) and the eSignature API alike. An error answer
that is not worth retrying (or still failing after the last attempt) is *returned*: the
caller knows which error it means. A connection failure is retried with backoff unless part
of a streamed body was already written to its sink (sending again would write it twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from .errors import DocuSignTransportError
from .retry import RetryPolicy, failure_delay, retry_delay
from .wire import ApiRequest, ApiResponse, CountingSink, Sleep, Steps, TransportFailure, exchange

log = logging.getLogger("connect_mw.rest")

Clock = Callable[[], float]


def _where(request: ApiRequest) -> str:
    """``METHOD /path`` for logs and errors: never the query, headers or body."""
    return f"{request.method} {urlsplit(request.url).path}"


def _may_resend(request: ApiRequest) -> bool:
    """Whether resending cannot duplicate bytes already handed to the sink."""
    if request.sink is None:
        return True
    return isinstance(request.sink, CountingSink) and request.sink.bytes == 0


def _unreachable(request: ApiRequest, failure: TransportFailure) -> DocuSignTransportError:
    return DocuSignTransportError(f"cannot reach DocuSign for {_where(request)}: {failure.reason}")


def send(request: ApiRequest, policy: RetryPolicy, clock: Clock) -> Steps[ApiResponse]:
    """Send ``request``, retrying 429, 5xx and connection failures as ``policy`` says."""
    retry = 0
    while True:
        retry += 1
        try:
            response = yield from exchange(request)
        except TransportFailure as failure:
            delay = failure_delay(policy, retry) if _may_resend(request) else None
            if delay is None:
                raise _unreachable(request, failure) from None
            log.warning("%s failed (%s); retry in %.1f s", _where(request), failure.reason, delay)
            yield Sleep(delay)
            continue
        log.debug("%s -> %d", _where(request), response.status)
        if response.ok:
            return response
        delay = retry_delay(policy, retry, response.status, response.headers, clock())
        if delay is None:
            return response
        log.warning("%s -> %d; retry in %.1f s", _where(request), response.status, delay)
        yield Sleep(delay)
