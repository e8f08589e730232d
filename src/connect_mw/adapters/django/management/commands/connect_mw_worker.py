"""``manage.py connect_mw_worker``: process pending events in their own process.

Runs a worker with the project's receiver, signals and settings; run several against a
shared database. Set ``CONNECT_MW["RUN_WORKER"] = False`` so the web processes only record
and acknowledge. SIGTERM or Ctrl-C stops claiming and lets the batch in flight finish.

With no signal receivers connected and no callbacks on the receiver it refuses to start
(exit 2): it would mark every pending event processed without running anything.
``--drain`` does exactly that, on purpose.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connect_mw.adapters.django.runtime import get_receiver
from connect_mw.adapters.django.settings import load_settings
from connect_mw.adapters.django.worker import django_worker
from connect_mw.errors import ConfigurationError
from connect_mw.worker import check_callbacks

_WHAT = "the project's receiver"
#: How the project's receiver gets something to run.
_REGISTER = "connect a receiver to a connect_mw signal (or add callbacks to get_receiver())"


class Command(BaseCommand):
    """Process pending Connect events until stopped (or one batch with ``--once``)."""

    help = "Process pending DocuSign Connect events: run their callbacks and signals."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--once``, ``--drain``."""
        parser.add_argument("--once", action="store_true", help="process one batch and exit")
        parser.add_argument(
            "--drain",
            action="store_true",
            help="no signal receivers or callbacks: mark pending events processed anyway",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the worker until SIGTERM/SIGINT."""
        receiver = get_receiver()
        try:
            drain = options["drain"]
            check_callbacks(receiver.router, _WHAT, drain=drain, register=_REGISTER)
        except ConfigurationError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        worker = django_worker(receiver, drain=drain, **load_settings().worker_options())
        if options["once"]:
            self.stdout.write(f"processed {worker.run_once()} event(s)")
            return
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()
            worker.wake()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        worker.run(stop)
