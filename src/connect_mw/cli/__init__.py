"""The ``connect-mw`` command line (also ``python -m connect_mw``).

Commands: ``serve`` (a standalone receiver with its dashboard), ``worker`` (process pending
events with your callbacks; ``--reconcile-every`` reconciles beside it), ``replay`` and
``dead-letters`` (operate on stored events), ``purge`` (retention by hand), ``status``,
``envelopes`` and ``events`` (query the store), ``event-notification`` and
``connect-config`` (print subscription JSON),
``simulate`` (send Connect traffic), and, talking to DocuSign's REST API, ``reconcile``
(record what Connect did not deliver), ``failures`` and ``republish`` (the Connect failure
log, and deliveries again) and ``documents`` (download an envelope's PDFs). The REST
commands import ``httpx`` only when they run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ..errors import ConfigurationError
from ..rest.cli import add_rest_commands
from . import events, query, reconcile, retention, serve, simulate, subscriptions, worker
from .serve import build_receiver

__all__ = ["build_parser", "build_receiver", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``connect-mw``."""
    parser = argparse.ArgumentParser(
        prog="connect-mw", description="Receive and process DocuSign Connect webhooks."
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(commands)
    worker.add_parser(commands)
    events.add_parsers(commands)
    query.add_parsers(commands)
    subscriptions.add_parsers(commands)
    simulate.add_parser(commands)
    reconcile.add_parser(commands)
    retention.add_parser(commands)
    add_rest_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``connect-mw`` command."""
    args = build_parser().parse_args(argv)
    level = getattr(args, "serve_log_level", None) or args.log_level
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.run(args))
    except ConfigurationError as exc:
        print(f"connect-mw: {exc}", file=sys.stderr)
        return 2
