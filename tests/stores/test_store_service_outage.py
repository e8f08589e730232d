"""Redis and PostgreSQL outages, on private server instances this test starts and breaks.

A Redis stopped or hung (SIGSTOP), a PostgreSQL stopped with ``-m immediate``: requests get
503 (the stores' timeouts bound the wait), never a 2xx without a committed record, and after
recovery the sender's retries are recorded once with nothing lost. Private instances keep
the shared services of the machine untouched.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_mw import Receiver
from support.deliveries import KEY, signed_request, sim_body
from support.polling import wait_until

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None and not os.environ.get("CI"),
    reason="needs the Redis and PostgreSQL server binaries",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """A private redis-server with AOF fsync on every write (nothing acknowledged is lost)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(lambda: answers(self.port), what="redis-server to listen")

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    assert server.process is not None
    server.process.send_signal(signal.SIGCONT)
    server.stop()


def redis_receiver(server: RedisServer) -> Receiver:
    from connect_mw.stores.redis import RedisStore

    store = RedisStore(
        f"redis://127.0.0.1:{server.port}/0", socket_timeout=0.5, socket_connect_timeout=0.5
    )
    return Receiver(hmac_keys=KEY, store=store)


def events_of(receiver: Receiver) -> list[str]:
    return [e.event for e in receiver.store.list_events()]


def test_redis_hung_then_resumed(redis_server: RedisServer) -> None:
    receiver = redis_receiver(redis_server)
    assert receiver.handle(signed_request(sim_body("envelope-sent"))).status == 200
    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)
    request = signed_request(sim_body("envelope-completed"))
    assert receiver.handle(request).status == 503  # the socket timeout ends the wait
    redis_server.process.send_signal(signal.SIGCONT)
    retry = signed_request(sim_body("envelope-completed", retry_count=1))
    assert receiver.handle(retry).status == 200
    assert receiver.handle(retry).status == 200
    assert events_of(receiver) == ["envelope-sent", "envelope-completed"]


def test_redis_stopped_then_restarted(redis_server: RedisServer) -> None:
    receiver = redis_receiver(redis_server)
    assert receiver.handle(signed_request(sim_body("envelope-sent"))).status == 200
    redis_server.stop()
    assert receiver.handle(signed_request(sim_body("envelope-completed"))).status == 503
    redis_server.start()
    retry = signed_request(sim_body("envelope-completed", retry_count=1))
    assert receiver.handle(retry).status == 200
    assert events_of(receiver) == ["envelope-sent", "envelope-completed"]


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"{name} not found") if os.environ.get("CI") else pytest.skip(f"no {name}")
    return found[-1]


class PostgresServer:
    """A private PostgreSQL cluster in a temporary directory, run as the postgres user."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.data = directory / "pgdata"
        directory.chmod(0o777)
        self.as_postgres = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        self.run(postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def run(self, *command: str) -> None:
        subprocess.run([*self.as_postgres, *command], check=True, capture_output=True)

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=on"
        log = str(self.data.parent / "postgres.log")  # the server must not inherit our pipes
        self.run(
            postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", *args
        )

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    # Not pytest's tmp_path: its parents are private to root, and postgres must traverse them.
    directory = Path(tempfile.mkdtemp(prefix="connect-mw-pg-"))
    try:
        server = PostgresServer(directory)
        server.ctl("start")
        yield server
        server.ctl("-m", "immediate", "stop")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_postgres_stopped_immediately_then_restarted(postgres_server: PostgresServer) -> None:
    from connect_mw.stores.postgres import PostgresStore

    store = PostgresStore(
        postgres_server.dsn, connect_timeout=1, pool_timeout=2, statement_timeout_ms=2000
    )
    receiver = Receiver(hmac_keys=KEY, store=store)
    assert receiver.handle(signed_request(sim_body("envelope-sent"))).status == 200
    postgres_server.ctl("-m", "immediate", "stop")
    assert receiver.handle(signed_request(sim_body("envelope-completed"))).status == 503
    postgres_server.ctl("start")
    retry = signed_request(sim_body("envelope-completed", retry_count=1))
    statuses = [receiver.handle(retry).status for _ in range(4)]  # stale pooled connections
    assert statuses[-1] == 200 and set(statuses) <= {200, 503}
    assert [e.event for e in store.list_events()] == ["envelope-sent", "envelope-completed"]
    store.close()
