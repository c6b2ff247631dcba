"""BigCommerce's ``signed_payload_jwt``: who is calling the load and uninstall callbacks.

BigCommerce opens ``/load`` (the merchant opens the app in the control
panel) and calls ``/uninstall`` with ``?signed_payload_jwt={header}.{claims}.{signature}``,
an HS256 JWT signed with the app's client secret (reference/connect-flows.md
A.2). Nothing else in those requests can be trusted, so a payload counts
only when:

* the JOSE header says ``HS256`` (``none`` and every other algorithm are
  refused before any key is used) and the signature is the app secret's;
* ``iss`` is ``bc``, ``aud`` is the app's client id, ``exp`` is ahead and
  ``nbf``/``iat`` are behind (a minute of clock difference tolerated), all
  of them present;
* ``sub`` is ``stores/{hash}`` with a store hash of the documented shape.

The app is found by the payload's unverified ``aud`` (several apps may
share the callback URLs: the operator's default and tenants' own), then the
payload is verified with that app's secret; an ``aud`` no app has is as bad
as a wrong signature. PyJWT does the JOSE work.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import jwt
import msgspec
from jwt.warnings import InsecureKeyLengthWarning

ISSUER = "bc"
ALGORITHM = "HS256"
LEEWAY = 60  # seconds of clock difference with BigCommerce tolerated on exp/nbf/iat
MAX_LENGTH = 8192  # a payload is a few hundred bytes; anything far longer is not one
_SHAPE = re.compile(r"[A-Za-z0-9_\-]{1,2048}\.[A-Za-z0-9_\-]{1,6000}\.[A-Za-z0-9_\-]{1,512}")
_SUB = re.compile(r"stores/([a-z0-9]{1,32})")


class InvalidPayload(Exception):
    """The payload is not BigCommerce's for this app. The message says why
    in words for a person, never repeating the payload."""


class SignedPayload(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    store_hash: str
    user_email: str | None  # who opened the app (load); PII, never logged

    def __repr__(self) -> str:
        return f"SignedPayload(client_id={self.client_id!r}, store_hash={self.store_hash!r})"


def audience(token: str) -> str | None:
    """The client id the payload names, unverified: which app's secret to
    verify it with. None when it is not a JWT of the expected shape."""
    if len(token) > MAX_LENGTH or not _SHAPE.fullmatch(token):
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    aud = claims.get("aud")
    return aud if isinstance(aud, str) and 0 < len(aud) <= 256 else None


def verify(token: str, client_id: str, secret: str) -> SignedPayload:
    """The verified payload, or InvalidPayload saying what was wrong."""
    if len(token) > MAX_LENGTH or not _SHAPE.fullmatch(token):
        raise InvalidPayload("the request does not carry a signed payload from BigCommerce")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise InvalidPayload("the request does not carry a signed payload from BigCommerce") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidPayload("the payload is not signed the way BigCommerce signs it (HS256)")
    try:
        with warnings.catch_warnings():
            # The key is the platform's client secret: its length is not ours to choose.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            claims: dict[str, Any] = jwt.decode(
                token, secret, algorithms=[ALGORITHM], audience=client_id, issuer=ISSUER, leeway=LEEWAY,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub"], "verify_iat": True},
            )
    except jwt.ExpiredSignatureError:
        raise InvalidPayload("the signed payload has expired: open the app from BigCommerce again") from None
    except jwt.ImmatureSignatureError:
        raise InvalidPayload("the signed payload is not valid yet (check this server's clock)") from None
    except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
        raise InvalidPayload("the signed payload is not for this app") from None
    except jwt.InvalidTokenError:
        raise InvalidPayload("the payload's signature is not this app's") from None
    match = _SUB.fullmatch(claims["sub"]) if isinstance(claims.get("sub"), str) else None
    if match is None:
        raise InvalidPayload("the signed payload does not name a store")
    user = claims.get("user")
    email = user.get("email") if isinstance(user, dict) else None
    return SignedPayload(
        client_id=client_id, store_hash=match.group(1),
        user_email=email if isinstance(email, str) and len(email) <= 320 else None,
    )
