"""A user's app for the command-line tests: a module with a receiver, written to a folder.

Its callbacks append one line per transition (``<envelope> <name>``) to the file named by
``REST_APP_LEDGER``; its store is the SQLite file ``REST_APP_STORE``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import private_pem
from .fake_esign import FakeESign

APP = """
import os

from connect_mw import Receiver

receiver = Receiver(
    hmac_keys="app-key", store="sqlite:///" + os.environ["REST_APP_STORE"], mode="{mode}"
)


def log(delivery):
    name = delivery.transition.name
    if delivery.transition.recipient_id:
        name += ":" + delivery.transition.recipient_id
    with open(os.environ["REST_APP_LEDGER"], "a") as ledger:
        ledger.write(f"{{delivery.envelope_id}} {{name}}\\n")


for status in ("created", "sent", "delivered", "completed", "declined", "voided"):
    receiver.on_transition("envelope", status)(log)
"""
SETTINGS = ("INTEGRATION_KEY", "USER_ID", "PRIVATE_KEY", "ACCOUNT_ID", "AUTH_SERVER", "BASE_URI")


@contextmanager
def installed_app(
    folder: Path, monkeypatch: pytest.MonkeyPatch, name: str, mode: str = "deferred"
) -> Iterator[str]:
    """Write the app as module ``name`` in ``folder``, importable; its ``MODULE:RECEIVER``."""
    (folder / f"{name}.py").write_text(APP.format(mode=mode))
    monkeypatch.setenv("REST_APP_STORE", str(folder / "app.sqlite3"))
    monkeypatch.setenv("REST_APP_LEDGER", str(folder / "ledger.txt"))
    monkeypatch.chdir(folder)
    try:
        yield f"{name}:receiver"
    finally:
        module = sys.modules.pop(name, None)
        receiver = getattr(module, "receiver", None)
        if receiver is not None:
            receiver.store.close()


def ledger(folder: Path) -> list[str]:
    """The lines the app's callbacks wrote."""
    path = folder / "ledger.txt"
    return path.read_text().splitlines() if path.exists() else []


def docusign_flags(fake: FakeESign, key: rsa.RSAPrivateKey, folder: Path) -> list[str]:
    """The DocuSign settings for the fake, as command-line flags (the key in a file)."""
    key_file = folder / "docusign.pem"
    key_file.write_text(private_pem(key))
    return [
        "--integration-key",
        fake.grant.integration_key,
        "--user-id",
        fake.grant.user_id,
        "--private-key",
        str(key_file),
        "--auth-server",
        fake.base_url,
    ]


def clear_docusign_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``CONNECT_MW_DOCUSIGN_*`` variable from the machine running the tests."""
    for name in SETTINGS:
        monkeypatch.delenv(f"CONNECT_MW_DOCUSIGN_{name}", raising=False)
