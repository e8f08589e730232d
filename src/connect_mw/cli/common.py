"""Helpers shared by the command-line commands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from ..encryption import Encryptor
from ..errors import ConfigurationError
from ..receiver import Receiver
from ..stores import DEFAULT_STORE_URI, Store, open_store
from ..stores.encrypted import EncryptedStore

Subparsers = Any  # argparse's private _SubParsersAction


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


def store_from(args: argparse.Namespace) -> Store:
    """The store named by ``--app`` or ``--store`` (opened with the encryptor, if any)."""
    if args.app:
        return load_receiver(args.app).store
    store = open_store(args.store)
    encryptor = encryptor_from(args)
    return EncryptedStore(store, encryptor) if encryptor else store
