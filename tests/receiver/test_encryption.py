"""AES-256-GCM sealing with key ids: rotation, tamper detection, pass-through of old values."""

from __future__ import annotations

import pytest

from connect_mw.encryption import MAGIC, DecryptionError, Encryptor
from connect_mw.errors import ConfigurationError

OLD, NEW = Encryptor.generate_key(), Encryptor.generate_key()


def test_round_trip_and_no_plaintext() -> None:
    encryptor = Encryptor({"k1": OLD}, primary="k1")
    sealed = encryptor.seal(b"alice@example.com signed")
    assert sealed.startswith(MAGIC) and b"alice" not in sealed
    assert encryptor.open(sealed) == b"alice@example.com signed"
    assert encryptor.seal(b"x") != encryptor.seal(b"x")  # a fresh nonce each time
    assert encryptor.open_text(encryptor.seal_text("Zoë")) == "Zoë"


def test_rotation_keeps_old_values_readable() -> None:
    before = Encryptor({"2026-01": OLD}, primary="2026-01").seal(b"old")
    rotated = Encryptor({"2026-01": OLD, "2026-06": NEW}, primary="2026-06")
    assert rotated.open(before) == b"old"
    after = rotated.seal(b"new")
    assert after[len(MAGIC) + 1 :].startswith(b"2026-06")
    with pytest.raises(DecryptionError, match="no key"):
        Encryptor({"2026-01": OLD}, primary="2026-01").open(after)


def test_tampering_and_wrong_key_are_detected() -> None:
    sealed = bytearray(Encryptor({"k": OLD}, primary="k").seal(b"payload"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionError, match="tampered"):
        Encryptor({"k": OLD}, primary="k").open(bytes(sealed))
    with pytest.raises(DecryptionError):
        Encryptor({"k": NEW}, primary="k").open(Encryptor({"k": OLD}, primary="k").seal(b"x"))


def test_values_from_before_encryption_pass_through() -> None:
    encryptor = Encryptor({"k": OLD}, primary="k")
    assert encryptor.open(b'{"plain": true}') == b'{"plain": true}'
    assert encryptor.open_text('{"plain": true}') == '{"plain": true}'


@pytest.mark.parametrize(
    ("keys", "primary"),
    [({"k": "short"}, "k"), ({"k": OLD}, "other"), ({"": OLD}, ""), ({"a:b": OLD}, "a:b")],
)
def test_bad_configuration(keys: dict[str, str], primary: str) -> None:
    with pytest.raises(ConfigurationError):
        Encryptor(keys, primary)


def test_from_spec() -> None:
    encryptor = Encryptor.from_spec(f"new:{NEW}, old:{OLD}")
    assert encryptor.primary == "new"
    assert encryptor.open(Encryptor({"old": OLD}, primary="old").seal(b"x")) == b"x"
    with pytest.raises(ConfigurationError):
        Encryptor.from_spec("no-colon")
