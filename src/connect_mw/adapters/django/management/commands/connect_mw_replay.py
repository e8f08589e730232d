"""``manage.py connect_mw_replay``: queue stored events to be processed again.

::

    manage.py connect_mw_replay KEY [KEY ...]     # these events
    manage.py connect_mw_replay --dead            # every dead letter
    manage.py connect_mw_replay --envelope ID     # every event of one envelope

Works on the configured store (``CONNECT_MW["STORE"]``) through its queue's ``requeue``:
the events become pending, due now, attempts reset; a worker runs their callbacks and
signals.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connect_mw.adapters.django.runtime import get_receiver
from connect_mw.queues import Queue
from connect_mw.replay import replay
from connect_mw.stores import ProcessingState, Store


class Command(BaseCommand):
    """Requeue events by key, all dead letters, or all events of an envelope."""

    help = "Queue stored Connect events to be processed again (their callbacks run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        """KEYs, or ``--dead``, or ``--envelope ID``."""
        parser.add_argument("keys", nargs="*", metavar="KEY", help="idempotency keys")
        parser.add_argument("--dead", action="store_true", help="every dead letter")
        parser.add_argument("--envelope", metavar="ID", help="every event of this envelope")

    def handle(self, *args: Any, **options: Any) -> None:
        """Requeue the selected events; fail if one of them could not be."""
        chosen = [bool(options["keys"]), options["dead"], options["envelope"] is not None]
        if sum(chosen) != 1:
            raise CommandError("give KEYs, or --dead, or --envelope ID (one of them)")
        receiver = get_receiver()
        keys = options["keys"] or self._select(receiver.store, options["dead"], options["envelope"])
        if not keys:
            self.stdout.write("nothing to replay")
            return
        refused = [key for key in keys if not self._replay(receiver.store, receiver.queue, key)]
        if refused:
            raise CommandError(f"{len(refused)} of {len(keys)} event(s) not queued")

    @staticmethod
    def _select(store: Store, dead: bool, envelope_id: str | None) -> list[str]:
        if dead:
            return [e.key for e in store.list_events(processing=ProcessingState.DEAD)]
        return [e.key for e in store.list_events(envelope_id)]

    def _replay(self, store: Store, queue: Queue, key: str) -> bool:
        done = replay(store, queue, key)
        if done.ok:
            self.stdout.write(f"queued {key}")
            return True
        self.stderr.write(f"not queued {key}: {done.value}")
        return False
