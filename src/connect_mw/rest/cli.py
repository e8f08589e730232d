"""``connect-mw failures``, ``republish`` and ``documents``: talk back to DocuSign.

Every command takes the DocuSign settings as flags, each with its environment variable
beside it (``--integration-key`` or ``CONNECT_MW_DOCUSIGN_INTEGRATION_KEY``…). An
authentication or API error ends the command with exit code 1 and one line on stderr.
``httpx`` is imported only when a command runs, so the command line itself needs no extra.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from .errors import DocuSignError
from .settings import DocuSignSettings

if TYPE_CHECKING:
    from .client import ESignClient

Subparsers = Any  # argparse's private _SubParsersAction

_SETTINGS_FLAGS = (
    ("--integration-key", "integration_key", "KEY", "the integration key (client id)"),
    ("--user-id", "user_id", "GUID", "the API user id of the user to impersonate"),
    (
        "--private-key",
        "private_key",
        "FILE",
        "the RSA private key file (PEM; the variable may hold the PEM text)",
    ),
    ("--account-id", "account_id", "GUID", "the account (default: the user's default)"),
    (
        "--auth-server",
        "auth_server",
        "HOST",
        "account server: a host (default account-d.docusign.com) or a URL",
    ),
    ("--base-uri", "base_uri", "URI", "e.g. https://demo.docusign.net: skips /oauth/userinfo"),
)
_FAILURES_EPILOG = """\
examples:
  connect-mw failures
  connect-mw failures --since 2024-05-01T00:00Z --json | jq -r .envelope_id
"""
_REPUBLISH_EPILOG = """\
examples:
  connect-mw republish 4b728be4-... 9c2f0e11-...
  connect-mw republish --all-failed --dry-run
  connect-mw republish --all-failed
"""
_DOCUMENTS_EPILOG = """\
examples:
  connect-mw documents 4b728be4-... -o signed.pdf              # every document, one PDF
  connect-mw documents 4b728be4-... --certificate -o certificate.pdf
  connect-mw documents 4b728be4-... --document 2 -o - > contract.pdf
"""


def add_docusign_arguments(parser: argparse.ArgumentParser) -> None:
    """The DocuSign settings flags; each defaults to its ``CONNECT_MW_DOCUSIGN_*`` variable."""
    group = parser.add_argument_group("DocuSign (defaults: CONNECT_MW_DOCUSIGN_* variables)")
    for flag, dest, metavar, text in _SETTINGS_FLAGS:
        variable = "CONNECT_MW_DOCUSIGN_" + dest.upper()
        group.add_argument(flag, dest=dest, metavar=metavar, help=f"{text} [{variable}]")


def settings_from(args: argparse.Namespace) -> DocuSignSettings:
    """The settings the flags give, completed from the environment."""
    names = [dest for _, dest, _, _ in _SETTINGS_FLAGS]
    return DocuSignSettings.from_env(**{name: getattr(args, name, None) for name in names})


def _client(args: argparse.Namespace) -> ESignClient:
    from .client import ESignClient  # noqa: PLC0415 (httpx only when a command runs)

    return ESignClient(settings_from(args))


def _command(commands: Subparsers, name: str, text: str, epilog: str) -> Any:
    parser = commands.add_parser(
        name,
        help=text,
        description=text[0].upper() + text[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_docusign_arguments(parser)
    return parser


def add_rest_commands(commands: Subparsers) -> None:
    """Add ``failures``, ``republish`` and ``documents`` to the command line."""
    failures = _command(
        commands, "failures", "list Connect deliveries that failed", _FAILURES_EPILOG
    )
    failures.add_argument("--since", metavar="ISO-8601", help="from this time (default: all)")
    failures.add_argument("--until", metavar="ISO-8601", help="up to this time (default: now)")
    failures.add_argument("--json", action="store_true", help="JSON lines")
    failures.set_defaults(run=run_failures)
    republish = _command(
        commands, "republish", "ask Connect to deliver envelopes again", _REPUBLISH_EPILOG
    )
    republish.add_argument("envelope_ids", nargs="*", metavar="ENVELOPE_ID")
    republish.add_argument("--all-failed", action="store_true", help="every envelope in failures")
    republish.add_argument("--dry-run", action="store_true", help="show, do not republish")
    republish.add_argument("--json", action="store_true", help="JSON lines")
    republish.set_defaults(run=run_republish)
    _add_documents(commands)


def _add_documents(commands: Subparsers) -> None:
    documents = _command(
        commands, "documents", "download an envelope's signed documents", _DOCUMENTS_EPILOG
    )
    documents.add_argument("envelope_id", metavar="ENVELOPE_ID")
    which = documents.add_mutually_exclusive_group()
    which.add_argument(
        "--combined",
        dest="document_id",
        action="store_const",
        const="combined",
        help="every document as one PDF (the default)",
    )
    which.add_argument(
        "--certificate",
        dest="document_id",
        action="store_const",
        const="certificate",
        help="the certificate of completion",
    )
    which.add_argument("--document", dest="document_id", metavar="ID", help="one document")
    documents.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="file to write (- for stdout)"
    )
    documents.add_argument("--max-bytes", type=int, metavar="N", help="refuse larger documents")
    documents.set_defaults(run=run_documents, document_id="combined")


def _guarded(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; a DocuSign error becomes one line on stderr and exit code 1."""
    try:
        return run(args)
    except DocuSignError as exc:
        print(f"connect-mw: {exc}", file=sys.stderr)
        return 1


def _plain(value: Any) -> dict[str, Any]:
    """A result dataclass as a JSON object, without its ``raw`` copy."""
    fields = dataclasses.fields(value)
    return {f.name: getattr(value, f.name) for f in fields if f.name != "raw"}


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[h.upper() for h in headers]]
    cells += [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
    return "\n".join(line.rstrip() for line in lines)


def run_failures(args: argparse.Namespace) -> int:
    """Print the Connect failure log."""
    return _guarded(_failures, args)


def _failures(args: argparse.Namespace) -> int:
    with _client(args) as client:
        failures = client.list_connect_failures(args.since, args.until)
    if args.json:
        for failure in failures:
            print(json.dumps(_plain(failure)))
        return 0
    if not failures:
        print("no failed Connect deliveries")
        return 0
    rows = [
        (f.envelope_id, f.status, f.created, f.last_try, f.retry_count, f.error, f.config_url)
        for f in failures
    ]
    headers = ("envelope", "status", "created", "last try", "retries", "error", "listener")
    print(_table(headers, rows))
    return 0


def run_republish(args: argparse.Namespace) -> int:
    """Republish the given envelopes, or every failed one (``--all-failed``)."""
    if bool(args.envelope_ids) == bool(args.all_failed):
        print("connect-mw: give envelope ids or --all-failed (not both)", file=sys.stderr)
        return 2
    return _guarded(_republish, args)


def _republish(args: argparse.Namespace) -> int:
    with _client(args) as client:
        ids = list(args.envelope_ids)
        if args.all_failed:
            failures = client.list_connect_failures()
            ids = list(dict.fromkeys(f.envelope_id for f in failures if f.envelope_id))
        if not ids:
            print("no failed Connect deliveries to republish")
            return 0
        if args.dry_run:
            print(f"would republish {len(ids)} envelope(s): " + " ".join(ids))
            return 0
        results = client.republish(ids)
    if args.json:
        for result in results:
            print(json.dumps(_plain(result)))
        return 0
    rows = [(r.envelope_id, r.status, r.status_message, r.config_url) for r in results]
    print(_table(("envelope", "status", "message", "listener"), rows))
    return 0


def run_documents(args: argparse.Namespace) -> int:
    """Download one document, the combined PDF or the certificate to ``-o``."""
    return _guarded(_documents, args)


@contextlib.contextmanager
def _stdout_bytes() -> Iterator[IO[bytes]]:
    stream = sys.stdout.buffer
    yield stream
    stream.flush()


def _documents(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.output == "-":
            with _stdout_bytes() as sink:
                result = client.download_document(
                    args.envelope_id, sink, args.document_id, max_bytes=args.max_bytes
                )
            report = sys.stderr
        else:
            result = client.download_document_to(
                args.envelope_id, args.output, args.document_id, max_bytes=args.max_bytes
            )
            report = sys.stdout
    named = f" (DocuSign's name: {result.filename})" if result.filename else ""
    print(f"wrote {result.size} bytes to {args.output}{named}", file=report)
    return 0
