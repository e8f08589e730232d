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
from ..logs import configure as configure_logs
from ..redaction import RedactingFilter
from ..rest.cli import add_rest_commands
from . import events, query, reconcile, retention, serve, simulate, subscriptions, worker
from .common import log_format, log_level
from .failures import (
    CANNOT_LISTEN,
    CONFIGURATION,
    FAILED,
    INTERRUPTED,
    OUTPUT_CLOSED,
    ListenError,
    fail,
    missing_extra,
    silence_stdout,
    store_failure,
)
from .numbers import ArgumentRefused, Parser
from .serve import build_receiver

__all__ = ["build_parser", "build_receiver", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``connect-mw``."""
    parser = Parser(prog="connect-mw", description="Receive and process DocuSign Connect webhooks.")
    parser.add_argument(
        "--log-level", default="info", type=str.lower, choices=["debug", "info", "warning", "error"]
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
    """Entry point of the ``connect-mw`` command (exit statuses: :mod:`.failures`)."""
    try:
        try:
            status = _run(argv)
        finally:  # on SystemExit too (``--help``): a closed pipe shows here, not at exit
            sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        return OUTPUT_CLOSED
    return status


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except ArgumentRefused as exc:
        return fail(str(exc), CONFIGURATION)
    configure_logs(log_level(args), log_format(args))
    redact_logs()
    try:
        return int(args.run(args))
    except ListenError as exc:
        return fail(str(exc), CANNOT_LISTEN)
    except ConfigurationError as exc:
        return fail(str(exc), CONFIGURATION)
    except ModuleNotFoundError as exc:
        hint = missing_extra(exc)
        if hint is None:
            raise
        return fail(hint, CONFIGURATION)
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:
        line = store_failure(exc)
        if line is None:
            raise
        return fail(line, FAILED)


def redact_logs() -> None:
    """Redact credentials in every record the root handlers and the servers' loggers write.

    On the handlers for records that propagate; on uvicorn's loggers too, whose own
    handlers (its access log shows ``?token=…``) are set up later, when it starts.
    """
    guard = RedactingFilter()
    targets: list[logging.Filterer] = list(logging.getLogger().handlers)
    targets += [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(guard)
