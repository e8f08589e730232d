"""``connect-mw status``, ``envelopes`` and ``events``: what the store knows.

Human-readable tables by default; ``--json`` for scripts (one JSON object for ``status``,
JSON lines for the lists).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import msgspec

from ..display import display
from ..model import EnvelopeState
from ..stores import Store, StoredEvent
from .common import Subparsers, add_store_arguments, store_from
from .since import StatusTimes, recipient_order, status_times

_STATUS_EPILOG = """\
examples:
  connect-mw status 4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a
  connect-mw status 4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a --json | jq -r .status
  connect-mw status 4d5e6f7a-... --store sqlite:////var/lib/connect-mw/events.db
"""
_ENVELOPES_EPILOG = """\
examples:
  connect-mw envelopes                       # the 20 most recently updated
  connect-mw envelopes --status completed --limit 100
  connect-mw envelopes --status declined --json | jq -r .envelope_id
"""
_EVENTS_EPILOG = """\
examples:
  connect-mw events 4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a
  connect-mw events 4d5e6f7a-... --json | jq 'select(.processing == "dead") | .key'
"""


def _command(commands: Subparsers, name: str, help_text: str, epilog: str) -> Any:
    parser = commands.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_store_arguments(parser)
    return parser


def add_parsers(commands: Subparsers) -> None:
    """Add ``status``, ``envelopes`` and ``events`` to the command line."""
    status = _command(
        commands, "status", "show one envelope's folded state and recipients", _STATUS_EPILOG
    )
    status.add_argument("envelope_id", metavar="ENVELOPE_ID")
    status.set_defaults(run=run_status)
    envelopes = _command(
        commands, "envelopes", "list envelopes, most recently updated first", _ENVELOPES_EPILOG
    )
    envelopes.add_argument("--status", dest="envelope_status", metavar="STATUS")
    envelopes.add_argument("--limit", type=int, default=20, metavar="N", help="default 20")
    envelopes.set_defaults(run=run_envelopes)
    events = _command(
        commands, "events", "list one envelope's stored events in DocuSign order", _EVENTS_EPILOG
    )
    events.add_argument("envelope_id", metavar="ENVELOPE_ID")
    events.set_defaults(run=run_events)


def jsonable(value: Any) -> Any:
    """Model values as JSON: datetimes in ISO 8601, enums by value, sets sorted."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (frozenset, set)):
        return sorted(jsonable(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, msgspec.Struct):  # the model
        return {name: jsonable(getattr(value, name)) for name in value.__struct_fields__}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a stored event
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, headers in capitals."""
    cells = [[str(h).upper() for h in headers]] + [
        ["-" if c is None else display(str(c)) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
    return "\n".join(line.rstrip() for line in lines)


def describe(state: EnvelopeState, since: StatusTimes | None = None) -> str:
    """The ``status`` text: facts, then the recipients (routing order, then id).

    "since" is DocuSign's own time for each status (``since``, read from the stored
    messages), or the time of the message that reported it when DocuSign gave none.
    """
    since = since or StatusTimes()
    envelope_since = since.envelope or state.status_at
    facts = [
        ("envelope", state.envelope_id),
        ("status", f"{state.status or 'unknown'} (since {_when(envelope_since)} UTC)"),
        ("subject", state.subject or "-"),
        ("account", state.account_id or "-"),
        ("reached", ", ".join(sorted(state.reached)) or "-"),
        ("events", str(state.event_count)),
    ]
    if state.void_reason:
        facts.append(("void reason", state.void_reason))
    if state.decline_reason:
        facts.append(("decline reason", state.decline_reason))
    text = "\n".join(f"{name:<15}{display(value)}" for name, value in facts)
    rows = [
        (r.recipient_id, r.recipient_type, r.name, r.email, r.routing_order,
         f"{r.status} (removed)" if r.removed else r.status,
         _when(since.recipients.get(r.recipient_id) or r.status_at))
        for r in sorted(state.recipients, key=recipient_order)
    ]  # fmt: skip
    if rows:
        headers = ("recipient", "type", "name", "email", "order", "status", "since (utc)")
        text += "\n\n" + table(headers, rows)
    return text


class NotFound(LookupError):
    """The store knows nothing of what was asked (the message says what)."""


def status_output(store: Store, envelope_id: str, *, as_json: bool) -> str:
    """What ``status`` prints for one envelope; :class:`NotFound` when it is not stored."""
    state = store.get_envelope(envelope_id)
    if state is None:
        raise NotFound(f"no envelope {display(envelope_id)} in the store")
    if as_json:
        return json.dumps(jsonable(state))
    return describe(state, status_times(store, state))


def envelopes_output(store: Store, status: str | None, limit: int, *, as_json: bool) -> str:
    """What ``envelopes`` prints: a table, or one JSON object per line."""
    states = store.list_envelopes(status=status, limit=max(1, limit))
    if as_json:
        return "\n".join(json.dumps(jsonable(state)) for state in states)
    rows = [
        (s.envelope_id, s.status, _when(s.updated_at), s.event_count, s.subject) for s in states
    ]
    return table(("envelope", "status", "updated (utc)", "events", "subject"), rows)


def _transitions(event: StoredEvent) -> str:
    names = [t.name + (f"({t.recipient_id})" if t.recipient_id else "") for t in event.transitions]
    return " ".join(names) or "-"


def events_output(store: Store, envelope_id: str, *, as_json: bool) -> str:
    """What ``events`` prints for one envelope; :class:`NotFound` when it has none."""
    events = store.list_events(envelope_id)
    if not events:
        raise NotFound(f"no events for envelope {display(envelope_id)}")
    if as_json:
        return "\n".join(json.dumps(jsonable(event)) for event in events)
    rows = [
        (_when(e.occurred_at), e.event, e.status, e.format, e.processing, e.attempts,
         _transitions(e), e.key)
        for e in events
    ]  # fmt: skip
    headers = ("occurred (utc)", "event", "status", "format", "processing", "attempts",
               "transitions", "key")  # fmt: skip
    return table(headers, rows)


def _print(text: str) -> None:
    if text:
        print(text)


def run_status(args: argparse.Namespace) -> int:
    """Print one envelope; exit 1 when the store knows nothing of it."""
    try:
        with store_from(args) as store:
            _print(status_output(store, args.envelope_id, as_json=args.json))
    except NotFound as exc:
        print(f"connect-mw: {exc}", file=sys.stderr)
        return 1
    return 0


def run_envelopes(args: argparse.Namespace) -> int:
    """Print the most recently updated envelopes."""
    with store_from(args) as store:
        _print(envelopes_output(store, args.envelope_status, args.limit, as_json=args.json))
    return 0


def run_events(args: argparse.Namespace) -> int:
    """Print one envelope's events; exit 1 when there are none."""
    try:
        with store_from(args) as store:
            _print(events_output(store, args.envelope_id, as_json=args.json))
    except NotFound as exc:
        print(f"connect-mw: {exc}", file=sys.stderr)
        return 1
    return 0
