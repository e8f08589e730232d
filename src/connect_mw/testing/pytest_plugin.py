"""pytest fixtures for testing your Connect integration.

Registered as the ``connect_mw`` pytest plugin when connect-mw is installed:

* ``connect_hmac_key`` — a fresh random HMAC key; give it to the receiver under test;
* ``connect_simulator`` — a :class:`~connect_mw.testing.simulator.Simulator` signing with
  that key, seeded so a failing test fails the same way again;
* ``connect_receiver`` — an inline-mode :class:`~connect_mw.Receiver` on a memory store with
  that key, for tests that register callbacks directly.

::

    def test_completed_envelopes_are_archived(connect_receiver, connect_simulator):
        archived = []
        connect_receiver.on_envelope_completed(lambda d: archived.append(d.envelope_id))
        lifecycle = connect_simulator.lifecycle("completed")
        connect_simulator.deliver(connect_receiver, connect_simulator.messages(lifecycle))
        assert archived == [lifecycle.envelope_id]
"""

from __future__ import annotations

import secrets

import pytest

from ..receiver import Receiver
from ..stores import MemoryStore
from .simulator import Simulator


@pytest.fixture
def connect_hmac_key() -> str:
    """A random HMAC key, used verbatim like the keys DocuSign shows."""
    return secrets.token_urlsafe(32)


@pytest.fixture
def connect_simulator(connect_hmac_key: str) -> Simulator:
    """A simulator signing with ``connect_hmac_key`` (seed 0: reproducible traffic)."""
    return Simulator(connect_hmac_key, seed=0)


@pytest.fixture
def connect_receiver(connect_hmac_key: str) -> Receiver:
    """An inline receiver (callbacks run before the answer) on a fresh memory store."""
    return Receiver(hmac_keys=connect_hmac_key, store=MemoryStore(), mode="inline")
