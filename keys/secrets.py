"""API keys (``sk_...``), connection tokens (``ct_...``), and the connect
flow's session tokens (``cst_...``, in a connect_url) and codes (``cc_...``,
traded once for a connection).

256 random bits, URL-safe base64; stored only as a SHA-256 digest plus a
short display prefix. The prefixes make leaked values easy to recognise in
logs and for secret scanners.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_KEY_PREFIX = "sk_"
CONNECTION_TOKEN_PREFIX = "ct_"
CONNECT_SESSION_PREFIX = "cst_"
CONNECT_CODE_PREFIX = "cc_"
_RANDOM_BYTES = 32  # 256 bits
_DISPLAY_CHARS = 8
# token_urlsafe(32) is 43 characters; anything much longer is not ours.
MAX_SECRET_LENGTH = 64


def mint_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def mint_connection_token() -> str:
    return CONNECTION_TOKEN_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def mint_connect_session_token() -> str:
    return CONNECT_SESSION_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def mint_connect_code() -> str:
    return CONNECT_CODE_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def digest(secret: str) -> str:
    """Hex SHA-256. Unsalted on purpose: the input has 256 bits of entropy,
    and lookups by digest must be a single indexed equality."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """What we may show later: the type prefix and a few characters."""
    head, _, body = secret.partition("_")
    return f"{head}_{body[:_DISPLAY_CHARS]}"


def looks_like(secret: str, prefix: str) -> bool:
    """Cheap shape check before any lookup (rejects junk without I/O)."""
    return (
        secret.startswith(prefix)
        and len(secret) <= MAX_SECRET_LENGTH
        and secret[len(prefix):].replace("-", "").replace("_", "").isalnum()
        and secret.isascii()
    )


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
