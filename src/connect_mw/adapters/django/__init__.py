"""Django integration: an app (models, admin, signals, commands) and a middleware.

::

    INSTALLED_APPS = [..., "connect_mw.adapters.django"]
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "connect_mw.adapters.django.ConnectDjangoMiddleware",
        ...
    ]
    CONNECT_MW = {"HMAC_KEYS": ["<your Connect HMAC key>"]}

Then ``manage.py migrate``. Events and envelope states are stored in Django models
(:class:`~connect_mw.adapters.django.store.DjangoStore`); react to them with the signals
in :mod:`connect_mw.adapters.django.signals`, or register callbacks on
:func:`get_receiver`. See ``docs/frameworks/django.md``.
"""

from __future__ import annotations

from .middleware import ConnectDjangoASGI, ConnectDjangoMiddleware
from .runtime import get_receiver

__all__ = ["ConnectDjangoASGI", "ConnectDjangoMiddleware", "get_receiver"]
