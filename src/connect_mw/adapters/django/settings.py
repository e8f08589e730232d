"""The ``CONNECT_MW`` setting, read into a typed :class:`ConnectSettings`.

Every key is optional; an unknown key, or a value of the wrong type, raises
``ImproperlyConfigured`` naming the key, so a typo never silently disables something::

    CONNECT_MW = {
        "HMAC_KEYS": ["current-key", "previous-key"],
        "PATH": "/docusign/connect",
        "STORE": "django",  # the default: Django models; or "sqlite:///…", "memory://"
    }
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from ...auth_settings import ClientCertificateSettings, OAuthSettings
from ...client_cert import ClientCertificatePolicy
from ...jwks import DEFAULT_MIN_INTERVAL, DEFAULT_TTL
from ...oauth import DEFAULT_LEEWAY, ConnectOAuth
from ...processing import Mode, RetryPolicy
from ...receiver import DEFAULT_MAX_BODY_SIZE, DEFAULT_PATH, DEFAULT_READ_TIMEOUT
from ...retention import DEFAULT_PURGE_EVERY, MAX_PURGE_EVERY, MAX_RETENTION
from ...stores.api import Store

#: ``STORE`` value selecting :class:`~connect_mw.adapters.django.store.DjangoStore`.
DJANGO_STORE = "django"


@dataclass(frozen=True)
class ConnectSettings:
    """``CONNECT_MW`` after validation; attribute names are the lower-cased keys."""

    hmac_keys: tuple[str, ...] = ()
    account_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    path: str = DEFAULT_PATH
    store: str | Store = DJANGO_STORE
    database: str | None = None
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    read_timeout: float = DEFAULT_READ_TIMEOUT
    basic_auth: tuple[str, str] | None = None
    allow_unauthenticated: bool = False
    mode: Mode = "deferred"
    run_worker: bool | None = None
    worker_concurrency: int = 4
    poll_interval: float = 1.0
    max_attempts: int = RetryPolicy.max_attempts
    lease_for: float = 300.0
    retention_days: float | None = None
    purge_every: float = DEFAULT_PURGE_EVERY
    oauth_issuer: str | None = None
    oauth_audiences: tuple[str, ...] = ()
    oauth_jwks_url: str | None = None
    oauth_leeway: float = DEFAULT_LEEWAY
    oauth_jwks_ttl: float = DEFAULT_TTL
    oauth_jwks_min_interval: float = DEFAULT_MIN_INTERVAL
    client_cert_subjects: tuple[str, ...] = ()
    client_cert_issuers: tuple[str, ...] = ()
    client_cert_fingerprints: tuple[str, ...] = ()
    client_cert_header: str | None = None

    @property
    def oauth_settings(self) -> OAuthSettings:
        """The ``OAUTH_*`` keys."""
        return OAuthSettings(
            issuer=self.oauth_issuer,
            audiences=self.oauth_audiences,
            jwks_url=self.oauth_jwks_url,
            leeway=self.oauth_leeway,
            jwks_ttl=self.oauth_jwks_ttl,
            jwks_min_interval=self.oauth_jwks_min_interval,
        )

    @property
    def client_certificate_settings(self) -> ClientCertificateSettings:
        """The ``CLIENT_CERT_*`` keys."""
        return ClientCertificateSettings(
            subjects=self.client_cert_subjects,
            issuers=self.client_cert_issuers,
            fingerprints=self.client_cert_fingerprints,
            header=self.client_cert_header,
        )

    def oauth(self) -> ConnectOAuth | None:
        """The OAuth-for-Connect validator; ``ConfigurationError`` naming the keys if invalid."""
        return self.oauth_settings.build(lambda field: f"CONNECT_MW['OAUTH_{field.upper()}']")

    def client_certificate(self) -> ClientCertificatePolicy | None:
        """The client-certificate policy; ``ConfigurationError`` naming the keys if invalid."""
        settings = self.client_certificate_settings
        return settings.build(lambda field: f"CONNECT_MW['CLIENT_CERT_{field.upper()}']")

    @property
    def authenticated(self) -> bool:
        """Whether any authentication mechanism is configured (valid or not)."""
        mechanisms = (self.hmac_keys, self.account_keys, self.basic_auth)
        extra = (self.oauth_settings.given, self.client_certificate_settings.given)
        return any(mechanisms) or any(extra)

    def receiver_options(self) -> dict[str, Any]:
        """The :class:`~connect_mw.Receiver` keyword options, except ``store``.

        Raises ``ConfigurationError`` when the ``OAUTH_*`` or ``CLIENT_CERT_*`` keys are
        incomplete or invalid.
        """
        days = self.retention_days
        return {
            "oauth": self.oauth(),
            "client_certificate": self.client_certificate(),
            "hmac_keys": self.hmac_keys,
            "account_keys": dict(self.account_keys) or None,
            "path": self.path,
            "max_body_size": self.max_body_size,
            "read_timeout": self.read_timeout,
            "basic_auth": self.basic_auth,
            "allow_unauthenticated": self.allow_unauthenticated,
            "mode": self.mode,
            "retry": RetryPolicy(max_attempts=self.max_attempts),
            "lease_for": timedelta(seconds=self.lease_for),
            "retention": None if days is None else timedelta(days=days),
            "purge_every": self.purge_every,
        }

    @property
    def runs_worker(self) -> bool:
        """Whether web processes run a worker thread: ``RUN_WORKER``, else deferred mode."""
        return self.mode == "deferred" if self.run_worker is None else self.run_worker

    def worker_options(self) -> dict[str, Any]:
        """The keyword options of ``receiver.worker(...)`` (a :class:`~connect_mw.Worker`)."""
        return {"concurrency": self.worker_concurrency, "poll_interval": self.poll_interval}


def _strings(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
        raise ValueError("expected a non-empty string or a list of them")
    return tuple(items)


def _account_keys(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError("expected a dict {account_id: key or [keys]}")
    return {account: _strings(keys) for account, keys in value.items()}


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError("expected a path starting with '/'")
    return value


def _store(value: Any) -> str | Store:
    if not isinstance(value, str | Store) or not value:
        raise ValueError(f"expected {DJANGO_STORE!r}, a store URI or a Store instance")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _optional_alias(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("expected a database alias (a key of DATABASES)")
    return value


def _finite(value: float) -> bool:
    """Whether ``value`` is a finite float (NaN, infinities and huge ints are not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _positive(kind: type[int] | type[float]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        numeric = isinstance(value, int | float) if kind is float else isinstance(value, int)
        if isinstance(value, bool) or not numeric or not (_finite(value) and value > 0):
            raise ValueError(f"expected a positive {kind.__name__}")
        return kind(value)

    return check


def _non_negative(value: Any) -> float:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric or not (_finite(value) and value >= 0):  # NaN fails the comparisons
        raise ValueError("expected a finite number >= 0 (0 turns it off)")
    return float(value)


#: The longest interval a seconds key takes (``LEASE_FOR``, ``POLL_INTERVAL``…): a year.
_YEAR = 365 * 24 * 3600.0


def _at_most(check: Callable[[Any], Any], high: float, unit: str) -> Callable[[Any], Any]:
    """``check``, then refuse a value above ``high`` (a timer or a date would overflow)."""

    def bounded(value: Any) -> Any:
        checked = check(value)
        if checked > high:
            raise ValueError(f"expected at most {high:g} {unit}")
        return checked

    return bounded


def _pair(value: Any) -> tuple[str, str]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError("expected (username, password)")
    if not all(isinstance(part, str) and part for part in value):
        raise ValueError("expected two non-empty strings")
    return (value[0], value[1])


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected True or False")
    return value


def _optional_flag(value: Any) -> bool | None:
    return None if value is None else _flag(value)


def _mode(value: Any) -> Mode:
    if value not in ("deferred", "inline"):
        raise ValueError("expected 'deferred' or 'inline'")
    return cast(Mode, value)


#: ``CONNECT_MW`` key → validator returning the typed value.
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "HMAC_KEYS": _strings,
    "ACCOUNT_KEYS": _account_keys,
    "PATH": _path,
    "STORE": _store,
    "DATABASE": _optional_alias,
    "MAX_BODY_SIZE": _positive(int),
    "READ_TIMEOUT": _at_most(_positive(float), _YEAR, "seconds"),
    "BASIC_AUTH": _pair,
    "ALLOW_UNAUTHENTICATED": _flag,
    "MODE": _mode,
    "RUN_WORKER": _optional_flag,
    "WORKER_CONCURRENCY": _positive(int),
    "POLL_INTERVAL": _at_most(_positive(float), _YEAR, "seconds"),
    "MAX_ATTEMPTS": _positive(int),
    "LEASE_FOR": _at_most(_positive(float), _YEAR, "seconds"),
    "RETENTION_DAYS": _at_most(_positive(float), MAX_RETENTION.days, "days"),
    "PURGE_EVERY": _at_most(_non_negative, MAX_PURGE_EVERY, "seconds"),
    "OAUTH_ISSUER": _text,
    "OAUTH_AUDIENCES": _strings,
    "OAUTH_JWKS_URL": _text,
    "OAUTH_LEEWAY": _non_negative,
    "OAUTH_JWKS_TTL": _positive(float),
    "OAUTH_JWKS_MIN_INTERVAL": _non_negative,
    "CLIENT_CERT_SUBJECTS": _strings,
    "CLIENT_CERT_ISSUERS": _strings,
    "CLIENT_CERT_FINGERPRINTS": _strings,
    "CLIENT_CERT_HEADER": _text,
}


def parse_settings(value: Any) -> ConnectSettings:
    """Validate a ``CONNECT_MW`` dict; raise ``ImproperlyConfigured`` naming the bad key."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured("CONNECT_MW must be a dict")
    unknown = sorted(set(value) - set(VALIDATORS))
    if unknown:
        known = ", ".join(VALIDATORS)
        raise ImproperlyConfigured(f"CONNECT_MW has unknown keys {unknown}; known: {known}")
    typed: dict[str, Any] = {}
    for key, raw in value.items():
        try:
            typed[key.lower()] = VALIDATORS[key](raw)
        except ValueError as exc:
            got = type(raw).__name__  # never the value: it may be a secret
            raise ImproperlyConfigured(f"CONNECT_MW[{key!r}]: {exc}, got {got}") from exc
    return ConnectSettings(**typed)


def load_settings() -> ConnectSettings:
    """``settings.CONNECT_MW`` of the current Django project, validated."""
    return parse_settings(getattr(django_settings, "CONNECT_MW", None))
