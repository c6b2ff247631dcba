"""Integrity-protected, opaque page cursors.

A cursor is ``base64url(payload) "." base64url(mac)`` where the MAC is a
truncated HMAC-SHA256 under a key derived from the credential keyring, so
clients cannot forge or alter one. Verification accepts any key in the
ring, so a key rotation does not break cursors already handed out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from .vault import Keyring

MAC_BYTES = 16
MAX_CURSOR_LENGTH = 2048
_PURPOSE = b"shoprelay/v1/cursor"


class InvalidCursor(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Base64's last character can carry unused bits: without this check two
    # different strings would open to the same cursor. One cursor, one spelling.
    if _b64(data) != text:
        raise ValueError("non-canonical base64")
    return data


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]


def seal(keyring: Keyring, payload: bytes) -> str:
    return f"{_b64(payload)}.{_b64(_mac(keyring.derive(_PURPOSE), payload))}"


def open_(keyring: Keyring, cursor: str) -> bytes:
    """The payload of a cursor we issued; InvalidCursor otherwise."""
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1 or not cursor.isascii():
        raise InvalidCursor("malformed cursor")
    body, tag = cursor.split(".")
    try:
        payload, mac = _unb64(body), _unb64(tag)
    except (binascii.Error, ValueError):
        raise InvalidCursor("malformed cursor") from None
    for key in keyring.derive_all(_PURPOSE):
        if hmac.compare_digest(_mac(key, payload), mac):
            return payload
    raise InvalidCursor("cursor does not verify")
