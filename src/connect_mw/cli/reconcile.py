"""``connect-mw reconcile``: record what Connect did not deliver, from DocuSign's REST API.

Lists the envelopes whose status changed since the watermark kept in the store (or
``--since``) and records each through the receiver's pipeline, so a transition's callbacks
fire only if the store did not know it yet (deferred receivers: in the worker). Prints what
it found, what was new and what fired. Exit status: 0 done, 1 DocuSign or the store
failed (one line on stderr), 2 bad arguments or settings (a first run without ``--since``).
``httpx`` is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import ConfigurationError, ConnectError, ParseError
from ..parse.timestamps import parse_timestamp
from ..receiver import Receiver
from ..rest.cli import add_docusign_arguments, settings_from
from ..rest.errors import DocuSignError
from ..rest.settings import DocuSignSettings
from .common import Subparsers, add_store_arguments, answering, load_receiver, store_from

if TYPE_CHECKING:
    from ..rest.reconcile import ReconcileReport

_EPILOG = """\
examples:
  connect-mw reconcile --since 2024-05-01T00:00Z --app myapp.hooks:receiver   # first run
  connect-mw reconcile --app myapp.hooks:receiver          # resume from the watermark
  connect-mw reconcile --store postgresql://... --dry-run --json
"""
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def add_parser(commands: Subparsers) -> None:
    """Add ``reconcile`` to the command line."""
    parser = commands.add_parser(
        "reconcile",
        help="record what Connect did not deliver (DocuSign's listStatusChanges)",
        description=(
            "Record what Connect did not deliver: the envelopes whose status changed since "
            "the watermark, through the receiver's pipeline."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--since",
        metavar="ISO-8601",
        help="from this time (default: the stored watermark less 5 minutes)",
    )
    parser.add_argument("--until", metavar="ISO-8601", help="up to this time (default: now)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list what changed; record nothing, leave the watermark",
    )
    parser.add_argument("--json", action="store_true", help="the report as one JSON object")
    add_store_arguments(parser)
    add_docusign_arguments(parser)
    parser.set_defaults(run=run)


def moment(text: str | None, flag: str) -> datetime | None:
    """``--since``/``--until``: ISO 8601 (a bare date is midnight UTC, no offset is UTC)."""
    if text is None:
        return None
    value = f"{text}T00:00Z" if _DATE_ONLY.fullmatch(text.strip()) else text
    try:
        parsed = parse_timestamp(value, flag)
    except ParseError:
        parsed = None
    if parsed is None:
        raise ConfigurationError(f"{flag}: not an ISO 8601 time: {text!r}")
    return parsed


def _refuse_http(token: str) -> bool:
    """The bearer check of a receiver that only records: no HTTP request is ever accepted."""
    return False


def recording_receiver(args: argparse.Namespace) -> Receiver:
    """The receiver that records: ``--app``'s, or one over ``--store`` that serves nothing."""
    if args.app:
        receiver = load_receiver(args.app)
        answering(receiver.store)
        return receiver
    return Receiver(store=store_from(args, must_exist=False), bearer_validator=_refuse_http)


def run(args: argparse.Namespace) -> int:
    """Reconcile, print the report; see the module for the exit status."""
    since, until = moment(args.since, "--since"), moment(args.until, "--until")
    settings = settings_from(args)
    receiver = recording_receiver(args)
    try:
        report = anyio.run(_reconcile, receiver, settings, since, until, args.dry_run)
    except DocuSignError as exc:
        print(f"connect-mw: {exc}", file=sys.stderr)
        return 1
    except ConnectError as exc:
        print(f"connect-mw: the store failed: {exc.reason}", file=sys.stderr)
        return 1
    except ValueError as exc:  # no watermark yet, an empty window, a store without markers
        print(f"connect-mw: {exc}", file=sys.stderr)
        return 2
    finally:
        receiver.store.close()
    print(json.dumps(report_dict(report)) if args.json else report_text(report))
    return 0


async def _reconcile(
    receiver: Receiver,
    settings: DocuSignSettings,
    since: datetime | None,
    until: datetime | None,
    dry_run: bool,
) -> ReconcileReport:
    from ..rest.client import AsyncESignClient  # noqa: PLC0415 (httpx only when it runs)
    from ..rest.reconcile import reconcile_receiver  # noqa: PLC0415

    async with AsyncESignClient(settings) as client:
        return await reconcile_receiver(receiver, client, since=since, until=until, dry_run=dry_run)


def report_dict(report: ReconcileReport) -> dict[str, Any]:
    """The report as JSON-ready values (times in ISO 8601)."""
    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "dry_run": report.dry_run,
        "pages": report.pages,
        "found": report.found,
        "new": report.new,
        "duplicates": report.duplicates,
        "transitions": [
            {"envelope_id": t.envelope_id, "name": t.name, "recipient_id": t.recipient_id}
            for t in report.transitions
        ],
        "unreadable": list(report.unreadable),
        "envelopes": list(report.envelopes),
        "watermark": report.watermark,
    }


def report_text(report: ReconcileReport) -> str:
    """The report for a terminal: counts, then each envelope's transitions."""
    lines = [
        f"window      {report.since.isoformat()} .. {report.until.isoformat()}"
        f" ({report.pages} page(s))",
        f"found       {report.found} envelope(s)",
    ]
    if report.dry_run:
        lines.append("dry run     nothing recorded, watermark unchanged")
    else:
        lines.append(f"new         {report.new} (already recorded: {report.duplicates})")
        lines.append(f"fired       {len(report.transitions)} transition(s)")
        fired: dict[str, list[str]] = defaultdict(list)
        for t in report.transitions:
            fired[t.envelope_id].append(t.name + (f":{t.recipient_id}" if t.recipient_id else ""))
        lines += [f"  {envelope}  {' '.join(names)}" for envelope, names in fired.items()]
    if report.unreadable:
        lines.append(f"unreadable  {len(report.unreadable)}")
        lines += [f"  {reason}" for reason in report.unreadable]
    if report.watermark is not None:
        lines.append(f"watermark   {report.watermark}")
    return "\n".join(lines)
