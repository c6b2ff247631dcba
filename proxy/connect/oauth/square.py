"""Square's authorization code grant with PKCE (S256).

begin: nothing to type. The browser goes to ``{origin}/oauth2/authorize``
with ``client_id``, ``scope`` (the app's, space-separated; by default
``CUSTOMERS_READ``), ``session=false`` (the seller signs in to the account
meant, not whichever is open), ``state``, ``code_challenge`` (base64url of
the verifier's SHA-256) with ``code_challenge_method=S256`` (RFC 7636's name
for it; Square documents the challenge alone, always S256) and
``redirect_uri``. The origin is ``connect.squareup.com``, or
``connect.squareupsandbox.com`` for a Sandbox application (its id begins
``sandbox-``), replaced by the provider app's ``settings.auth_url``. The
``code_verifier`` (86 characters, 512 random bits) is sealed in the attempt
behind ``state``; it never reaches the browser.

callback: ``code`` and ``state`` (one use, ten minutes, this browser's
session: the framework's); ``error=access_denied`` with
``error_description=user_denied`` when the seller declines (the framework's).

exchange: ``POST {origin}/oauth2/token`` (JSON) with ``client_id``,
``grant_type=authorization_code``, ``code``, ``code_verifier`` and
``redirect_uri``; no ``client_secret``, which the PKCE flow replaces with the
verifier. The answer: ``access_token`` (30 days), ``expires_at``,
``merchant_id``, ``refresh_token`` (PKCE: single-use, 90 days, a new one with
each refresh, kept by the token store). Codes "expire after 5 minutes" and
are single-use: a refused exchange fails the session.

The connection: ``{client_id, client_secret, refresh_token}`` (refreshed on
demand by providers.square), settings ``environment`` (and the app's
``auth_url``/``base_url``), grant ``square:{client_id}:{merchant_id}`` so that
connections of one seller and app share one token and one refresh (a PKCE
refresh token cannot serve two holders), seeded with the exchanged token.

Sources: connect-flows.md A.7; https://developer.squareup.com/reference/square/oauth-api/authorize
(client_id, scope, session, state, code_challenge, redirect_uri; access_denied/user_denied),
.../obtain-token (PKCE: code, client_id, code_verifier; refresh_token and client_id),
https://developer.squareup.com/docs/oauth-api/overview (5-minute single-use codes, 30-day tokens).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import urllib.parse
from typing import Any, Mapping

from providers.square import ORIGINS, TOKEN_PATH, token_error_code, token_expiry
from providers.token_endpoint import TokenEndpoint
from providers.tokens import MemoryTokenStore

from ...provider_apps import OAUTH_PROVIDERS
from .flow import Begin, FlowContext, FlowRefused, Grant, OAuthFlow, register
from .platform_json import exchange, inherited

AUTHORIZE_PATH = "/oauth2/authorize"
DEFAULT_SCOPES = list(OAUTH_PROVIDERS["square"].default_scopes)
SANDBOX_PREFIX = "sandbox-"  # Square's Sandbox application ids: sandbox-sq0idb-...
_CODE = re.compile(r"^[\x21-\x7e]{1,191}$")  # ObtainToken: code "Max Length 191"
_MERCHANT = re.compile(r"^[A-Za-z0-9_-]{1,191}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 section 4.1


def challenge_of(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(ASCII(verifier))), unpadded."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def environment_of(client_id: str) -> str:
    return "sandbox" if client_id.startswith(SANDBOX_PREFIX) else "production"


@register
class SquareFlow(OAuthFlow):
    provider = "square"

    def origin(self, ctx: FlowContext) -> str:
        assert ctx.app is not None
        return ctx.app.origin(ORIGINS[environment_of(ctx.app.client_id)])

    async def begin(self, ctx: FlowContext, typed: dict[str, str]) -> Begin:
        assert ctx.app is not None
        verifier = secrets.token_urlsafe(64)  # 86 characters of the unreserved set
        state = await ctx.new_state({"code_verifier": verifier})
        query = urllib.parse.urlencode({
            "client_id": ctx.app.client_id,
            "scope": " ".join(ctx.app.scopes or DEFAULT_SCOPES),
            "session": "false",
            "state": state,
            "code_challenge": challenge_of(verifier),
            "code_challenge_method": "S256",
            "redirect_uri": ctx.redirect_uri,
        }, quote_via=urllib.parse.quote)
        return Begin(f"{self.origin(ctx)}{AUTHORIZE_PATH}?{query}")

    async def callback(self, ctx: FlowContext, query: Mapping[str, str], data: dict[str, Any]) -> Grant:
        code, verifier = query.get("code", ""), data.get("code_verifier")
        if not _CODE.match(code) or not isinstance(verifier, str) or not _VERIFIER.match(verifier):
            raise FlowRefused("invalid_callback", "Square's answer has no usable code. Start again.",
                              fail_session=False)
        return await self._exchange(ctx, code, verifier)

    async def _exchange(self, ctx: FlowContext, code: str, verifier: str) -> Grant:
        app = ctx.app
        assert app is not None
        grant = {"client_id": app.client_id, "grant_type": "authorization_code", "code": code,
                 "code_verifier": verifier, "redirect_uri": ctx.redirect_uri}
        endpoint = TokenEndpoint(
            "Square", ctx.http, self.origin(ctx) + TOKEN_PATH, grant, store=MemoryTokenStore(), send="json",
            read_code=token_error_code, expiry=token_expiry,
            extra=lambda body: {"merchant_id": body.get("merchant_id")},
        )
        token = await exchange("Square", endpoint)
        merchant = token.extra.pop("merchant_id", None)
        refresh = token.extra.get("refresh_token")
        if not isinstance(refresh, str) or not isinstance(merchant, str) or not _MERCHANT.match(merchant):
            # A short-lived answer (no refresh token) cannot last: not a connection.
            raise FlowRefused("invalid_grant", "Square's answer cannot keep your store connected. Start again.")
        settings: dict[str, Any] = {"environment": environment_of(app.client_id)}
        settings.update(inherited(app))
        credentials = {"client_id": app.client_id, "client_secret": app.client_secret, "refresh_token": refresh}
        return Grant(credentials=credentials, settings=settings, grant_key=f"square:{app.client_id}:{merchant}",
                     token=token)
