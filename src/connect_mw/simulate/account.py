"""The simulated DocuSign account that sends the traffic."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ACCOUNT_ID = "5d1c8f3a-2b47-4e9a-9c31-7f0e6a2d4b18"


@dataclass(frozen=True, slots=True)
class Account:
    """Who sends: account and sender ids, the Connect configuration id, the account time zone.

    XML legacy messages write times without an offset, in the account's time zone, and
    carry ``TimeZoneOffset`` (``utc_offset_hours``) so the receiver can read them.
    """

    account_id: str = DEFAULT_ACCOUNT_ID
    user_id: str = "c0ffee00-1234-4abc-8def-0123456789ab"
    sender_name: str = "Ada Sender"
    sender_email: str = "ada.sender@example.org"
    sender_ip: str = "203.0.113.7"
    configuration_id: int = 10011234
    utc_offset_hours: int = -8
    time_zone: str = "Pacific Standard Time"
