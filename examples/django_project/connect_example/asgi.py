"""ASGI entry point (``uvicorn connect_example.asgi:application``)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "connect_example.settings")
application = get_asgi_application()
