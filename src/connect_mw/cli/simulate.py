"""``connect-mw simulate``: send realistic, signed Connect traffic to a listener.

Whole envelope lifecycles (and template and click events) in XML legacy or JSON SIM,
delivered like DocuSign delivers them (100 s timeout, non-2xx is a failure, retries with
``retryCount`` incremented), with optional duplicates, shuffling, concurrency, and a mode
that holds later messages back behind a failing one, as a failing SIM configuration does.
By default it sends the events the default ``connect-mw event-notification`` subscribes to,
as JSON with the envelope summary. A progress bar on stderr, a summary on
stdout; the exit status is 1 when some message was never acknowledged.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import random
import sys
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigurationError
from ..receiver import DEFAULT_PATH
from ..simulate import (
    DOCUSIGN_TIMEOUT,
    FORMATS,
    KINDS,
    Account,
    DeliveryOptions,
    Progress,
    SimulatedMessage,
    build_lifecycle,
    build_lifecycles,
    deliver,
    messages_for,
)
from ..simulate.messages import delivered
from ..subscriptions import DEFAULT_EVENTS, KNOWN_EVENTS, check_events
from .common import Subparsers

_EPILOG = """\
examples:
  connect-mw simulate --url http://127.0.0.1:8000/docusign/connect --hmac-key KEY
  connect-mw simulate --url http://127.0.0.1:8000 --envelopes 200 --duplicates 0.2 --shuffle
  connect-mw simulate --url http://127.0.0.1:8000 --format xml --lifecycle declined
  connect-mw simulate --url https://staging.example.com/hook --format json-documents \\
      --document-size 5000000 --concurrency 2
  connect-mw simulate --url http://127.0.0.1:8000 --all-events --envelopes 36
  connect-mw simulate --url http://127.0.0.1:8000 --hold-on-failure --max-attempts 5

lifecycles (default: every one that has an event to send, in turn): completed (embedded
signer), routing (two signers in order + a carbon copy), declined, voided, corrected,
corrected-after-delivery, resent, bounced, reassigned, delegated, finish-later,
authentication-failed, purged, deleted, discarded, every-recipient-type, template,
clickwrap. Together they produce all 26 event triggers; by default only the events the
default event-notification subscribes to are sent (--event NAME, repeatable, or
--all-events to change that).
formats: json (SIM with envelopeSummary; json-summary is the same), json-minimal (no
summary), json-documents (with base64 documents), xml (legacy, with TimeZoneOffset),
xml-no-time-zone (without time zone elements). XML has no template or click events.

Retries here are quick (--max-attempts, --retry-delay doubling) so a run ends in seconds;
DocuSign itself retries a failed message about once a day, at most 10 times.
environment: CONNECT_MW_HMAC_KEYS (comma-separated), as for `connect-mw serve`.
"""


def add_parser(commands: Subparsers) -> None:
    """Add ``simulate`` to the command line."""
    parser = commands.add_parser(
        "simulate",
        help="send realistic signed Connect traffic to a listener",
        description="Send realistic, signed DocuSign Connect traffic to a listener.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--url", required=True, help=f"the listener (a bare host gets {DEFAULT_PATH})")
    add("--envelopes", type=int, default=10, metavar="N", help="lifecycles to play (10)")
    add("--lifecycle", action="append", choices=KINDS, dest="kinds", help="repeatable")
    add("--event", action="append", dest="events", metavar="EVENT", help="send only these")
    add("--all-events", action="store_true", help="send all 26 event triggers")
    add(
        "--hold-on-failure",
        action="store_true",
        help="one queue in DocuSign order; hold later messages behind a failing one",
    )
    add("--format", choices=FORMATS, default="json", dest="payload_format")
    add("--document-size", type=int, metavar="BYTES", help="embed documents of this size")
    add("--duplicates", type=float, default=0.0, metavar="FRACTION", help="resend this share")
    add("--shuffle", action="store_true", help="deliver in any order")
    add("--concurrency", type=int, default=8, metavar="N", help="requests in flight (8)")
    add("--max-attempts", type=int, default=3, metavar="N", help="per message (3)")
    add("--retry-delay", type=float, default=0.5, metavar="SECONDS", help="doubling (0.5)")
    add("--timeout", type=float, default=DOCUSIGN_TIMEOUT, metavar="SECONDS", help="(100)")
    env_keys = [k.strip() for k in os.environ.get("CONNECT_MW_HMAC_KEYS", "").split(",")]
    add("--hmac-key", action="append", default=[k for k in env_keys if k], metavar="KEY")
    add("--basic-auth", metavar="USER:PASSWORD", help="also send this Basic auth")
    add("--account-id", help="the X-DocuSign-AccountId and data.accountId")
    add("--seed", type=int, help="reproducible ids, names, order and duplicates")
    add("--no-progress", action="store_true", help="no progress bar on stderr")
    add("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def target_url(url: str) -> str:
    """``url``, with the default Connect path when it names only a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"--url must be an http(s) URL, got {url!r}")
    if parts.path in ("", "/"):
        parts = parts._replace(path=DEFAULT_PATH)
    return urlunsplit(parts)


def _headers(basic_auth: str | None) -> tuple[tuple[str, str], ...]:
    if not basic_auth:
        return ()
    if ":" not in basic_auth:
        raise ConfigurationError("--basic-auth takes USER:PASSWORD")
    token = base64.b64encode(basic_auth.encode()).decode()
    return (("Authorization", f"Basic {token}"),)


def chosen_events(args: argparse.Namespace) -> tuple[str, ...]:
    """The events to send: ``--event``s, every trigger, or the default subscription's."""
    if args.all_events and args.events:
        raise ConfigurationError("--all-events and --event exclude each other")
    if args.all_events:
        return KNOWN_EVENTS
    return tuple(check_events(args.events)) if args.events else DEFAULT_EVENTS


def chosen_kinds(args: argparse.Namespace, events: tuple[str, ...]) -> tuple[str, ...]:
    """``--lifecycle``s, else every kind that has one of ``events`` to send in the format."""
    if args.kinds:
        return tuple(args.kinds)
    sample = [build_lifecycle(kind, rng=random.Random(0)) for kind in KINDS]
    kinds = tuple(lc.kind for lc in delivered(sample, args.payload_format, events))
    if not kinds:
        raise ConfigurationError("no lifecycle sends any of these events in this format")
    return kinds


def build_messages(args: argparse.Namespace) -> tuple[int, list[SimulatedMessage]]:
    """The lifecycles the arguments ask for, as messages; and how many lifecycles send any."""
    if args.envelopes < 1:
        raise ConfigurationError("--envelopes must be at least 1")
    events = chosen_events(args)
    rng = random.Random(args.seed)
    lifecycles = build_lifecycles(args.envelopes, chosen_kinds(args, events), rng=rng)
    account = Account(account_id=args.account_id) if args.account_id else Account()
    messages = messages_for(
        lifecycles,
        args.payload_format,
        account=account,
        document_size=args.document_size,
        events=events,
    )
    return len(delivered(lifecycles, args.payload_format, events)), messages


def build_options(args: argparse.Namespace) -> DeliveryOptions:
    """The delivery options the arguments ask for."""
    try:
        return DeliveryOptions(
            url=target_url(args.url),
            hmac_keys=tuple(args.hmac_key),
            timeout=args.timeout,
            max_attempts=args.max_attempts,
            retry_delay=args.retry_delay,
            concurrency=args.concurrency,
            duplicates=args.duplicates,
            shuffle=args.shuffle,
            seed=args.seed,
            headers=_headers(args.basic_auth),
            hold_on_failure=args.hold_on_failure,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Build the lifecycles, deliver them, print the summary."""
    try:
        import httpx  # noqa: F401, PLC0415 - optional: checked early for a clear message
    except ImportError:
        print("connect-mw simulate needs httpx: pip install 'connect-mw[server]'", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    options = build_options(args)
    envelopes, messages = build_messages(args)
    if not options.hmac_keys:
        print("connect-mw: no --hmac-key: messages go unsigned", file=sys.stderr)
    progress = None if args.no_progress else Progress(sys.stderr)
    report = deliver(messages, options, progress=progress)
    if args.json:
        print(json.dumps({"envelopes": envelopes, **report.as_dict()}))
    else:
        print(f"envelopes     {envelopes}\n{report.summary()}")
    return 1 if report.failed else 0
