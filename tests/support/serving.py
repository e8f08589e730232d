"""A ``connect-mw serve`` process for the command-line tests, and a user's receiver module."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from support.deliveries import KEY

#: A user's module for ``--app hooks:receiver``: a completed-envelope callback that appends
#: the process id and envelope id to ``$HOOK_LOG``.
HOOKS = """\
import os
from connect_mw import Receiver

receiver = Receiver(hmac_keys=os.environ["HOOK_KEY"], store=os.environ["HOOK_STORE"])


@receiver.on_envelope_completed
def completed(delivery):
    with open(os.environ["HOOK_LOG"], "a") as log:
        log.write(f"{os.getpid()} {delivery.envelope_id}\\n")
"""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_hooks(directory: Path, db: Path) -> dict[str, str]:
    """Write ``hooks.py`` into ``directory``; the environment it reads."""
    (directory / "hooks.py").write_text(HOOKS)
    return {
        "HOOK_KEY": KEY,
        "HOOK_STORE": f"sqlite:///{db}",
        "HOOK_LOG": str(directory / "hooks.log"),
    }


def connect_mw(*args: str) -> list[str]:
    """The command line running ``connect-mw`` with this interpreter."""
    return [sys.executable, "-m", "connect_mw", *args]


@dataclass
class Serving:
    """A running ``serve``: its base URL and process (stdout and stderr merged)."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> str:
        """Terminate the server; everything it wrote."""
        self.process.terminate()
        return self.process.communicate(timeout=20)[0].decode()


@contextmanager
def serving(
    args: Sequence[str], cwd: Path, env: dict[str, str], *, dashboard: bool = False
) -> Iterator[Serving]:
    """Run ``connect-mw serve ARGS --port P`` in ``cwd`` until it answers; stop it after."""
    port = free_port()
    options = [] if dashboard else ["--no-dashboard"]
    process = subprocess.Popen(
        connect_mw("serve", "--port", str(port), *options, *args),
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    running = Serving(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(running.url + "/", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start:\n{running.stop()}") from None
            time.sleep(0.1)
    try:
        yield running
    finally:
        if process.poll() is None:
            running.stop()
