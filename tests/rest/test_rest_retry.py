"""The retry rules, and the sans-I/O send loop driven by hand (no network)."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from connect_mw.errors import ConfigurationError
from connect_mw.rest import RetryPolicy
from connect_mw.rest.errors import DocuSignTransportError
from connect_mw.rest.retry import advised_wait, retry_delay, retryable
from connect_mw.rest.sending import send
from connect_mw.rest.wire import ApiRequest, ApiResponse, CountingSink, Sleep, TransportFailure

NOW = 1_700_000_000.0
POLICY = RetryPolicy()


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [POLICY.backoff(retry) for retry in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (501, False),
        (400, False),
        (401, False),
        (404, False),
    ],
)
def test_what_is_retried(status: int, expected: bool) -> None:
    assert retryable(status) is expected


def test_advised_waits() -> None:
    reset = {"x-ratelimit-reset": str(int(NOW) + 40), "x-ratelimit-remaining": "0"}
    assert advised_wait(429, {"retry-after": "5"}, NOW) == 5
    date = format_datetime(datetime.fromtimestamp(NOW + 90, timezone.utc), usegmt=True)
    assert advised_wait(503, {"retry-after": date}, NOW) == 90
    assert advised_wait(429, {"retry-after": "soon", **reset}, NOW) == 40  # unreadable: the reset
    assert advised_wait(429, {"x-ratelimit-reset": str(int(NOW) + 40)}, NOW) == 40
    assert advised_wait(503, reset, NOW) == 40  # an exhausted limit, whatever the status
    assert (
        advised_wait(
            503, {"x-ratelimit-reset": str(int(NOW) + 40), "x-ratelimit-remaining": "7"}, NOW
        )
        is None
    )
    assert advised_wait(500, {}, NOW) is None


def test_retry_delay() -> None:
    assert retry_delay(POLICY, 1, 503, {}, NOW) == 1
    assert retry_delay(POLICY, 3, 429, {}, NOW) == 4
    assert retry_delay(POLICY, 1, 429, {"retry-after": "100"}, NOW) == 100
    assert retry_delay(POLICY, 1, 429, {"retry-after": "121"}, NOW) is None  # past max_wait
    assert retry_delay(POLICY, 2, 429, {"x-ratelimit-reset": str(int(NOW) - 3)}, NOW) == 2  # passed
    assert retry_delay(POLICY, 5, 503, {}, NOW) is None  # the fifth try was the last
    assert retry_delay(POLICY, 1, 400, {}, NOW) is None


def test_a_policy_must_make_sense() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(attempts=0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(base_delay=-1)


REQUEST = ApiRequest("GET", "https://demo.docusign.net/restapi/v2.1/accounts/a/envelopes")


def test_send_is_plain_steps() -> None:
    steps = send(REQUEST, RetryPolicy(attempts=3), lambda: NOW)
    assert next(steps) is REQUEST
    assert steps.send(ApiResponse(503, {"retry-after": "3"})) == Sleep(3.0)
    assert steps.send(None) is REQUEST
    with pytest.raises(StopIteration) as done:
        steps.send(ApiResponse(200, {}, b"{}"))
    assert done.value.value == ApiResponse(200, {}, b"{}")


def test_send_returns_the_last_error_answer() -> None:
    steps = send(REQUEST, RetryPolicy(attempts=2), lambda: NOW)
    next(steps)
    assert steps.send(ApiResponse(500, {})) == Sleep(1.0)
    steps.send(None)
    with pytest.raises(StopIteration) as done:
        steps.send(ApiResponse(500, {}, b"last"))
    assert done.value.value.body == b"last"


def test_send_retries_a_failure_unless_bytes_were_streamed() -> None:
    sink = CountingSink(bytearray_sink := _Collect())
    streamed = ApiRequest("GET", REQUEST.url, sink=sink)
    steps = send(streamed, RetryPolicy(), lambda: NOW)
    next(steps)
    assert steps.throw(TransportFailure("ConnectError")) == Sleep(1.0)  # nothing written yet
    assert steps.send(None) is streamed
    sink.write(b"%PDF")
    with pytest.raises(DocuSignTransportError, match="ReadError"):
        steps.throw(TransportFailure("ReadError"))
    assert bytearray_sink.data == b"%PDF"


class _Collect:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes, /) -> None:
        self.data += data


def test_a_request_never_shows_its_headers() -> None:
    secret = ApiRequest("GET", REQUEST.url, headers=(("Authorization", "Bearer s3cr3t-token"),))
    assert "s3cr3t" not in repr(secret) and secret.headers == (
        ("Authorization", "Bearer s3cr3t-token"),
    )


def test_advised_waits_ignore_non_ascii_digits() -> None:
    # "²" is a digit to str.isdigit() but not to float(): unreadable, like "soon"
    reset = {"x-ratelimit-reset": "\u00b2", "x-ratelimit-remaining": "0"}
    assert advised_wait(429, {"retry-after": "\u00b2"}, NOW) is None
    assert advised_wait(429, reset, NOW) is None
