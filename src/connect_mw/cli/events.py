"""``connect-mw replay`` and ``connect-mw dead-letters``: operate on stored events."""

from __future__ import annotations

import argparse
import json

from ..replay import Replayed, replay
from ..stores import ProcessingState, Store, StoredEvent
from .common import Subparsers, add_store_arguments, store_from
from .failures import CONFIGURATION, fail


def add_parsers(commands: Subparsers) -> None:
    """Add ``replay`` and ``dead-letters`` to the command line."""
    replay = commands.add_parser(
        "replay",
        help="queue stored events to be processed again",
        description="Make stored events pending again; a worker runs their callbacks.",
        epilog="example:\n  connect-mw replay sim:2bf9b6dc… --store sqlite:///connect-mw.sqlite3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("keys", nargs="+", metavar="KEY")
    add_store_arguments(replay)
    replay.set_defaults(run=run_replay)
    dead = commands.add_parser(
        "dead-letters",
        help="list or retry events whose callbacks gave up",
        description="List dead letters, or queue them (all, or some keys) for another try.",
        epilog=(
            "examples:\n  connect-mw dead-letters list --json\n"
            "  connect-mw dead-letters retry --all"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dead.add_argument("action", choices=["list", "retry"])
    dead.add_argument("keys", nargs="*", metavar="KEY", help="with retry: these keys only")
    dead.add_argument("--all", action="store_true", help="with retry: every dead letter")
    dead.add_argument("--json", action="store_true", help="with list: JSON lines")
    add_store_arguments(dead)
    dead.set_defaults(run=run_dead_letters)


_REFUSED = {
    Replayed.UNKNOWN: "unknown",
    Replayed.BUSY: "being processed right now",
    Replayed.STILL_UNPARSED: "its body still cannot be parsed",
    Replayed.PURGED: "its body was purged by retention (only the key is kept)",
}


def _requeue(store: Store, keys: list[str]) -> int:
    """Replay each key: requeue it, or parse an unparsed dead letter again."""
    queue = store.queue()
    failures = 0
    for key in keys:
        done = replay(store, queue, key)
        if done is Replayed.REQUEUED:
            print(f"queued {key}")
        elif done is Replayed.REPARSED:
            print(f"parsed and recorded {key}")
        else:
            print(f"not queued {key}: {_REFUSED[done]}")
            failures += 1
    return 1 if failures else 0


def run_replay(args: argparse.Namespace) -> int:
    """Requeue the given keys."""
    with store_from(args) as store:
        return _requeue(store, args.keys)


def run_dead_letters(args: argparse.Namespace) -> int:
    """List or retry dead letters."""
    with store_from(args) as store:
        dead = store.list_events(processing=ProcessingState.DEAD)
        if args.action == "list":
            for event in dead:
                print(_describe_dead(event, as_json=args.json))
            return 0
        if not args.all and not args.keys:
            return fail("dead-letters retry: give KEYs or --all", CONFIGURATION)
        return _requeue(store, [e.key for e in dead] if args.all else args.keys)


def _describe_dead(event: StoredEvent, *, as_json: bool) -> str:
    error = (event.error or "").strip()
    if as_json:
        fields = ("key", "envelope_id", "event", "attempts", "error")
        return json.dumps({name: getattr(event, name) for name in fields})
    first_line = error.splitlines()[0] if error else ""
    return (
        f"{event.key}  {event.envelope_id}  {event.event}  attempts={event.attempts}  {first_line}"
    )
