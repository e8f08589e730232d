"""``serve --app MODULE:RECEIVER``: serve your receiver, and who runs the callbacks.

With ``--app``, ``serve`` runs the :class:`~connect_mw.Receiver` your module builds (its
callbacks, store, retry policy and options). The settings given on the command line or in
their ``CONNECT_MW_*`` variables (``--hmac-key``, ``--account-key``, ``--basic-auth``,
the OAuth-for-Connect and client-certificate options of :mod:`.auth_options`,
``--path``, ``--max-body-size``, ``--lease-seconds``, ``--retention-days``,
``--purge-every``) replace the receiver's; the store
belongs to the receiver, so ``--store``, ``--encryption-keys`` and
``--allow-unauthenticated`` are refused beside ``--app`` rather than silently ignored.

Callbacks run in ``serve`` only when it has some to run: with ``--app`` and a receiver in
deferred mode whose router is not empty, which processes in process (not on a task queue),
and no ``--no-worker``. Otherwise ``serve`` only
records and acknowledges, and the events wait, pending, for a ``connect-mw worker``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from datetime import timedelta

from ..errors import ConfigurationError
from ..receiver import DEFAULT_MAX_BODY_SIZE, DEFAULT_PATH, Receiver
from ..retention import DEFAULT_PURGE_EVERY
from ..stores import DEFAULT_STORE_URI
from ..verify import BasicCredentials, HmacKeys
from .auth_options import client_certificate_from, oauth_from
from .common import account_keys, describe_store, load_receiver
from .retention import DEFAULT_RETENTION_DAYS, purge_every_from, retention_from

__all__ = [
    "add_app_argument",
    "apply_overrides",
    "check_http_flags",
    "describe_store",
    "runs_callbacks",
]

log = logging.getLogger("connect_mw")
DEFAULT_LEASE_SECONDS = 300.0


def add_app_argument(parser: argparse.ArgumentParser) -> None:
    """``--app MODULE:RECEIVER`` (default: ``CONNECT_MW_APP``)."""
    parser.add_argument(
        "--app",
        default=os.environ.get("CONNECT_MW_APP"),
        metavar="MODULE:RECEIVER",
        help="serve your Receiver (its callbacks, store and options); without it serve only "
        "records and acknowledges, and `connect-mw worker` runs the callbacks",
    )


def _refuse_receiver_settings(args: argparse.Namespace) -> None:
    refused = [
        ("--store", args.store != os.environ.get("CONNECT_MW_STORE", DEFAULT_STORE_URI)),
        ("--encryption-keys", bool(args.encryption_keys)),
        ("--allow-unauthenticated", args.allow_unauthenticated),
    ]
    for flag, given in refused:
        if given:
            raise ConfigurationError(
                f"{flag} cannot be combined with --app: the receiver of {args.app} decides "
                "it (set it where you build the Receiver)"
            )


def check_http_flags(args: argparse.Namespace) -> None:
    """Refuse a ``--path`` or ``--max-body-size`` the receiver would refuse, by flag name."""
    if not args.path.startswith("/"):
        raise ConfigurationError(f"--path must start with '/': {args.path!r}")
    if args.max_body_size <= 0:
        raise ConfigurationError("--max-body-size must be positive")


def apply_overrides(receiver: Receiver, args: argparse.Namespace) -> Receiver:
    """``receiver`` with the HTTP settings the command line gives in place of its own."""
    _refuse_receiver_settings(args)
    check_http_flags(args)
    if args.path != DEFAULT_PATH:
        receiver.path = args.path.rstrip("/") or "/"
    if args.max_body_size != DEFAULT_MAX_BODY_SIZE:
        receiver.max_body_size = args.max_body_size
    auth = receiver.authenticator
    if args.hmac_key or args.account_key:
        keys = HmacKeys.build(args.hmac_key, account_keys(args.account_key))
        auth = dataclasses.replace(auth, hmac_keys=keys)
    if args.basic_auth:
        user, sep, password = args.basic_auth.partition(":")
        if not sep:
            raise ConfigurationError("--basic-auth takes USER:PASSWORD")
        auth = dataclasses.replace(auth, basic=BasicCredentials(user, password))
    oauth, certificate = oauth_from(args), client_certificate_from(args)
    if oauth is not None:
        auth = dataclasses.replace(auth, bearer=oauth)
    if certificate is not None:
        auth = dataclasses.replace(auth, client_certificate=certificate)
    receiver.authenticator = auth
    if args.lease_seconds != DEFAULT_LEASE_SECONDS:
        lease_for = timedelta(seconds=args.lease_seconds)
        receiver.processor = dataclasses.replace(receiver.processor, lease_for=lease_for)
    _override_retention(receiver, args)
    return receiver


def _override_retention(receiver: Receiver, args: argparse.Namespace) -> None:
    """``--retention-days`` / ``--purge-every`` in place of the receiver's, when given."""
    if args.purge_every != DEFAULT_PURGE_EVERY:
        receiver.purge_every = purge_every_from(args)
    if args.retention_days != DEFAULT_RETENTION_DAYS:
        receiver.store.retention = retention_from(args)


def app_receiver(args: argparse.Namespace) -> Receiver:
    """The receiver of ``--app``, with the command line's overrides."""
    return apply_overrides(load_receiver(args.app), args)


def runs_callbacks(receiver: Receiver, args: argparse.Namespace) -> bool:
    """Whether ``serve`` runs an in-process worker (see the module docstring)."""
    if args.app is None or args.no_worker or not receiver.wants_worker():
        return False
    return not receiver.router.empty


def callbacks_line(receiver: Receiver, args: argparse.Namespace, runs: bool) -> str:
    """The startup line that says which process runs the callbacks."""
    if runs:
        return f"callbacks of {args.app} run in this process"
    if args.app is not None and receiver.mode == "inline":
        return f"callbacks of {args.app} run inline, before each acknowledgement"
    if args.app is not None and not receiver.queue.in_process_workers:
        return f"callbacks of {args.app} run on its task queue's workers"
    if args.app is not None and not args.no_worker:
        return f"{args.app} has no callbacks: events stay pending for `connect-mw worker`"
    return "no callbacks here: events stay pending until `connect-mw worker MODULE:RECEIVER` runs"
