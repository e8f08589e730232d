"""``manage.py connect_mw_status ENVELOPE_ID [--json]``: one envelope's state and recipients.

The same output as ``connect-mw status``, from the project's store (``CONNECT_MW["STORE"]``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connect_mw.adapters.django.runtime import get_receiver
from connect_mw.cli.query import NotFound, status_output


class Command(BaseCommand):
    """Print one envelope's folded state; fail when the store knows nothing of it."""

    help = "Show one envelope's folded state and recipients (as `connect-mw status`)."

    def add_arguments(self, parser: CommandParser) -> None:
        """ENVELOPE_ID and ``--json``."""
        parser.add_argument("envelope_id", metavar="ENVELOPE_ID")
        parser.add_argument("--json", action="store_true", help="one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        """Write the envelope's state."""
        store = get_receiver().store
        try:
            self.stdout.write(status_output(store, options["envelope_id"], as_json=options["json"]))
        except NotFound as exc:
            raise CommandError(str(exc)) from None
