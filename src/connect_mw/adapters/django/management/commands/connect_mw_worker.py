"""``manage.py connect_mw_worker``: process pending events in their own process.

Runs a worker with the project's receiver, signals and settings; run several against a
shared database. Set ``CONNECT_MW["RUN_WORKER"] = False`` so the web processes only record
and acknowledge. SIGTERM or Ctrl-C stops claiming and lets the batch in flight finish.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connect_mw.adapters.django.runtime import get_receiver
from connect_mw.adapters.django.settings import load_settings
from connect_mw.adapters.django.worker import django_worker


class Command(BaseCommand):
    """Process pending Connect events until stopped (or one batch with ``--once``)."""

    help = "Process pending DocuSign Connect events: run their callbacks and signals."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--once``."""
        parser.add_argument("--once", action="store_true", help="process one batch and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the worker until SIGTERM/SIGINT."""
        worker = django_worker(get_receiver(), **load_settings().worker_options())
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
