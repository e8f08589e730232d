"""When to try a call again, and how long to wait first. Pure: the time is passed in.

DocuSign answers ``429`` when an API rate limit is exhausted and tells when it resets:
``X-RateLimit-Reset`` is the epoch second the hourly window restarts (with
``X-RateLimit-Remaining: 0``), and some answers carry ``Retry-After`` (seconds or an HTTP
date). A wait advised by those headers is honoured up to ``RetryPolicy.max_wait``; a longer
one (the hourly limit, typically) is not waited out: the error is raised at once. Without
advice the wait grows exponentially: ``base_delay``, twice that, and so on up to
``max_delay``. ``429`` and ``5xx`` (except ``501``) are retried, as are connection failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from ..errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a call is retried.

    ``attempts`` counts every try, the first included (``1`` disables retries).
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_wait: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigurationError("RetryPolicy.attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_wait) < 0:
            raise ConfigurationError("RetryPolicy delays must not be negative")

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 for the first) without server advice."""
        return float(min(self.max_delay, self.base_delay * 2 ** (retry - 1)))


def retryable(status: int) -> bool:
    """Whether an answer with this status may succeed when sent again."""
    return status == 429 or (500 <= status < 600 and status != 501)


def _retry_after(value: str, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: a number of seconds or an HTTP date."""
    text = value.strip()
    if text.isascii() and text.isdigit():  # "²" is a digit float() refuses
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.timestamp() - now


def _rate_limit_reset(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (epoch seconds), when it is a number."""
    value = headers.get("x-ratelimit-reset", "").strip()
    return float(value) - now if value.isascii() and value.isdigit() else None


def advised_wait(status: int, headers: Mapping[str, str], now: float) -> float | None:
    """The wait DocuSign's headers ask for, in seconds, or ``None`` when they say nothing.

    ``Retry-After`` first; for a ``429`` (or an exhausted limit) ``X-RateLimit-Reset``.
    """
    retry_after = headers.get("retry-after")
    if retry_after:
        wait = _retry_after(retry_after, now)
        if wait is not None:
            return wait
    exhausted = headers.get("x-ratelimit-remaining", "").strip() == "0"
    return _rate_limit_reset(headers, now) if status == 429 or exhausted else None


def retry_delay(
    policy: RetryPolicy, retry: int, status: int, headers: Mapping[str, str], now: float
) -> float | None:
    """The wait before retry number ``retry`` after an answer ``status``; ``None``: give up."""
    if retry >= policy.attempts or not retryable(status):
        return None
    advised = advised_wait(status, headers, now)
    if advised is None or advised <= 0:
        return policy.backoff(retry)
    return advised if advised <= policy.max_wait else None


def failure_delay(policy: RetryPolicy, retry: int) -> float | None:
    """The wait before retry number ``retry`` after a connection failure; ``None``: give up."""
    return policy.backoff(retry) if retry < policy.attempts else None
