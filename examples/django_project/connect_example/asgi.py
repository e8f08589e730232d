"""ASGI entry point (``uvicorn connect_example.asgi:application``).

``ConnectDjangoASGI`` answers the Connect path before Django's handler reads the body, so a
declared length over the limit is refused at once and a stalled body ends at the read
timeout (see ``docs/frameworks/django.md``).
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from connect_mw.adapters.django import ConnectDjangoASGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "connect_example.settings")
application = ConnectDjangoASGI(get_asgi_application())
