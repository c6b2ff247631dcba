"""AES-256-GCM encryption of connection credentials.

A keyring maps key ids to 32-byte keys; the first key encrypts, all keys
decrypt (rotation: put the new key first, re-encrypt, drop the old one).
Each ciphertext is ``nonce(12) || ciphertext+tag`` with a fresh random
96-bit nonce, and is stored beside the id of the key that made it. The
associated data binds it to its row, so a ciphertext copied to another
connection or tenant fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class KeyringError(ValueError):
    """The keyring text is malformed. The message never contains key material."""


class DecryptionError(Exception):
    """Wrong key, wrong row (AAD) or tampered ciphertext."""


class Keyring:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyringError("the keyring is empty")
        self._keys = dict(keys)
        self.active_id = keys[0][0]
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def encrypt(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active_id].encrypt(nonce, plaintext, aad)
        return self.active_id, nonce + sealed

    def decrypt(self, key_id: str, blob: bytes, aad: bytes) -> bytes:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"key {key_id!r} is not in the keyring")
        if len(blob) < NONCE_BYTES + 16:
            raise DecryptionError("ciphertext too short")
        try:
            return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionError("ciphertext does not authenticate") from None

    def same_key(self, other: "Keyring", key_id: str) -> bool:
        """Whether both rings hold the very same key under ``key_id``."""
        mine, theirs = self._keys.get(key_id), other._keys.get(key_id)
        return mine is not None and theirs is not None and hmac.compare_digest(mine, theirs)

    def derive(self, purpose: bytes) -> bytes:
        """A subkey of the active key for another purpose (e.g. cursor MACs)."""
        return hmac.new(self._keys[self.active_id], purpose, hashlib.sha256).digest()

    def derive_all(self, purpose: bytes) -> list[bytes]:
        """The same subkey under every key in the ring, active first."""
        return [hmac.new(key, purpose, hashlib.sha256).digest() for key in self._keys.values()]

    def __repr__(self) -> str:
        return f"Keyring(active={self.active_id!r}, ids={self.key_ids!r})"


def parse_keyring(text: str) -> Keyring:
    """Parse ``id:base64key[,id:base64key...]``. Raises KeyringError."""
    entries: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for position, item in enumerate(text.split(","), start=1):
        item = item.strip()
        if not item:
            raise KeyringError(f"entry {position} is empty")
        key_id, sep, encoded = item.partition(":")
        if not sep:
            raise KeyringError(f"entry {position} is not of the form key_id:base64key")
        try:
            check_key_id(key_id)
        except KeyringError as exc:
            raise KeyringError(f"entry {position}: {exc}") from None
        if key_id in seen:
            raise KeyringError(f"key id {key_id!r} appears twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyringError(f"key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise KeyringError(f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        seen.add(key_id)
        entries.append((key_id, key))
    return Keyring(entries)


def check_key_id(key_id: str) -> str:
    """``key_id`` if the keyring parser accepts it, else KeyringError."""
    if not _KEY_ID.fullmatch(key_id):
        raise KeyringError("key id must be 1-64 of A-Z a-z 0-9 _ . -")
    return key_id


def new_key_text(key_id: str) -> str:
    """A fresh keyring entry ``id:base64`` (for key files and docs).
    Raises KeyringError for an id ``parse_keyring`` would refuse."""
    check_key_id(key_id)
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def credentials_aad(tenant_id: str, connection_id: str, purpose: str = "credentials") -> bytes:
    return f"shoprelay/v1/{purpose}/{tenant_id}/{connection_id}".encode()


# What each OAuth install table's sealed column is bound to (store.base.SEALED_EXTRAS).
_EXTRA_PURPOSES = {"attempt": "connect-attempt", "install": "unclaimed-install", "grant": "oauth-grant"}


def sealed_extra_aad(kind: str, owner: str | None, key: str) -> bytes:
    """A connect attempt's data (bound to its tenant and id), an unclaimed
    install's (its app's tenant and claim digest), a grant's shared token
    (its grant key)."""
    return credentials_aad(owner or "", key, _EXTRA_PURPOSES[kind])


def webhook_secret_aad(tenant_id: str) -> bytes:
    """A tenant's webhook signing secret is bound to the tenant alone."""
    return credentials_aad(tenant_id, "", "webhook-secret")


def provider_app_aad(tenant_id: str | None, provider: str) -> bytes:
    """A provider app's client secret is bound to its owner (a tenant, or
    "operator" for the default: tenant ids are UUIDs, never that word) and
    its provider, so a secret copied to another app fails to decrypt."""
    return credentials_aad(tenant_id or "operator", provider, "provider-app")
