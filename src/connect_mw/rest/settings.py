"""``DocuSignSettings``: who calls DocuSign, as whom, and where.

One set of settings serves the library, the command line and the worker. Each field has an
environment variable beside it (see :meth:`DocuSignSettings.from_env`):

==========================  ==========================================  =====================
field                       variable                                    default
==========================  ==========================================  =====================
``integration_key``         ``CONNECT_MW_DOCUSIGN_INTEGRATION_KEY``     required
``user_id``                 ``CONNECT_MW_DOCUSIGN_USER_ID``             required
``private_key``             ``CONNECT_MW_DOCUSIGN_PRIVATE_KEY``         required (file or PEM)
``account_id``              ``CONNECT_MW_DOCUSIGN_ACCOUNT_ID``          the user's default
``auth_server``             ``CONNECT_MW_DOCUSIGN_AUTH_SERVER``         ``account-d.docusign.com``
``base_uri``                ``CONNECT_MW_DOCUSIGN_BASE_URI``            from ``/oauth/userinfo``
``scopes``                  ``CONNECT_MW_DOCUSIGN_SCOPES``              ``signature impersonation``
``redirect_uri``            ``CONNECT_MW_DOCUSIGN_REDIRECT_URI``        none (consent URL only)
==========================  ==========================================  =====================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConfigurationError

#: DocuSign's account server for developer (demo) accounts.
DEMO_AUTH_SERVER = "account-d.docusign.com"
#: DocuSign's account server for production accounts.
PRODUCTION_AUTH_SERVER = "account.docusign.com"
#: The scopes a JWT grant for the eSignature API asks for.
DEFAULT_SCOPES = "signature impersonation"
ENV_PREFIX = "CONNECT_MW_DOCUSIGN_"
_REQUIRED = ("integration_key", "user_id", "private_key")
_NAMES = (*_REQUIRED, "account_id", "auth_server", "base_uri", "scopes", "redirect_uri")
_MAX_PATH = 1024


@dataclass(frozen=True, slots=True)
class DocuSignSettings:
    """How to obtain a token and where the account's API lives.

    ``private_key`` is the RSA private key as PEM text or the path of a PEM file (it never
    appears in ``repr``). ``auth_server`` is a bare host (``account-d.docusign.com``, the
    default, or ``account.docusign.com``) or a full URL (``http://127.0.0.1:8081``, for a
    local fake). ``base_uri`` (``https://demo.docusign.net``) skips ``/oauth/userinfo``; it
    then needs ``account_id``. ``redirect_uri`` is one registered on the integration key:
    it completes the consent URL shown when consent is missing.
    """

    integration_key: str
    user_id: str
    private_key: str = field(repr=False)
    account_id: str | None = None
    auth_server: str = DEMO_AUTH_SERVER
    base_uri: str | None = None
    scopes: str = DEFAULT_SCOPES
    redirect_uri: str | None = None
    token_lifetime: int = 3600

    def __post_init__(self) -> None:
        for name in _REQUIRED:
            if not getattr(self, name):
                raise ConfigurationError(f"DocuSign settings: {name} is required")
        if self.base_uri is not None and not self.account_id:
            raise ConfigurationError("DocuSign settings: base_uri needs account_id too")
        if not 0 < self.token_lifetime <= 3600:
            raise ConfigurationError("DocuSign settings: token_lifetime must be 1..3600 seconds")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: str | None
    ) -> DocuSignSettings:
        """Settings from ``CONNECT_MW_DOCUSIGN_*`` variables; non-``None`` overrides win."""
        unknown = sorted(set(overrides) - set(_NAMES))
        if unknown:
            raise TypeError(f"DocuSignSettings.from_env: unknown setting {unknown[0]!r}")
        env = os.environ if environ is None else environ

        def value(name: str) -> str | None:
            return overrides.get(name) or env.get(ENV_PREFIX + name.upper()) or None

        missing = [ENV_PREFIX + name.upper() for name in _REQUIRED if value(name) is None]
        if missing:
            raise ConfigurationError(f"DocuSign settings: set {', '.join(missing)}")
        return cls(
            integration_key=value("integration_key") or "",
            user_id=value("user_id") or "",
            private_key=value("private_key") or "",
            account_id=value("account_id"),
            auth_server=value("auth_server") or DEMO_AUTH_SERVER,
            base_uri=value("base_uri"),
            scopes=value("scopes") or DEFAULT_SCOPES,
            redirect_uri=value("redirect_uri"),
        )

    @property
    def auth_url(self) -> str:
        """The account server's base URL (``https://`` added to a bare host)."""
        server = self.auth_server.rstrip("/")
        return server if "://" in server else f"https://{server}"

    @property
    def audience(self) -> str:
        """The JWT ``aud`` claim: the account server's host (and port), without scheme."""
        return urlsplit(self.auth_url).netloc

    def private_key_pem(self) -> bytes:
        """The private key's PEM bytes, read from the file when ``private_key`` is a path."""
        text = self.private_key.strip()
        if text.startswith("-----BEGIN"):
            return text.encode("ascii", "replace")
        if "\n" in text or len(text) > _MAX_PATH:
            raise ConfigurationError(
                "DocuSign settings: private_key is neither PEM text (-----BEGIN ...) "
                "nor the path of a file"
            )
        path = Path(text).expanduser()
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"DocuSign settings: cannot read the private key file {str(path)!r}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
