"""The entry points as real server processes, the way the docs tell users to run them.

``connect-mw serve`` (uvicorn), ``examples/flask_app.py`` and ``examples/wsgi_app.py`` under
gunicorn, and the Django example under gunicorn (WSGI) and uvicorn (ASGI, behind
``ConnectDjangoASGI`` as ``docs/frameworks/django.md`` shows: the example's own ``asgi.py``).
Each runs on a free loopback port with a fresh SQLite database in a directory of the test's
own, with every server's default limits (gunicorn comes with the ``dev`` extra; without it
its servers are skipped, or fail under ``CI``). :func:`running` starts one and yields a
:class:`RunningServer`, which reads the events the server stored straight from its SQLite
file and tells the peak memory of the process that serves requests.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from support.deliveries import KEY
from support.services import require_module

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
DJANGO_PROJECT = ROOT / "examples" / "django_project"
PYTHON = sys.executable
#: gunicorn: no control socket (every gunicorn of a run would share one path).
GUNICORN = [PYTHON, "-m", "gunicorn", "--no-control-socket", "--workers", "1"]
UVICORN_LOG = ["--log-level", "warning"]


@dataclass(frozen=True)
class Spec:
    """How to start one server: its command (``{port}`` filled in), database and table."""

    command: tuple[str, ...]
    database: str  # file name in the server's directory
    table: str  # where its events are
    cwd: Path = ROOT


SERVERS: dict[str, Spec] = {
    "serve_uvicorn": Spec(
        (
            *(PYTHON, "-m", "connect_mw", "serve", "--port", "{port}", "--no-dashboard"),
            # a receiver with callbacks (its store: $CONNECT_MW_STORE), so serve runs them
            *("--app", "examples.asgi_app:receiver", *UVICORN_LOG),
        ),
        "events.sqlite3",
        "connect_events",
    ),
    "flask_gunicorn": Spec(
        (*GUNICORN, "--bind", "127.0.0.1:{port}", "examples.flask_app:create_app()"),
        "events.sqlite3",
        "connect_events",
    ),
    "wsgi_gunicorn": Spec(
        (*GUNICORN, "--bind", "127.0.0.1:{port}", "examples.wsgi_app:app"),
        "events.sqlite3",
        "connect_events",
    ),
    # gthread (``--threads``): the worker class gunicorn picks for threads, so both of its
    # classes serve the suites (sync above).
    "django_gunicorn": Spec(
        (*GUNICORN, "--threads", "2", "--bind", "127.0.0.1:{port}", "connect_example.wsgi"),
        "django.sqlite3",
        "connect_mw_event",
        DJANGO_PROJECT,
    ),
    "django_uvicorn": Spec(
        (
            PYTHON,
            "-m",
            "uvicorn",
            "connect_example.asgi:application",
            "--port",
            "{port}",
            *UVICORN_LOG,
        ),
        "django.sqlite3",
        "connect_mw_event",
        DJANGO_PROJECT,
    ),
}
NAMES = sorted(SERVERS)
GUNICORN_SERVERS = frozenset(name for name in NAMES if name.endswith("_gunicorn"))


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts connections on ``127.0.0.1:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@cache
def migrated_django_database() -> Path:
    """The Django example's database, migrated once per test run (copied for each server)."""
    directory = Path(tempfile.mkdtemp(prefix="connect-mw-django-example-"))
    database = directory / "django.sqlite3"
    env = {**os.environ, "EXAMPLE_DB": str(database)}
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v", "0"],
        cwd=DJANGO_PROJECT,
        env=env,
        check=True,
        capture_output=True,
    )
    return database


def server_env(directory: Path, spec: Spec) -> dict[str, str]:
    """The environment every example reads: the HMAC key, its store, the Django database."""
    database = directory / spec.database
    path = os.pathsep.join([str(TESTS), str(DJANGO_PROJECT), str(ROOT)])
    return {
        **os.environ,
        "PYTHONPATH": path,
        "CONNECT_MW_HMAC_KEYS": KEY,
        "CONNECT_MW_STORE": f"sqlite:///{database}",
        "EXAMPLE_DB": str(database),
        "COMPLETED_LOG": str(directory / "completed.log"),
    }


class RunningServer:
    """A started server: its URL, its SQLite events and its serving process."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], port: int, db: Path) -> None:
        self.name = name
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.database = db
        self.table = SERVERS[name].table

    @property
    def gunicorn(self) -> bool:
        """Whether gunicorn serves this one (its own limits answer some requests)."""
        return self.name in GUNICORN_SERVERS

    def event_count(self) -> int:
        """How many events the server has stored."""
        if not self.database.exists():
            return 0
        return int(self._query(f"SELECT count(*) FROM {self.table}")[0])

    def has_event(self, key: str) -> bool:
        """Whether the event ``key`` is stored."""
        return bool(self._query(f"SELECT count(*) FROM {self.table} WHERE key = ?", key)[0])

    def processing(self, key: str) -> str | None:
        """The processing state of the event ``key`` (``None`` when it is not stored)."""
        statement = f"SELECT max(processing) FROM {self.table} WHERE key = ?"
        found = self._query(statement, key)[0]
        return None if found is None else str(found)

    def _query(self, statement: str, *params: object) -> tuple[Any, ...]:
        uri = f"file:{self.database}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
            try:
                row = conn.execute(statement, params).fetchone()
            except sqlite3.OperationalError as exc:  # no table yet: the store creates it
                if "no such table" not in str(exc):
                    raise
                row = (0,)
        assert row is not None
        return tuple(row)

    def serving_pid(self) -> int:
        """The process that answers requests: gunicorn's one worker, else the server itself."""
        if not self.gunicorn:
            return self.process.pid
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = children.read_text().split()
            if pids:
                return int(pids[0])
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: gunicorn started no worker")

    def output(self) -> str:
        """What the server wrote to its log file so far (for failure messages)."""
        log = self.database.parent / "server.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running(
    name: str,
    directory: Path,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningServer]:
    """Start the server ``name`` in ``directory``.

    ``extra``: more command-line options; ``env``: more environment variables.
    """
    spec = SERVERS[name]
    if name in GUNICORN_SERVERS:
        require_module("gunicorn")  # the dev extra installs it: CI fails without it
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / spec.database
    if spec.table == "connect_mw_event":
        shutil.copyfile(migrated_django_database(), database)
    port = free_port()
    command = [part.format(port=port, db=database) for part in spec.command]
    with (directory / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, *extra],
            cwd=spec.cwd,
            env={**server_env(directory, spec), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = RunningServer(name, process, port, database)
    try:
        _wait_for(server)
        yield server
    finally:
        server.stop()


def _status(pid: int, field: str) -> int:
    """A memory field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


class PeakGrowth:
    """Peak resident memory growth of process ``pid`` over a block, in bytes (``growth``).

    The kernel's peak (``VmHWM``) is reset through ``/proc/<pid>/clear_refs`` on entry, so
    the growth is that peak minus the resident memory at entry.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.growth = 0

    def __enter__(self) -> PeakGrowth:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.before = _status(self.pid, "VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.growth = _status(self.pid, "VmHWM") - self.before


def _wait_for(server: RunningServer) -> None:
    deadline = time.monotonic() + 30
    while not listening(server.port):
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"{server.name} did not start:\n{server.output()}")
        time.sleep(0.05)
