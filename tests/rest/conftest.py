"""Fixtures: the fake DocuSign on a loopback port, keys, settings and clients.

One uvicorn server (in a thread, for the whole session) serves whichever ``FakeESign`` the
current test made; nothing leaves 127.0.0.1. Client and fake share one ``clock`` so tests
can move time (token expiry, rate-limit resets) without waiting, and the clients' ``sleep``
only records how long it was asked to wait.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.types import ASGIApp, Receive, Scope, Send

from connect_mw.rest import DocuSignSettings, ESignClient

from .fake_esign import FakeESign, build_app, new_fake


@dataclass
class Clock:
    """Real time plus an offset that tests move forward; or frozen."""

    offset: float = 0.0
    frozen: float | None = None

    def __call__(self) -> float:
        return (time.time() if self.frozen is None else self.frozen) + self.offset

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` ahead."""
        self.offset += seconds

    def freeze(self) -> None:
        """Stop the clock where it is (it still moves with ``advance``)."""
        self.frozen = time.time()


@dataclass
class Sleeps:
    """A sleep that records its waits instead of waiting."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        """The async face's sleep."""
        self.waits.append(seconds)


class Switch:
    """An ASGI app forwarding to the current test's fake."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "no fake installed"
        await self.target(scope, receive, send)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """``key`` as unencrypted PKCS#8 PEM text."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    """The key pair registered on the fake's integration key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def stranger_key() -> rsa.RSAPrivateKey:
    """A key pair the fake does not know."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[Switch, str]]:
    """uvicorn on a free loopback port, serving the switch."""
    switch = Switch()
    port = _free_port()
    config = uvicorn.Config(
        switch, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not runner.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield switch, f"http://127.0.0.1:{port}"
    finally:
        runner.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def clock() -> Clock:
    """The time client and fake share."""
    return Clock()


@pytest.fixture
def sleeps() -> Sleeps:
    """The clients' sleep."""
    return Sleeps()


@pytest.fixture
def fake(server: tuple[Switch, str], rsa_key: rsa.RSAPrivateKey, clock: Clock) -> FakeESign:
    """A fresh fake DocuSign, installed behind the server."""
    switch, base_url = server
    state = new_fake(rsa_key.public_key(), clock, base_url)
    switch.target = build_app(state)
    return state


@pytest.fixture
def settings(fake: FakeESign, rsa_key: rsa.RSAPrivateKey) -> DocuSignSettings:
    """Settings for the fake: its integration key and user, the registered key."""
    return DocuSignSettings(
        integration_key=fake.grant.integration_key,
        user_id=fake.grant.user_id,
        private_key=private_pem(rsa_key),
        auth_server=fake.base_url,
    )


@pytest.fixture
def client(settings: DocuSignSettings, sleeps: Sleeps, clock: Clock) -> Iterator[ESignClient]:
    """A sync client of the fake that never really sleeps."""
    with ESignClient(settings, sleep=sleeps, clock=clock) as made:
        yield made
