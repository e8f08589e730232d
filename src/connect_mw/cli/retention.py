"""``connect-mw purge`` and the retention options of ``serve`` and ``worker``.

``purge`` drops the raw bodies of final (processed or dead) events older than the retention
and keeps their keys as tombstones, so a message posted again later is still a duplicate.
Workers do this on a schedule (``--purge-every``, hourly by default); ``purge`` is for cron
when callbacks run on a task queue, or to purge now.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from ..errors import ConfigurationError
from ..retention import DEFAULT_PURGE_EVERY
from ..stores.api import utcnow
from .common import Subparsers, add_store_arguments, store_from
from .numbers import MAX_DAYS, MAX_SECONDS, env_default, number

#: Days a finished event keeps its raw body unless ``--retention-days`` says otherwise.
DEFAULT_RETENTION_DAYS = 30.0

_EPILOG = """\
examples:
  connect-mw purge --store sqlite:///connect-mw.sqlite3      # the store's retention (30 days)
  connect-mw purge --app myapp.hooks:receiver --older-than 7
"""


def add_parser(commands: Subparsers) -> None:
    """Add ``purge`` to the command line."""
    purge = commands.add_parser(
        "purge",
        help="drop the raw bodies of old processed/dead events (keys kept)",
        description=__doc__.split("\n")[0].replace("``", ""),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    purge.add_argument(
        "--older-than",
        type=number(0, MAX_DAYS),
        metavar="DAYS",
        help="purge events received more than DAYS ago (default: the store's retention)",
    )
    add_store_arguments(purge)
    purge.set_defaults(run=run_purge)


def add_retention_arguments(parser: argparse.ArgumentParser, *, with_days: bool) -> None:
    """``--purge-every SECONDS`` (and, for ``serve``, ``--retention-days DAYS``)."""
    parser.add_argument(
        "--purge-every",
        type=number(0, MAX_SECONDS, env="CONNECT_MW_PURGE_EVERY"),
        default=env_default("CONNECT_MW_PURGE_EVERY", DEFAULT_PURGE_EVERY),
        metavar="SECONDS",
        help="purge expired events this often from the worker; 0 turns it off (default 3600)",
    )
    if with_days:
        parser.add_argument(
            "--retention-days",
            type=number(0, MAX_DAYS, env="CONNECT_MW_RETENTION_DAYS"),
            default=env_default("CONNECT_MW_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
            metavar="DAYS",
            help="keep raw bodies of finished events this long (default 30)",
        )


def retention_from(args: argparse.Namespace) -> timedelta:
    """``--retention-days`` as a duration, checked."""
    days = float(args.retention_days)
    if days <= 0:
        raise ConfigurationError(f"--retention-days must be > 0, got {days:g}")
    return timedelta(days=days)


def purge_every_from(args: argparse.Namespace) -> float:
    """``--purge-every``, checked."""
    every = float(args.purge_every)
    if every < 0:
        raise ConfigurationError(f"--purge-every must be >= 0 seconds, got {every:g}")
    return every


def run_purge(args: argparse.Namespace) -> int:
    """Purge once and say how many events lost their bodies."""
    if args.older_than is not None and args.older_than < 0:
        raise ConfigurationError(f"--older-than must be >= 0 days, got {args.older_than:g}")
    with store_from(args) as store:
        retention = store.retention if args.older_than is None else timedelta(days=args.older_than)
        before = utcnow() - retention
        purged = store.purge(before)
    print(
        f"purged {purged} event(s) received before {before.isoformat(timespec='seconds')} "
        "(bodies dropped, keys kept so a re-posted message stays a duplicate)"
    )
    return 0
