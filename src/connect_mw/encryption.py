"""Encryption at rest: AES-256-GCM with key ids, so keys rotate without downtime.

Stores that are given an :class:`Encryptor` seal the raw body and the folded envelope state
(which holds recipients' names and emails) before writing, and open them after reading. Each
sealed value names the key that sealed it::

    b"CMW1" | key-id length (1 byte) | key id | nonce (12 bytes) | ciphertext + tag

so adding a new primary key keeps every older value readable; values written before
encryption was enabled (no ``CMW1`` prefix) are read as they are. Keys are 32 random bytes,
urlsafe-base64 encoded: make one with ``Encryptor.generate_key()`` (or ``python -c "from
connect_mw.encryption import Encryptor; print(Encryptor.generate_key())"``).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import ConfigurationError

MAGIC = b"CMW1"
TEXT_PREFIX = "enc:"
_NONCE = 12


class DecryptionError(ValueError):
    """A sealed value could not be opened: unknown key id, wrong key, or tampering."""


def _decode_key(key_id: str, key: str | bytes) -> AESGCM:
    raw = key if isinstance(key, bytes) else key.encode("ascii")
    try:
        secret = base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"encryption key {key_id!r} is not urlsafe base64") from exc
    if len(secret) != 32:
        raise ConfigurationError(f"encryption key {key_id!r} must be 32 bytes (AES-256)")
    return AESGCM(secret)


class Encryptor:
    """Seals and opens values with the key ``primary``; any key in ``keys`` can open."""

    def __init__(self, keys: Mapping[str, str | bytes], primary: str) -> None:
        if primary not in keys:
            raise ConfigurationError(f"the primary key id {primary!r} is not among the keys")
        for key_id in keys:
            if not key_id or len(key_id.encode()) > 255 or ":" in key_id:
                raise ConfigurationError(f"bad key id {key_id!r}")
        self._ciphers = {key_id: _decode_key(key_id, key) for key_id, key in keys.items()}
        self.primary = primary

    @staticmethod
    def generate_key() -> str:
        """A new random 256-bit key, urlsafe-base64 encoded."""
        return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")

    @classmethod
    def from_spec(cls, spec: str) -> Encryptor:
        """Build from ``"id1:key1,id2:key2"``; the first key is the primary."""
        pairs = [item.strip().split(":", 1) for item in spec.split(",") if item.strip()]
        if not pairs or any(len(pair) != 2 for pair in pairs):
            raise ConfigurationError("encryption keys are given as 'id:key,id:key'")
        return cls(dict((key_id, key) for key_id, key in pairs), primary=pairs[0][0])

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` with the primary key."""
        key_id = self.primary.encode()
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[self.primary].encrypt(nonce, plaintext, MAGIC + key_id)
        return MAGIC + bytes([len(key_id)]) + key_id + nonce + sealed

    def open(self, value: bytes) -> bytes:
        """Decrypt a sealed value (values without the ``CMW1`` prefix pass through)."""
        if not value.startswith(MAGIC):
            return value
        length = value[len(MAGIC)]
        start = len(MAGIC) + 1
        key_id = value[start : start + length]
        cipher = self._ciphers.get(key_id.decode(errors="replace"))
        if cipher is None:
            raise DecryptionError(f"no key with id {key_id.decode(errors='replace')!r}")
        nonce_at = start + length
        try:
            return cipher.decrypt(
                value[nonce_at : nonce_at + _NONCE], value[nonce_at + _NONCE :], MAGIC + key_id
            )
        except InvalidTag as exc:
            raise DecryptionError("sealed value does not open: wrong key or tampered") from exc

    def seal_str(self, text: str) -> str:
        """Encrypt text into text (``enc:`` + urlsafe base64), for text columns and JSON."""
        return TEXT_PREFIX + base64.urlsafe_b64encode(self.seal_text(text)).decode("ascii")

    def open_str(self, text: str) -> str:
        """The inverse of :meth:`seal_str`; text without the prefix passes through."""
        if not text.startswith(TEXT_PREFIX):
            return text
        try:
            sealed = base64.urlsafe_b64decode(text[len(TEXT_PREFIX) :])
        except (binascii.Error, ValueError) as exc:
            raise DecryptionError("sealed text is not base64") from exc
        return self.open_text(sealed)

    def seal_text(self, text: str) -> bytes:
        """Encrypt UTF-8 text."""
        return self.seal(text.encode("utf-8"))

    def open_text(self, value: bytes | str) -> str:
        """Decrypt to text (a ``str`` value was stored before encryption: returned as is)."""
        if isinstance(value, str):
            return value
        return self.open(value).decode("utf-8")
