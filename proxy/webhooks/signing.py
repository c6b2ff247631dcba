"""The Standard Webhooks signature scheme (symmetric, ``v1``).

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
("Signature scheme", "Webhook headers"):

* the secret is shown as ``whsec_`` + base64 of random bytes (at least 24);
  the HMAC key is the decoded bytes, not the text;
* the signed content is ``{webhook-id}.{webhook-timestamp}.{body}``, the body
  byte for byte as sent;
* ``webhook-signature`` is ``v1,`` + base64 of the HMAC-SHA256 (a space
  separated list in general; we send one);
* ``webhook-timestamp`` is the attempt's time in whole Unix seconds, so each
  retry is signed anew and a receiver's replay window keeps working.

Any Standard Webhooks library verifies these (tests use the ``standardwebhooks``
package).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for at least 24


class InvalidSecret(ValueError):
    """Not a ``whsec_`` secret (the message never holds the value)."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after ``whsec_``."""
    if not secret.startswith(PREFIX):
        raise InvalidSecret("a webhook secret starts with whsec_")
    text = secret[len(PREFIX):]
    try:
        # Padding optional, as the reference libraries read it.
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("a webhook secret is whsec_ followed by base64") from None
    if not key:
        raise InvalidSecret("a webhook secret may not be empty")
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret_key(secret), message_id, timestamp, body),
    }
