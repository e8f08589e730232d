"""Idempotency keys come from stable fields, never from retryCount or the body bytes."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from connect_mw.errors import ConfigurationError
from connect_mw.keys import default_key, derive_key
from connect_mw.model import PayloadFormat
from connect_mw.testing import notification
from connect_mw.testing.builders import BASE_TIME


def test_retry_count_and_size_do_not_change_the_key() -> None:
    n = notification(retry_count=0, raw_size=100)
    assert default_key(n) == default_key(msgspec.structs.replace(n, retry_count=7, raw_size=101))


@pytest.mark.parametrize(
    "change",
    [
        {"envelope_id": "other"},
        {"event": "envelope-resent"},
        {"recipient_id": "2"},
        {"generated_at": BASE_TIME + timedelta(microseconds=1)},
        {"account_id": "acct-2"},
    ],
)
def test_each_stable_sim_field_is_part_of_the_key(change: dict[str, object]) -> None:
    n = notification(recipient_id="1")
    assert default_key(n) != default_key(msgspec.structs.replace(n, **change))


def test_ids_compare_case_insensitively() -> None:
    n = notification("ABC-def", account_id="ACCT")
    assert default_key(n) == default_key(
        msgspec.structs.replace(n, envelope_id="abc-DEF", account_id="acct")
    )


def test_xml_key_is_envelope_status_and_time_generated() -> None:
    n = notification("e1", "sent", payload_format=PayloadFormat.XML_LEGACY, account_id=None)
    assert default_key(n).startswith("xml:")
    with_account = msgspec.structs.replace(n, account_id="filled-from-header")
    assert default_key(n) == default_key(with_account)
    assert default_key(n) != default_key(
        msgspec.structs.replace(n, generated_at=BASE_TIME + timedelta(1))
    )
    assert default_key(n) != default_key(
        notification("e1", "delivered", payload_format=PayloadFormat.XML_LEGACY)
    )


def test_custom_key_func_must_return_a_usable_key() -> None:
    n = notification()
    assert derive_key(n, lambda _: "mine") == "mine"
    for bad in ["", "x" * 513]:
        with pytest.raises(ConfigurationError):
            derive_key(n, lambda _, value=bad: value)  # type: ignore[misc]
