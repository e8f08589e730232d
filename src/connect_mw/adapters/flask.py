"""Flask extension: ``Connect(app)`` or ``connect.init_app(app)``, configured from ``app.config``.

::

    connect = Connect()  # module level: register callbacks on it
    connect.on_envelope_completed(completed)
    app.config["DOCUSIGN_CONNECT_HMAC_KEYS"] = "key1,key2"  # in create_app()
    connect.init_app(app)  # wraps app.wsgi_app with ConnectWSGIMiddleware

Callbacks run inside ``app.app_context()``, so ``current_app`` and extensions work there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from ..errors import ConfigurationError
from ..receiver import Receiver
from ..routing import Router
from .wsgi import ConnectWSGIMiddleware

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _keys(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def _account_keys(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("expected a dict {account_id: key or keys}")
    return dict(value)


def _pair(value: Any) -> tuple[str, str]:
    user, password = value.split(":", 1) if isinstance(value, str) else value
    return str(user), str(password)


def _flag(value: Any) -> bool:
    text = str(value).strip().lower()  # True/False become "true"/"false"
    if text not in _TRUE | _FALSE:
        raise ValueError(f"expected a boolean, got {value!r}")
    return text in _TRUE


#: ``app.config`` key → (``Receiver`` option, conversion).
SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "DOCUSIGN_CONNECT_HMAC_KEYS": ("hmac_keys", _keys),
    "DOCUSIGN_CONNECT_ACCOUNT_KEYS": ("account_keys", _account_keys),
    "DOCUSIGN_CONNECT_PATH": ("path", str),
    "DOCUSIGN_CONNECT_STORE": ("store", lambda value: value),
    "DOCUSIGN_CONNECT_MAX_BODY_SIZE": ("max_body_size", int),
    "DOCUSIGN_CONNECT_READ_TIMEOUT": ("read_timeout", float),
    "DOCUSIGN_CONNECT_BASIC_AUTH": ("basic_auth", _pair),
    "DOCUSIGN_CONNECT_ALLOW_UNAUTHENTICATED": ("allow_unauthenticated", _flag),
    "DOCUSIGN_CONNECT_MODE": ("mode", str),
    "DOCUSIGN_CONNECT_RUN_WORKER": ("run_worker", _flag),  # for the middleware
}


def options_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Receiver`` options (and ``run_worker``) given by ``DOCUSIGN_CONNECT_*`` keys."""
    options: dict[str, Any] = {}
    for key, (option, convert) in SETTINGS.items():
        if config.get(key) is None:
            continue
        try:
            options[option] = convert(config[key])
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"{key}: {exc}") from exc
    return options


class Connect(Router):
    """The Flask extension: mounts a receiver in front of the app's WSGI callable.

    Without ``receiver`` each :meth:`init_app` builds one from the app's config, with
    ``options`` (``Receiver`` keywords) taking precedence. ``Connect`` is a
    :class:`~connect_mw.routing.Router`: callbacks registered on it, before or after
    :meth:`init_app`, run for every app it was initialised with, inside that app's context.
    """

    def __init__(
        self, app: Flask | None = None, receiver: Receiver | None = None, **options: Any
    ) -> None:
        if receiver is not None and options:
            raise TypeError("pass either receiver= or Receiver options, not both")
        super().__init__()
        self._given = receiver
        self._receiver = receiver
        self._options = options
        if app is not None:
            self.init_app(app)

    @property
    def receiver(self) -> Receiver:
        """The receiver of the app last initialised (or the one given)."""
        if self._receiver is None:
            raise RuntimeError("Connect.init_app(app) has not been called yet")
        return self._receiver

    def init_app(self, app: Flask) -> None:
        """Answer the Connect path of ``app``; its callbacks run inside its app context."""
        options = {**options_from_config(app.config), **self._options}
        run_worker = options.pop("run_worker", None)
        if self._given is not None:
            receiver = self._given
            receiver.router.include(self)
        else:
            receiver = Receiver(router=Router(self), **options)
        receiver.router.call_context = app.app_context
        app.wsgi_app = ConnectWSGIMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, receiver=receiver, run_worker=run_worker
        )
        app.extensions["connect_mw"] = self
        self._receiver = receiver
