"""Helpers shared by the command-line commands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..encryption import Encryptor
from ..errors import ConfigurationError, StoreUnavailable
from ..logs import LogFormat
from ..receiver import Receiver
from ..redaction import redact_uri
from ..stores import DEFAULT_STORE_URI, SQLiteStore, Store, open_store
from ..stores.encrypted import EncryptedStore

Subparsers = Any  # argparse's private _SubParsersAction
#: Seconds a command waits for its store to answer before it gives up (exit status 1),
#: unless ``CONNECT_MW_PROBE_TIMEOUT`` says otherwise (a distant database over TLS).
PROBE_TIMEOUT = 1.0


def load_receiver(spec: str) -> Receiver:
    """Import ``module:attribute`` and return the :class:`Receiver` it names.

    The attribute may be a ``Receiver`` or anything holding one as ``.receiver`` (the
    middleware, the Flask extension). The working directory is importable, as for uvicorn.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(f"expected MODULE:ATTRIBUTE, got {spec!r}")
    sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        target = getattr(target, part, None)
    receiver = target if isinstance(target, Receiver) else getattr(target, "receiver", None)
    if not isinstance(receiver, Receiver):
        raise ConfigurationError(f"{spec!r} is not a connect_mw Receiver")
    return receiver


def account_keys(pairs: Sequence[str]) -> dict[str, list[str]]:
    """``--account-key ACCOUNT=KEY`` values as the receiver's ``account_keys``."""
    keys: dict[str, list[str]] = {}
    for pair in pairs:
        account, sep, key = pair.partition("=")
        if not sep or not account.strip() or not key:
            # the pair holds a key: name the account only
            raise ConfigurationError(
                f"--account-key takes ACCOUNT=KEY, got {account.strip() or 'no account'}=…"
            )
        keys.setdefault(account.strip(), []).append(key)
    return keys


def sqlite_file(uri: str) -> Path | None:
    """The absolute path of a ``sqlite:///`` URI's file (``None`` for other stores)."""
    parts = urlsplit(uri)
    if parts.scheme != "sqlite" or not parts.path:
        return None
    return Path(unquote(parts.path)[1:] if parts.path.startswith("/") else unquote(parts.path))


def require_database(uri: str) -> None:
    """Raise :class:`ConfigurationError` when ``uri`` names a SQLite file that does not exist."""
    path = sqlite_file(uri)
    if path is not None and not path.exists():
        raise ConfigurationError(
            f"no database at {path.resolve()}: check --store (or CONNECT_MW_STORE); "
            "the receiver creates it when it stores its first event"
        )


def add_encryption_argument(parser: argparse.ArgumentParser) -> None:
    """``--encryption-keys ID:KEY,…`` (default: ``CONNECT_MW_ENCRYPTION_KEYS``)."""
    parser.add_argument(
        "--encryption-keys",
        default=os.environ.get("CONNECT_MW_ENCRYPTION_KEYS"),
        metavar="ID:KEY,...",
        help="encrypt stored bodies and personal fields; the first key seals, all open",
    )


def encryptor_from(args: argparse.Namespace) -> Encryptor | None:
    """The encryptor ``--encryption-keys`` describes, if any."""
    spec = getattr(args, "encryption_keys", None)
    return Encryptor.from_spec(spec) if spec else None


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """``--app`` or ``--store`` (and ``--encryption-keys``): where the stored events are."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--app", metavar="MODULE:RECEIVER", help="use this receiver's store")
    group.add_argument(
        "--store",
        default=os.environ.get("CONNECT_MW_STORE", DEFAULT_STORE_URI),
        help="store URI (default: %(default)s)",
    )
    add_encryption_argument(parser)


def store_from(args: argparse.Namespace, *, must_exist: bool = True) -> Store:
    """The store named by ``--app`` or ``--store`` (opened with the encryptor, if any).

    With ``must_exist``, a SQLite file that is not there is an error rather than a new,
    empty database (a mistyped path would otherwise answer "not found" for everything).
    """
    if args.app:
        return answering(load_receiver(args.app).store)
    if must_exist:
        require_database(args.store)
    store = open_store(args.store)
    encryptor = encryptor_from(args)
    return answering(EncryptedStore(store, encryptor) if encryptor else store, args.store)


def probe_timeout() -> float:
    """``CONNECT_MW_PROBE_TIMEOUT`` (seconds, positive), else :data:`PROBE_TIMEOUT`."""
    text = os.environ.get("CONNECT_MW_PROBE_TIMEOUT", "").strip()
    if not text:
        return PROBE_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:
        raise ConfigurationError(
            f"CONNECT_MW_PROBE_TIMEOUT must be a number of seconds from 0 to 3600: {text!r}"
        )
    return seconds


def answering(store: Store, uri: str | None = None) -> Store:
    """``store``, once it answered a probe within :func:`probe_timeout` seconds.

    Otherwise the store is closed and :class:`~connect_mw.errors.StoreUnavailable` raised,
    its one-line reason naming the store (``uri`` redacted), so a server that is down ends
    the command at once (exit status 1) instead of after a pool's timeout.
    """
    try:
        store.probe(probe_timeout())
    except StoreUnavailable as exc:
        store.close()
        named = describe_store(store, uri)
        raise StoreUnavailable(f"{named} did not answer: {exc.reason}") from exc
    return store


def describe_store(store: Store, uri: str | None = None) -> str:
    """The store for a log line: a SQLite file by absolute path, a URI without secrets."""
    inner = store.inner if isinstance(store, EncryptedStore) else store
    sealed = " (encrypted)" if inner is not store else ""
    if isinstance(inner, SQLiteStore):
        return f"sqlite:///{Path(inner.path).resolve()}{sealed}"
    if uri is not None:
        return redact_uri(uri) + sealed
    return type(inner).__name__ + sealed


_LEVELS = ["debug", "info", "warning", "error"]


def _one_of(names: list[str], env: str) -> Callable[[str], str]:
    """An argparse ``type``: one of ``names``, any case; refused naming ``env`` otherwise.

    argparse checks ``choices`` only on the command line, not on a default taken from the
    environment, so the check is here: a bad variable is one line, not a traceback.
    """

    def convert(text: str) -> str:
        value = text.strip().lower()
        if value not in names:
            wanted = "|".join(names)
            raise argparse.ArgumentTypeError(f"must be {wanted} (or {env}), got {text[:40]!r}")
        return value

    convert.__name__ = "choice"
    return convert


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` and ``--log-format text|json`` of a long-running command.

    Defaults: ``CONNECT_MW_LOG_LEVEL`` (else the global ``connect-mw --log-level``) and
    ``CONNECT_MW_LOG_FORMAT`` (else ``text``); either, any case, is checked like the flag.
    """
    parser.add_argument(
        "--log-level",
        dest="command_log_level",
        default=os.environ.get("CONNECT_MW_LOG_LEVEL"),
        type=_one_of(_LEVELS, "CONNECT_MW_LOG_LEVEL"),
        metavar="{" + ",".join(_LEVELS) + "}",
        help="for connect_mw and the server's loggers (default: info)",
    )
    parser.add_argument(
        "--log-format",
        default=os.environ.get("CONNECT_MW_LOG_FORMAT", "text"),
        type=_one_of(["text", "json"], "CONNECT_MW_LOG_FORMAT"),
        metavar="{text,json}",
        help="text lines with time and level, or one JSON object per line",
    )


def log_level(args: argparse.Namespace) -> str:
    """The log level in force: the command's ``--log-level``, else the global one."""
    level: str = getattr(args, "command_log_level", None) or args.log_level
    return level


def log_format(args: argparse.Namespace) -> LogFormat:
    """The log format in force (``text`` for commands without ``--log-format``)."""
    return "json" if getattr(args, "log_format", "text") == "json" else "text"
