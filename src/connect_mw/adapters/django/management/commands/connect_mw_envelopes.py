"""``manage.py connect_mw_envelopes [--status S] [--limit N] [--json]``: recent envelopes.

The same output as ``connect-mw envelopes``, from the project's store
(``CONNECT_MW["STORE"]``): most recently updated first.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connect_mw.adapters.django.runtime import get_receiver
from connect_mw.cli.query import envelopes_output


class Command(BaseCommand):
    """List envelopes, most recently updated first."""

    help = "List envelopes, most recently updated first (as `connect-mw envelopes`)."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--status``, ``--limit`` and ``--json``."""
        parser.add_argument("--status", dest="envelope_status", metavar="STATUS")
        parser.add_argument("--limit", type=int, default=20, metavar="N", help="default 20")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args: Any, **options: Any) -> None:
        """Write the envelopes."""
        store = get_receiver().store
        text = envelopes_output(
            store, options["envelope_status"], options["limit"], as_json=options["json"]
        )
        if text:
            self.stdout.write(text)
