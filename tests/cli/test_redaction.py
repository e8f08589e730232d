"""``connect_mw.redaction``: credentials masked in URIs, free text and log records."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect_mw.redaction import RedactingFilter, redact, redact_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://user:PW@host/db", "postgresql://user:***@host/db"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://default:p%40ss@cache/1?prefix=cm", "rediss://default:***@cache/1?prefix=cm"),
        ("postgresql://u@h/db?password=x&schema=s", "postgresql://u@h/db?password=***&schema=s"),
        ("celery+amqp://guest:guest@mq//?queue=q", "celery+amqp://guest:***@mq//?queue=q"),
        ("postgresql://u:a:b@c@host/db", "postgresql://u:***@host/db"),
        ("sqlite:///connect-mw.sqlite3", "sqlite:///connect-mw.sqlite3"),
        ("postgresql://postgres@127.0.0.1/test", "postgresql://postgres@127.0.0.1/test"),
        ("memory://", "memory://"),
    ],
)
def test_redact_uri(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_redact_free_text() -> None:
    text = (
        "store postgresql://app:S3cret@db/x failed; "
        '"GET /dashboard/?token=abc&page=2 HTTP/1.1"; host=db password=hunter2 user=app'
    )
    assert redact(text) == (
        "store postgresql://app:***@db/x failed; "
        '"GET /dashboard/?token=***&page=2 HTTP/1.1"; host=db password=*** user=app'
    )


secrets = st.text(st.characters(codec="utf-8", exclude_characters="@/?#"), min_size=6)


@given(password=secrets, user=st.from_regex(r"[a-z]{1,8}", fullmatch=True))
def test_no_password_survives(password: str, user: str) -> None:
    uri = f"postgresql://{user}:{password}@db.internal:5432/events?schema=cm"
    assert redact_uri(uri) == f"postgresql://{user}:***@db.internal:5432/events?schema=cm"
    assert redact_uri(f"redis://:{password}@r/0") == "redis://:***@r/0"


def test_the_filter_keeps_arguments_for_formatters() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/dashboard/?token=abc", "1.1", 303), None,
    )  # fmt: skip
    assert RedactingFilter().filter(record)
    assert isinstance(record.args, tuple) and record.args[4] == 303
    assert record.getMessage() == '127.0.0.1:5000 - "GET /dashboard/?token=*** HTTP/1.1" 303'
