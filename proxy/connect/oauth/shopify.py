"""Shopify's authorization code grant (a non-embedded app).

begin: the merchant types the shop name; the browser goes to
``https://{shop}.myshopify.com/admin/oauth/authorize`` with ``client_id``,
``scope`` (the app's, by default ``read_customers``), ``redirect_uri``,
``state`` and an empty ``grant_options[]`` (an offline token).

callback: Shopify sends ``code``, ``hmac``, ``host``, ``shop``, ``state``,
``timestamp``. Checked before anything is sent anywhere:

* ``hmac``: hex HMAC-SHA256, keyed with the app's secret, of every other
  parameter (``signature`` too is left out) sorted by name, as ``k=v``
  joined by ``&``, values as decoded; compared in constant time. Shopify
  says the parameter set may change, so none is hard-coded;
* ``shop`` matches ``^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$`` and is the
  shop the merchant typed (kept in the attempt), so a callback cannot
  switch stores;
* ``timestamp`` is within TIMESTAMP_TOLERANCE of our clock;
* ``state``: the framework's (one use, ten minutes, this browser's session).

exchange: ``POST https://{shop}/admin/oauth/access_token`` (JSON) with
``client_id``, ``client_secret``, ``code`` and ``"expiring": 1``: an
expiring offline token (about an hour) with a rotating refresh token.
Shopify keeps one such token per app and shop, so the grant is keyed
``shopify:{client_id}:{shop}`` and its token shared by every connection
made from it (oauth_store.GrantTokenStore). An answer without a refresh
token (a non-expiring token) is stored as the key form's ``access_token``.

``auth_url`` in the provider app's settings replaces the
``https://{shop}.myshopify.com`` origin of both endpoints (tests, proxies);
``base_url`` the API's. Both go into the connection's settings.

Sources: connect-flows.md A.1.3-A.1.5 (Shopify's "Implement authorization
code grant manually", the shopify-api-js library, the expiring token docs).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import urllib.parse
from typing import Any, Mapping

from providers.shopify import SHOP_DOMAIN, TOKEN_PATH
from providers.token_endpoint import TokenEndpoint
from providers.tokens import MemoryTokenStore

from ...provider_apps import OAUTH_PROVIDERS
from .flow import Begin, FlowContext, FlowRefused, Grant, OAuthFlow, register
from .platform_json import exchange, inherited

SHOP_HOST = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_SHOP_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")  # a DNS label, as ShopifySettings
_HEX_HMAC = re.compile(r"^[0-9a-f]{64}$")
_CODE = re.compile(r"^[\x21-\x7e]{1,512}$")
# Shopify's library allows 90 s; a little more for our own clock's drift.
TIMESTAMP_TOLERANCE = 300
DEFAULT_SCOPES = list(OAUTH_PROVIDERS["shopify"].default_scopes)
READ_SCOPES = {"read_customers", "write_customers"}  # write implies read


def hmac_message(query: Mapping[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(query.items()) if k not in ("hmac", "signature"))


def sign(query: Mapping[str, str], secret: str) -> str:
    return hmac.new(secret.encode(), hmac_message(query).encode(), hashlib.sha256).hexdigest()


def valid_hmac(query: Mapping[str, str], secret: str) -> bool:
    given = query.get("hmac", "")
    if not _HEX_HMAC.match(given):
        return False
    return hmac.compare_digest(sign(query, secret), given)


def shop_host(typed: str) -> str:
    """``name.myshopify.com`` from what a merchant types (the name, or the
    host, or an admin URL's host); FlowRefused naming the field if not."""
    value = typed.strip().lower()
    value = value.removeprefix("https://").removeprefix("http://").rstrip("/")
    name = value.removesuffix(SHOP_DOMAIN)
    if not _SHOP_NAME.match(name):
        raise FlowRefused(
            "invalid_shop", "Type your store's name as it appears in your myshopify.com address, e.g. my-store.",
            fail_session=False, field="shop",
        )
    return name + SHOP_DOMAIN


@register
class ShopifyFlow(OAuthFlow):
    provider = "shopify"
    inputs = ["shop"]

    async def begin(self, ctx: FlowContext, typed: dict[str, str]) -> Begin:
        assert ctx.app is not None
        shop = shop_host(typed.get("shop", ""))
        state = await ctx.new_state({"shop": shop})
        query = urllib.parse.urlencode({
            "client_id": ctx.app.client_id,
            "scope": ",".join(ctx.app.scopes or DEFAULT_SCOPES),
            "redirect_uri": ctx.redirect_uri,
            "state": state,
            "grant_options[]": "",  # empty: an offline token
        })
        return Begin(f"{ctx.app.origin(f'https://{shop}')}/admin/oauth/authorize?{query}")

    async def callback(self, ctx: FlowContext, query: Mapping[str, str], data: dict[str, Any]) -> Grant:
        assert ctx.app is not None
        if not valid_hmac(query, ctx.app.client_secret):
            raise FlowRefused("invalid_hmac", "This answer is not signed by Shopify for this app.", fail_session=False)
        shop = query.get("shop", "")
        if not SHOP_HOST.match(shop) or shop != data.get("shop"):
            raise FlowRefused("invalid_shop", "Shopify answered for another store than the one you typed.",
                              fail_session=False)
        timestamp = query.get("timestamp", "")
        if not timestamp.isdigit() or len(timestamp) > 12 or abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE:
            raise FlowRefused("stale_callback", "This answer from Shopify is too old. Start again.", fail_session=False)
        code = query.get("code", "")
        if not _CODE.match(code):
            raise FlowRefused("invalid_callback", "Shopify's answer has no usable code. Start again.",
                              fail_session=False)
        return await self._exchange(ctx, shop, code)

    async def _exchange(self, ctx: FlowContext, shop: str, code: str) -> Grant:
        app = ctx.app
        assert app is not None
        fields: dict[str, Any] = {
            "client_id": app.client_id, "client_secret": app.client_secret, "code": code,
            "expiring": 1,  # an expiring offline token, with a refresh token
        }
        endpoint = TokenEndpoint(
            "Shopify", ctx.http, app.origin(f"https://{shop}") + TOKEN_PATH, fields,
            store=MemoryTokenStore(), send="json", extra=lambda body: {"scope": body.get("scope")},
        )
        token = await exchange("Shopify", endpoint)
        scope = token.extra.pop("scope", None)
        if isinstance(scope, str) and not READ_SCOPES & set(scope.split(",")):
            raise FlowRefused("insufficient_scope", "Shopify did not grant access to customers (read_customers).")
        settings: dict[str, Any] = {"shop": shop.removesuffix(SHOP_DOMAIN)}
        settings.update(inherited(app))
        grant_key = f"shopify:{app.client_id}:{shop}"
        refresh = token.extra.get("refresh_token")
        if not isinstance(refresh, str):  # a non-expiring offline token
            return Grant(credentials={"access_token": token.access_token}, settings=settings, grant_key=grant_key)
        credentials = {"client_id": app.client_id, "client_secret": app.client_secret, "refresh_token": refresh}
        return Grant(credentials=credentials, settings=settings, grant_key=grant_key, token=token)
