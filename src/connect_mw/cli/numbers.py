"""Numeric options of the command line: finite, in range, read when their command runs.

Each numeric flag gets an argparse ``type`` from :func:`number`, which refuses text, NaN,
infinities and values outside the flag's range with a message naming the range. A flag that
defaults to a ``CONNECT_MW_*`` environment variable takes the variable's *text* as its default
(:func:`env_default`), which argparse converts with the same ``type`` only when that command
is parsed: a bad variable fails the command that reads it, not every command, and the message
names the variable.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from typing import NoReturn

from ..errors import ConfigurationError

#: The longest interval any seconds option takes: a year (longer ones overflow timers).
MAX_SECONDS = 365 * 24 * 3600.0
#: The longest retention in days: a century.
MAX_DAYS = 36_500.0
#: The largest ``--max-body-size``: 1 TiB.
MAX_BODY_SIZE = 1 << 40
#: The most events a worker runs at once.
MAX_CONCURRENCY = 1000


def number(
    low: float,
    high: float,
    *,
    integer: bool = False,
    above: bool = False,
    env: str | None = None,
) -> Callable[[str], float]:
    """An argparse ``type``: a finite number from ``low`` (excluded with ``above``) to ``high``.

    With ``integer`` the value must be a whole number (and is returned as ``int``). ``env``
    names the environment variable the flag defaults to, for the message.
    """
    kind = "an integer" if integer else "a number"
    lower = f"above {low:g}" if above else f"from {low:g}"
    source = f" (or {env})" if env else ""
    wanted = f"must be {kind} {lower} to {high:g}{source}"

    def convert(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{wanted}, got {text.strip()[:40]!r}") from None
        too_low = value <= low if above else value < low
        if not math.isfinite(value) or too_low or value > high:
            raise argparse.ArgumentTypeError(f"{wanted}, got {text.strip()[:40]!r}")
        return value

    convert.__name__ = kind  # argparse names the type in some messages
    return convert


def env_default(name: str, default: float) -> str:
    """The text of environment variable ``name``, else ``default`` as text (see the module)."""
    return os.environ.get(name, str(default))


class ArgumentRefused(ConfigurationError):
    """A command line argparse refuses (an unknown flag, a value out of range…)."""


class Parser(argparse.ArgumentParser):
    """argparse failing the command line's way: one line on stderr, exit status 2.

    Its errors raise :class:`ArgumentRefused`, which ``main`` prints as
    ``connect-mw: <command>: <message>`` (no usage block) and answers with status 2.
    """

    def error(self, message: str) -> NoReturn:
        """Raise :class:`ArgumentRefused` for ``message``, naming the command."""
        command = self.prog.removeprefix("connect-mw").strip()
        where = f"{command}: " if command else ""
        raise ArgumentRefused(f"{where}{message} (see --help)")
