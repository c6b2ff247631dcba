"""CSRF tokens of the connect page's forms.

The token is derived from the session's secret (the cookie's value, which
is HttpOnly): HMAC-SHA256 keyed with it. A page of this origin can put it
in its forms; another site can neither read the cookie nor compute the
token, and nothing needs storing, so every replica checks it alike. The
session secret cannot be recovered from the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

FIELD = "csrf_token"
_PURPOSE = b"shoprelay connect form v1"


def token_for(session_secret: str) -> str:
    mac = hmac.new(session_secret.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def valid(session_secret: str, submitted: str | None) -> bool:
    if not submitted:
        return False
    return hmac.compare_digest(token_for(session_secret).encode(), submitted.encode("utf-8", "replace"))
