"""``CONNECT_MW`` is read into typed settings; every mistake is a clear ImproperlyConfigured."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from support import django_settings

django_settings.setup()

from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import override_settings  # noqa: E402

from connect_mw.adapters.django import ConnectDjangoMiddleware  # noqa: E402
from connect_mw.adapters.django.checks import check_connect_settings  # noqa: E402
from connect_mw.adapters.django.settings import parse_settings  # noqa: E402
from connect_mw.stores import MemoryStore  # noqa: E402
from support.deliveries import KEY  # noqa: E402


def test_defaults() -> None:
    config = parse_settings(None)
    assert (config.store, config.path, config.mode, config.runs_worker) == (
        "django",
        "/docusign/connect",
        "deferred",
        True,
    )
    assert config.hmac_keys == () and config.basic_auth is None


def test_every_key_is_typed() -> None:
    store = MemoryStore()
    config = parse_settings(
        {
            "HMAC_KEYS": "one-key",
            "ACCOUNT_KEYS": {"acct": ["k1", "k2"]},
            "PATH": "/hooks/docusign",
            "STORE": store,
            "MAX_BODY_SIZE": 1024,
            "READ_TIMEOUT": 5,
            "BASIC_AUTH": ["user", "secret"],
            "ALLOW_UNAUTHENTICATED": False,
            "MODE": "inline",
            "LEASE_FOR": 60,
            "MAX_ATTEMPTS": 3,
            "RETENTION_DAYS": 7,
            "PURGE_EVERY": 0,
        }
    )
    assert config.hmac_keys == ("one-key",)
    assert config.account_keys == {"acct": ("k1", "k2")}
    assert config.store is store and config.read_timeout == 5.0
    assert config.basic_auth == ("user", "secret")
    options = config.receiver_options()
    assert options["lease_for"] == timedelta(seconds=60)
    assert options["retry"].max_attempts == 3
    assert options["retention"] == timedelta(days=7) and options["purge_every"] == 0
    defaults = parse_settings({}).receiver_options()
    assert defaults["retention"] is None and defaults["purge_every"] == 3600  # the store's
    assert not config.runs_worker  # inline mode: no worker unless RUN_WORKER is True
    assert parse_settings({"MODE": "inline", "RUN_WORKER": True}).runs_worker
    assert not parse_settings({"RUN_WORKER": False}).runs_worker


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"HMAC_KEY": "x"}, "unknown keys ['HMAC_KEY']"),
        ({"HMAC_KEYS": 42}, "CONNECT_MW['HMAC_KEYS']: expected a non-empty string"),
        ({"MAX_BODY_SIZE": "64MB"}, "CONNECT_MW['MAX_BODY_SIZE']: expected a positive int"),
        ({"READ_TIMEOUT": 0}, "CONNECT_MW['READ_TIMEOUT']: expected a positive float"),
        ({"PURGE_EVERY": -1}, "CONNECT_MW['PURGE_EVERY']: expected a finite number >= 0"),
        ({"PURGE_EVERY": float("nan")}, "CONNECT_MW['PURGE_EVERY']: expected a finite number"),
        ({"LEASE_FOR": float("inf")}, "CONNECT_MW['LEASE_FOR']: expected a positive float"),
        ({"MAX_BODY_SIZE": 10**400}, "CONNECT_MW['MAX_BODY_SIZE']: expected a positive int"),
        ({"RETENTION_DAYS": 0}, "CONNECT_MW['RETENTION_DAYS']: expected a positive float"),
        ({"ALLOW_UNAUTHENTICATED": "yes"}, "expected True or False, got str"),
        ({"PATH": "docusign"}, "expected a path starting with '/'"),
        ({"MODE": "later"}, "expected 'deferred' or 'inline'"),
        (["HMAC_KEYS"], "CONNECT_MW must be a dict"),
    ],
)
def test_mistakes_name_the_key(value: Any, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="CONNECT_MW") as raised:
        parse_settings(value)
    assert message in str(raised.value)


def test_secrets_are_never_echoed_in_errors() -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        parse_settings({"BASIC_AUTH": ("user", "hunter2", "extra")})
    assert "hunter2" not in str(raised.value)


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def test_middleware_refuses_to_start_without_authentication() -> None:
    with (
        override_settings(CONNECT_MW={}),
        pytest.raises(ImproperlyConfigured, match="no authentication configured"),
    ):
        ConnectDjangoMiddleware(ok)


def test_system_checks() -> None:
    assert check_connect_settings() == []
    with override_settings(CONNECT_MW={"HMAC_KEYS": 1}):
        assert [m.id for m in check_connect_settings()] == ["connect_mw.E001"]
    with override_settings(CONNECT_MW={}, USE_TZ=False):
        assert [m.id for m in check_connect_settings()] == ["connect_mw.E002", "connect_mw.W001"]
    with override_settings(CONNECT_MW={"HMAC_KEYS": [KEY], "STORE": "memory://"}, USE_TZ=False):
        assert check_connect_settings() == []


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"RETENTION_DAYS": 1e300}, "RETENTION_DAYS"),  # timedelta overflowed: a traceback
        ({"RETENTION_DAYS": 40_000}, "RETENTION_DAYS"),  # the receiver refused it only later
        ({"PURGE_EVERY": 1e12}, "PURGE_EVERY"),
        ({"LEASE_FOR": 1e300}, "LEASE_FOR"),
        ({"POLL_INTERVAL": 1e300}, "POLL_INTERVAL"),
        ({"READ_TIMEOUT": 1e300}, "READ_TIMEOUT"),
    ],
)
def test_numbers_beyond_their_range_are_refused_by_the_check(value: Any, key: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=rf"CONNECT_MW\['{key}'\]: expected"):
        parse_settings(value)
