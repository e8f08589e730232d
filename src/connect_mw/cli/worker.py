"""``connect-mw worker``: process pending events with your callbacks, in their own process.

Run as many as you like against a shared store (PostgreSQL, Redis, or one SQLite file on one
host). SIGTERM or Ctrl-C stops claiming and lets the batch in flight finish; if it has not
finished after ``--shutdown-timeout`` seconds the process exits anyway and its leases
expire, so another worker takes the events over.

``--reconcile-every SECONDS`` also reconciles with DocuSign's REST API in a thread of the
worker (:class:`~connect_mw.rest.ReconcileJob`), with the DocuSign settings given as flags
or ``CONNECT_MW_DOCUSIGN_*`` variables; one worker with it is enough. The first run needs a
watermark in the store or ``--reconcile-since``.

A receiver with no callbacks is refused (exit 2): its worker would mark every pending event
processed without running anything. ``--drain`` does exactly that, on purpose (say, to
clear a backlog nobody needs processed).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from ..receiver import Receiver
from ..rest.cli import add_docusign_arguments, settings_from
from ..worker import check_callbacks
from .common import Subparsers, add_log_arguments, answering, load_receiver
from .numbers import MAX_CONCURRENCY, MAX_SECONDS, number
from .reconcile import moment
from .retention import purge_every_from

if TYPE_CHECKING:
    from ..rest.job import ReconcileJob

log = logging.getLogger("connect_mw")

_EPILOG = """\
examples:
  connect-mw worker myapp.hooks:receiver
  connect-mw worker myapp.asgi:app --concurrency 8     # an app exposing .receiver
  connect-mw worker myapp.hooks:receiver --reconcile-every 900
  connect-mw worker myapp.hooks:bare --drain --once   # no callbacks: mark pending processed
"""


def add_parser(commands: Subparsers) -> None:
    """Add ``worker`` to the command line."""
    parser = commands.add_parser(
        "worker",
        help="process pending events with your callbacks",
        description=__doc__.split("\n")[0],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("app", metavar="MODULE:RECEIVER", help="where your Receiver is")
    parser.add_argument(
        "--concurrency", type=number(1, MAX_CONCURRENCY, integer=True), default=4,
        help="events at once",
    )  # fmt: skip
    parser.add_argument(
        "--poll-interval", type=number(0, 3600, above=True), default=1.0, metavar="SECONDS"
    )
    parser.add_argument(
        "--shutdown-timeout", type=number(0, MAX_SECONDS), default=30.0, metavar="SECONDS"
    )
    parser.add_argument(
        "--once", action="store_true", help="process one batch and exit (reconcile once first)"
    )
    parser.add_argument(
        "--drain",
        action="store_true",
        help="the receiver has no callbacks: mark pending events processed anyway "
        "(refused otherwise)",
    )
    parser.add_argument(
        "--reconcile-every",
        type=number(0, MAX_SECONDS, above=True),
        metavar="SECONDS",
        help="also reconcile with DocuSign's REST API, every SECONDS (e.g. 900)",
    )
    parser.add_argument(
        "--reconcile-since",
        metavar="ISO-8601",
        help="where the first reconciliation starts while the store has no watermark",
    )
    parser.add_argument(
        "--purge-every",
        type=number(0, MAX_SECONDS),
        metavar="SECONDS",
        help="purge expired events this often; 0 turns it off (default: the receiver's, 3600)",
    )
    add_log_arguments(parser)
    add_docusign_arguments(parser)
    parser.set_defaults(run=run)


def reconcile_job(args: argparse.Namespace, receiver: Receiver) -> ReconcileJob | None:
    """The job ``--reconcile-every`` asks for, its settings and watermark checked; or ``None``."""
    if args.reconcile_every is None:
        return None
    from ..rest.job import ReconcileJob  # noqa: PLC0415 (the REST client only when asked)
    from ..rest.reconcile import WATERMARK, parse_watermark  # noqa: PLC0415

    since = moment(args.reconcile_since, "--reconcile-since")
    job = ReconcileJob(receiver, settings_from(args), args.reconcile_every, since=since)
    stored = parse_watermark(receiver.store.read_marker(WATERMARK), WATERMARK)
    if stored is None and since is None:
        raise ConfigurationError(
            "no reconciliation watermark in the store yet: give the first run a start with "
            "--reconcile-since ISO-8601 (e.g. when your Connect listener went live)"
        )
    return job


def run(args: argparse.Namespace) -> int:
    """Run the worker until SIGTERM/SIGINT (or one batch with ``--once``)."""
    receiver = load_receiver(args.app)
    options = {} if args.purge_every is None else {"purge_every": purge_every_from(args)}
    check_callbacks(receiver.router, args.app, drain=args.drain)
    answering(receiver.store)
    if args.drain:
        log.warning("draining: %s has no callbacks; pending events are marked processed", args.app)
    worker = receiver.worker(
        concurrency=args.concurrency, poll_interval=args.poll_interval, drain=args.drain, **options
    )
    job = reconcile_job(args, receiver)
    if args.once:
        failed = job is not None and not _reconcile_once(job)
        print(f"processed {worker.run_once()} event(s)")
        return 1 if failed else 0
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            return
        log.info("worker %s stopping (signal %d)", worker.name, signum)
        stop.set()
        worker.wake()
        deadline = threading.Timer(args.shutdown_timeout, _give_up, args=(worker.name,))
        deadline.daemon = True
        deadline.start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    reconciling = job.start(stop) if job is not None else None
    worker.run(stop)
    if reconciling is not None:
        reconciling.join(args.shutdown_timeout)
    receiver.store.close()
    return 0


def _reconcile_once(job: ReconcileJob) -> bool:
    """One reconciliation before ``--once``'s batch; whether it succeeded (both printed)."""
    from ..rest.job import summary  # noqa: PLC0415

    report = job.run_once()
    if report is None:
        print(f"connect-mw: reconciliation failed: {job.last_error}", file=sys.stderr)
        return False
    print(summary(report))
    return True


def _give_up(name: str) -> None:
    log.warning("worker %s: batch still running after the shutdown timeout; exiting", name)
    os._exit(1)
