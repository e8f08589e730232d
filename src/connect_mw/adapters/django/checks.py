"""System checks (``manage.py check``) for the ``CONNECT_MW`` setting."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from ...errors import ConfigurationError
from .settings import DJANGO_STORE, ConnectSettings, load_settings


def check_connect_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The ``CONNECT_MW`` checks: ``connect_mw.E001`` to ``E004``, ``W001``.

    ``E001`` a bad setting, ``E002`` the store needs ``USE_TZ``, ``E003`` the ``OAUTH_*``
    keys and ``E004`` the ``CLIENT_CERT_*`` keys incomplete or invalid, ``W001`` no
    authentication.

    Missing authentication is only a warning here (so ``migrate`` runs in a build step
    without secrets); the middleware still refuses to start without it.
    """
    try:
        config = load_settings()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="connect_mw.E001")]
    messages: list[checks.CheckMessage] = []
    if config.store == DJANGO_STORE and not settings.USE_TZ:
        messages.append(
            checks.Error(
                "the Django store keeps aware UTC times: set USE_TZ = True",
                hint="or set CONNECT_MW['STORE'] to a URI such as 'sqlite:///connect.db'",
                id="connect_mw.E002",
            )
        )
    messages += _verifier_errors(config)
    if not config.authenticated and not config.allow_unauthenticated:
        messages.append(
            checks.Warning(
                "CONNECT_MW has no HMAC_KEYS, ACCOUNT_KEYS, BASIC_AUTH, OAUTH_* or "
                "CLIENT_CERT_* keys: the receiver will refuse to start",
                hint="set CONNECT_MW['HMAC_KEYS'] to your Connect HMAC key(s)",
                id="connect_mw.W001",
            )
        )
    return messages


def _verifier_errors(config: ConnectSettings) -> list[checks.CheckMessage]:
    """``E003`` / ``E004``: the OAuth or client-certificate keys cannot build a verifier."""
    messages: list[checks.CheckMessage] = []
    builds = (
        (config.oauth, "connect_mw.E003", "set OAUTH_ISSUER, OAUTH_AUDIENCES and OAUTH_JWKS_URL"),
        (
            config.client_certificate,
            "connect_mw.E004",
            "set CLIENT_CERT_SUBJECTS (RFC 4514 names) or CLIENT_CERT_FINGERPRINTS (SHA-256)",
        ),
    )
    for build, check_id, hint in builds:
        try:
            build()
        except ConfigurationError as exc:
            messages.append(checks.Error(str(exc), hint=hint, id=check_id))
    if config.basic_auth and config.oauth_settings.given:
        messages.append(
            checks.Error(
                "CONNECT_MW has BASIC_AUTH and OAUTH_* keys: both use the Authorization "
                "header, configure one of them",
                id="connect_mw.E003",
            )
        )
    return messages
