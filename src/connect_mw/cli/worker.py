"""``connect-mw worker``: process pending events with your callbacks, in their own process.

Run as many as you like against a shared store (PostgreSQL, Redis, or one SQLite file on one
host). SIGTERM or Ctrl-C stops claiming and lets the batch in flight finish; if it has not
finished after ``--shutdown-timeout`` seconds the process exits anyway and its leases
expire, so another worker takes the events over.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from types import FrameType

from ..worker import Worker
from .common import Subparsers, load_receiver

log = logging.getLogger("connect_mw")

_EPILOG = """\
examples:
  connect-mw worker myapp.hooks:receiver
  connect-mw worker myapp.asgi:app --concurrency 8     # an app exposing .receiver
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
    parser.add_argument("--concurrency", type=int, default=4, help="events at once")
    parser.add_argument("--poll-interval", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--shutdown-timeout", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--once", action="store_true", help="process one batch and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the worker until SIGTERM/SIGINT (or one batch with ``--once``)."""
    receiver = load_receiver(args.app)
    worker = Worker(receiver, concurrency=args.concurrency, poll_interval=args.poll_interval)
    if args.once:
        print(f"processed {worker.run_once()} event(s)")
        return 0
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
    worker.run(stop)
    receiver.store.close()
    return 0


def _give_up(name: str) -> None:
    log.warning("worker %s: batch still running after the shutdown timeout; exiting", name)
    os._exit(1)
