"""System checks (``manage.py check``) for the ``CONNECT_MW`` setting."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .settings import DJANGO_STORE, load_settings


def check_connect_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``connect_mw.E001`` bad setting, ``E002`` the store needs ``USE_TZ``, ``W001`` no auth.

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
    authenticated = config.hmac_keys or config.account_keys or config.basic_auth
    if not authenticated and not config.allow_unauthenticated:
        messages.append(
            checks.Warning(
                "CONNECT_MW has no HMAC_KEYS, ACCOUNT_KEYS or BASIC_AUTH: the receiver will "
                "refuse to start",
                hint="set CONNECT_MW['HMAC_KEYS'] to your Connect HMAC key(s)",
                id="connect_mw.W001",
            )
        )
    return messages
