"""``connect-mw event-notification`` and ``connect-config``: print the JSON that subscribes.

Both print JSON built by :mod:`connect_mw.subscriptions` (SIM delivery, ``restv2.1`` JSON,
HMAC), ready for DocuSign's REST API.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..subscriptions import (
    DEFAULT_EVENTS,
    DEFAULT_INCLUDE_DATA,
    INCLUDE_DATA,
    KNOWN_EVENTS,
    SubscriptionError,
    connect_configuration,
    event_notification,
)
from .common import Subparsers

_NOTIFICATION_EPILOG = f"""\
Put the output in your envelope definition as "eventNotification" when you create the
envelope (POST /restapi/v2.1/accounts/{{accountId}}/envelopes).

examples:
  connect-mw event-notification --url https://example.com/docusign/connect
  connect-mw event-notification --url https://example.com/hook \\
      --event envelope-completed --event envelope-voided --include-data documents
  connect-mw event-notification --url http://localhost:8000/docusign/connect --allow-http
  connect-mw event-notification --url https://example.com/hook --legacy-xml --x509

Template and click events (template-*, click-*) come only through an account-wide
configuration (connect-config); --legacy-xml knows only the envelope and recipient
sent, delivered, completed and declined events, envelope-voided,
recipient-authenticationfailed and recipient-autoresponded.

events (default: {", ".join(DEFAULT_EVENTS)}):
  {", ".join(KNOWN_EVENTS)}
includeData (default: {", ".join(DEFAULT_INCLUDE_DATA)}):
  {", ".join(INCLUDE_DATA)}
"""
_CONFIG_EPILOG = """\
Send the output as the body of POST /restapi/v2.1/accounts/{accountId}/connect (an account
administrator's token), or copy the settings into Settings > Connect > Add configuration.

examples:
  connect-mw connect-config --url https://example.com/docusign/connect --name "my app"
  connect-mw connect-config --url https://example.com/hook --name billing \\
      --user-id 2a5c...e1 --include-data recipients --include-data custom_fields
  connect-mw connect-config --url https://example.com/hook --name everything --all-events
  connect-mw connect-config --url https://example.com/hook --name inbox --recipient-side \
      --group-id 5b7e...a2 --x509 --oauth
  connect-mw connect-config --url https://example.com/hook --name legacy --legacy-xml
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="your listener's https:// URL")
    parser.add_argument(
        "--event", action="append", dest="events", metavar="EVENT", help="repeatable"
    )
    parser.add_argument(
        "--include-data",
        action="append",
        dest="include_data",
        metavar="NAME",
        help="eventData.includeData value; repeatable",
    )
    parser.add_argument("--no-ack", action="store_true", help="do not require acknowledgement")
    parser.add_argument("--no-hmac", action="store_true", help="do not sign messages")
    parser.add_argument("--no-log", action="store_true", help="turn DocuSign's Connect log off")
    parser.add_argument(
        "--allow-http", action="store_true", help="accept an http:// URL (tests only)"
    )
    parser.add_argument(
        "--all-events", action="store_true", help="every one of the 26 event triggers"
    )
    parser.add_argument(
        "--x509", action="store_true", help="DocuSign presents its client certificate (mTLS)"
    )
    parser.add_argument(
        "--oauth", action="store_true", help="DocuSign sends an OAuth bearer token (includeOAuth)"
    )
    parser.add_argument(
        "--legacy-xml",
        action="store_true",
        help="the legacy XML form (envelopeEvents/recipientEvents) instead of SIM JSON",
    )
    parser.add_argument(
        "--no-time-zone",
        action="store_true",
        help="with --legacy-xml: no time zone elements (XML times are then read as UTC)",
    )


def add_parsers(commands: Subparsers) -> None:
    """Add ``event-notification`` and ``connect-config`` to the command line."""
    notification = commands.add_parser(
        "event-notification",
        help="print a per-envelope eventNotification (SIM, JSON, HMAC)",
        description="Print the eventNotification object that subscribes one envelope.",
        epilog=_NOTIFICATION_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(notification)
    notification.set_defaults(run=run_event_notification)
    config = commands.add_parser(
        "connect-config",
        help="print an account-wide Connect configuration body (SIM, JSON, HMAC)",
        description="Print the body that creates an account-wide Connect configuration.",
        epilog=_CONFIG_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(config)
    config.add_argument("--name", required=True, help="the configuration's name")
    config.add_argument(
        "--recipient-side",
        action="store_true",
        help="envelopes your users receive (configurationType customrecipient)",
    )
    config.add_argument(
        "--group-id",
        action="append",
        dest="group_ids",
        default=[],
        metavar="GROUP_ID",
        help="only users of these groups (groupIds); repeatable",
    )
    config.add_argument(
        "--user-id",
        action="append",
        dest="user_ids",
        default=[],
        metavar="USER_ID",
        help="only these users' envelopes (default: all users); repeatable",
    )
    config.set_defaults(run=run_connect_config)


def _shared(args: argparse.Namespace) -> dict[str, Any]:
    if args.all_events and args.events:
        raise SubscriptionError("--all-events and --event exclude each other")
    return {
        "events": KNOWN_EVENTS if args.all_events else args.events or DEFAULT_EVENTS,
        "include_data": DEFAULT_INCLUDE_DATA if args.include_data is None else args.include_data,
        "include_hmac": not args.no_hmac,
        "allow_http": args.allow_http,
        "sign_with_x509": args.x509,
        "include_oauth": args.oauth,
        "legacy_xml": args.legacy_xml,
        "include_time_zone": not args.no_time_zone,
    }


def run_event_notification(args: argparse.Namespace) -> int:
    """Print the eventNotification JSON."""
    body = event_notification(
        args.url,
        require_acknowledgment=not args.no_ack,
        logging_enabled=not args.no_log,
        **_shared(args),
    )
    print(json.dumps(body, indent=2))
    return 0


def run_connect_config(args: argparse.Namespace) -> int:
    """Print the Connect configuration JSON."""
    body = connect_configuration(
        args.url,
        name=args.name,
        user_ids=args.user_ids,
        group_ids=args.group_ids,
        recipient_side=args.recipient_side,
        requires_acknowledgement=not args.no_ack,
        enable_log=not args.no_log,
        **_shared(args),
    )
    print(json.dumps(body, indent=2))
    return 0
