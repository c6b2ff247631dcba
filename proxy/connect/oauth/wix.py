"""Wix: the external install flow, then an instance confirmed with Wix.

Begin: the browser goes to Wix's installer,
``https://www.wix.com/installer/install?appId=...&postInstallationUrl=...``
(origin replaced by the app's ``settings.auth_url``). Our callback URL
carries the one-time ``state`` as its own query parameter: Wix "preserves
any query parameters you include" and appends ``appId``, ``tenantId`` (the
site) and ``instanceId``. ``redirectUrl`` is sent with the same value for the
installer generations that read that name (uncertain which one the current
installer reads; both are harmless).

Callback: an ``instanceId`` is not a secret and arrives through the
browser, so it is never trusted alone (connect-flows.md A.4). It must be a
GUID; ``appId`` (when given) must be our app; then Wix itself must confirm
it: a client-credentials token is minted for that instance at
``POST /oauth2/token`` (Wix refuses an instance our app is not installed
on), and ``POST /oauth2/token-info`` must say the token is active, was
issued to our app, for that very instance and, when the redirect named a
site (``tenantId``), for that site. Only then is the connection stored:
credentials ``{client_id, client_secret}`` + settings ``{instance_id}`` (the
Wix provider's app-OAuth form), the minted token seeding its token store.

Residual risk (documented, not solved here): Wix does not sign the
redirect, so a merchant who learns the ``instanceId`` of *another* site that
installed this same app could still present it with their own valid
``state``; the checks above prove the instance is ours and consistent, not
that this browser installed it. Binding to the App Instance Installed
webhook would close that (A.4, uncertain item 2).
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any, Mapping

from providers.base import is_uuid
from providers.tokens import AccessToken
from providers.wix import TOKEN_LIFETIME, TOKEN_PATH, WixProvider

from .flow import Begin, FlowContext, FlowRefused, Grant, OAuthFlow, register
from .platform_json import call, inherited, lifetime, token_of

INSTALLER_ORIGIN = "https://www.wix.com"
INSTALLER_PATH = "/installer/install"
TOKEN_INFO_PATH = "/oauth2/token-info"
NOT_CONFIRMED = "instance_not_confirmed"


def _refused(message: str) -> FlowRefused:
    # A forged or inconsistent redirect: nothing stored, the session stays open.
    return FlowRefused(NOT_CONFIRMED, message, fail_session=False)


@register
class WixFlow(OAuthFlow):
    provider = "wix"

    async def begin(self, ctx: FlowContext, typed: dict[str, str]) -> Begin:
        state = await ctx.new_state({})
        back = f"{ctx.redirect_uri}?{urllib.parse.urlencode({'state': state})}"
        query = {"appId": ctx.app.client_id, "postInstallationUrl": back, "redirectUrl": back}
        return Begin(url=f"{ctx.app.origin(INSTALLER_ORIGIN)}{INSTALLER_PATH}?{urllib.parse.urlencode(query)}")

    async def callback(self, ctx: FlowContext, query: Mapping[str, str], data: dict) -> Grant:
        app = ctx.app
        # GUIDs: their case carries no meaning, so both sides are compared lower-cased.
        instance_id, site_id = query.get("instanceId", "").lower(), query.get("tenantId", "").lower() or None
        if not is_uuid(instance_id):
            raise _refused("Wix did not name the installed app instance; start again from the connect page.")
        if query.get("appId") not in (None, app.client_id):
            raise _refused("Wix returned an installation of another app; start again from the connect page.")
        if site_id is not None and not is_uuid(site_id):
            raise _refused("Wix named a site that is not a Wix site id; start again from the connect page.")
        token = await self._mint(ctx, instance_id)
        await self._confirm(ctx, token.access_token, instance_id, site_id)
        return Grant(
            credentials={"client_id": app.client_id, "client_secret": app.client_secret},
            settings={"instance_id": instance_id, **inherited(app)},
            token=token,
        )

    async def _mint(self, ctx: FlowContext, instance_id: str) -> AccessToken:
        """Wix mints a token only for an instance of our app."""
        grant = {"grant_type": "client_credentials", "client_id": ctx.app.client_id,
                 "client_secret": ctx.app.client_secret, "instance_id": instance_id}
        answer = await call(ctx.http, "Wix", "POST", self._url(ctx, TOKEN_PATH), send="json", fields=grant)
        access = token_of(answer.body, "access_token") if 200 <= answer.status < 300 else None
        if access is None:
            raise _refused("Wix does not confirm this installation of the app; install it again from "
                           "the connect page.")
        return AccessToken(access_token=access, expires_at=time.time() + lifetime(answer.body, TOKEN_LIFETIME))

    async def _confirm(self, ctx: FlowContext, access: str, instance_id: str, site_id: str | None) -> None:
        """Wix's own reading of the token: active, ours, this instance (and site)."""
        answer = await call(ctx.http, "Wix", "POST", self._url(ctx, TOKEN_INFO_PATH), send="json",
                            fields={"token": access})
        info: dict[str, Any] = answer.body or {}
        expected = {"active": True, "clientId": ctx.app.client_id, "instanceId": instance_id}
        if site_id is not None:
            expected["siteId"] = site_id
        said = {k: v.lower() if k in ("instanceId", "siteId") and isinstance(v, str) else v for k, v in info.items()}
        if not 200 <= answer.status < 300 or any(said.get(k) != v for k, v in expected.items()):
            raise _refused("Wix does not confirm that this installation belongs to the site it came "
                           "from; install the app again from the connect page.")

    @staticmethod
    def _url(ctx: FlowContext, path: str) -> str:
        return ctx.app.origin(WixProvider.default_auth_origin) + path

