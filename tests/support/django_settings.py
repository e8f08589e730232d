"""A Django project for the tests, configured in-process (no pytest-django, no conftest).

``setup()`` configures settings once per process with a file-based SQLite database (so the
contract suite's threads see each other's commits) and migrates it. ``postgres_alias()``
adds a throw-away PostgreSQL database when a server answers on 127.0.0.1.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from support.deliveries import KEY, signed_headers

DB_DIR = Path(tempfile.mkdtemp(prefix="connect-mw-django-"))
atexit.register(shutil.rmtree, DB_DIR, ignore_errors=True)
PG_NAME = f"connect_mw_django_{os.getpid()}"
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
_CONTEXT = "django.template.context_processors"

SETTINGS: dict[str, Any] = {
    "SECRET_KEY": "tests-only",
    "USE_TZ": True,
    "ALLOWED_HOSTS": ["testserver", "127.0.0.1", "localhost"],
    "ROOT_URLCONF": "support.django_urls",
    "DATA_UPLOAD_MAX_MEMORY_SIZE": DATA_UPLOAD_MAX_MEMORY_SIZE,
    "INSTALLED_APPS": [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "connect_mw.adapters.django",
    ],
    "MIDDLEWARE": [
        "django.middleware.security.SecurityMiddleware",
        "connect_mw.adapters.django.ConnectDjangoMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ],
    "TEMPLATES": [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    f"{_CONTEXT}.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ],
    "DATABASES": {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DB_DIR / "db.sqlite3"),
            "OPTIONS": {"timeout": 30},
        },
        "postgres": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "NAME": PG_NAME,
        },
    },
    "CONNECT_MW": {"HMAC_KEYS": [KEY], "MODE": "inline"},
}


def setup() -> None:
    """Configure Django for this process and migrate the SQLite database (once)."""
    if settings.configured:
        return
    settings.configure(**SETTINGS)
    django.setup()
    call_command("migrate", verbosity=0)


def _create_postgres_database() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    host = SETTINGS["DATABASES"]["postgres"]["HOST"]
    try:
        with psycopg.connect(host=host, dbname="postgres", autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{PG_NAME}"')
    except psycopg.Error:
        return False
    atexit.register(_drop_postgres_database)
    return True


def _drop_postgres_database() -> None:
    import psycopg

    connections["postgres"].close()
    host = SETTINGS["DATABASES"]["postgres"]["HOST"]
    with psycopg.connect(host=host, dbname="postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')


_postgres: list[bool] = []


def postgres_alias() -> str | None:
    """The alias of a migrated PostgreSQL test database, or ``None`` when none answers."""
    setup()
    if not _postgres:
        _postgres.append(_create_postgres_database())
        if _postgres[0]:
            call_command("migrate", database="postgres", verbosity=0)
    return "postgres" if _postgres[0] else None


def reset_tables(alias: str = "default") -> None:
    """Delete every row connect-mw stored in ``alias``."""
    from connect_mw.adapters.django.models import Envelope, Event, Marker, Recipient

    for model in (Recipient, Envelope, Event, Marker):
        model.objects.using(alias).all().delete()


def client_headers(body: bytes, **extra: str) -> tuple[str, dict[str, str]]:
    """``(content_type, headers)`` for Django's test clients, signed like DocuSign does."""
    headers = signed_headers(body, **extra)
    headers.pop("content-length")
    return headers.pop("content-type"), headers
