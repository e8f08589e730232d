"""``manage.py connect_mw_events ENVELOPE_ID [--json]``: one envelope's stored events.

The same output as ``connect-mw events``, from the project's store (``CONNECT_MW["STORE"]``),
in DocuSign order.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connect_mw.adapters.django.runtime import get_receiver
from connect_mw.cli.query import NotFound, events_output


class Command(BaseCommand):
    """List one envelope's events; fail when there are none."""

    help = "List one envelope's stored events in DocuSign order (as `connect-mw events`)."

    def add_arguments(self, parser: CommandParser) -> None:
        """ENVELOPE_ID and ``--json``."""
        parser.add_argument("envelope_id", metavar="ENVELOPE_ID")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args: Any, **options: Any) -> None:
        """Write the events."""
        store = get_receiver().store
        try:
            self.stdout.write(events_output(store, options["envelope_id"], as_json=options["json"]))
        except NotFound as exc:
            raise CommandError(str(exc)) from None
