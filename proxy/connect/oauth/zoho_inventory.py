"""Zoho Inventory: the authorization-code grant on the account's data centre.

Begin: the merchant picks the data centre (``data_center``, the provider's
setting); the browser goes to that DC's accounts server,
``{accounts}/oauth/v2/auth`` with ``client_id``, ``response_type=code``,
``redirect_uri``, ``scope`` (the app's, plus ``ZohoInventory.contacts.READ``
for customers and ``ZohoInventory.settings.READ`` for the organisations
list), ``access_type=offline`` (a refresh token), ``prompt=consent`` (a
*new* refresh token each time) and ``state`` (connect-flows.md A.5).

Callback: ``code``, ``location``, ``accounts-server``, ``state``. The
accounts server comes from the browser and is where the client secret is
about to be posted, so it must be one of Zoho's accounts origins (or the
app's own ``settings.auth_url``, tests and proxies) *before* anything is
sent: an unknown one is refused, the secret never leaves. It also decides
the data centre (Zoho knows where the account lives better than the
merchant's pick). The code is exchanged at ``{accounts}/oauth/v2/token``
(form body: the secret stays out of URLs and logs), then ``GET
/inventory/v1/organizations`` at the API origin (the token's
``api_domain``, else the DC's; ``settings.base_url`` wins) lists the
organisations: one is taken, several are offered to the merchant
(:class:`Choice`), none is refused. The connection is credentials
``{client_id, client_secret, refresh_token}`` + settings
``{organization_id, data_center}`` (the provider's form), its token store
seeded with the access token of the exchange (with its ``api_domain``).
"""

from __future__ import annotations

import re
import time
import urllib.parse
from typing import Any, ClassVar, Mapping

from providers.tokens import AccessToken
from providers.zoho_inventory import DATA_CENTERS, TOKEN_LIFETIME, TOKEN_PATH, accounts_origin, api_origin
from providers.zoho_inventory import token_api_domain

from ...provider_apps import OAUTH_PROVIDERS
from .flow import Begin, Choice, FlowContext, FlowRefused, Grant, OAuthFlow, register
from .platform_json import call, error_code, inherited, lifetime, token_of

AUTHORIZE_PATH = "/oauth/v2/auth"
ORGANIZATIONS_PATH = "/inventory/v1/organizations"
REQUIRED_SCOPES = OAUTH_PROVIDERS["zoho_inventory"].default_scopes
MAX_ORGANIZATIONS = 50  # offered on the choice page at most
_ORG_ID = re.compile(r"^[0-9]{1,20}$")
# accounts server -> data centre: the only hosts the client secret may go to.
ACCOUNTS_SERVERS = {accounts_origin(dc): dc for dc in DATA_CENTERS}


def scopes(app: Any) -> str:
    """The app's scopes and the two the flow needs, each once, comma-separated as Zoho reads them."""
    return ",".join(dict.fromkeys([*app.scopes, *REQUIRED_SCOPES]))


def accounts_server(app: Any, typed_dc: str, claimed: str | None) -> tuple[str, str]:
    """(origin to post the secret to, data centre), or FlowRefused when the
    browser named a host that is not Zoho's (nor the app's own auth_url)."""
    if claimed is None:  # no multi-DC parameters: the DC the merchant picked
        return app.origin(accounts_origin(typed_dc)), typed_dc
    claimed = claimed.strip().lower().rstrip("/")
    if claimed in ACCOUNTS_SERVERS:
        return app.origin(claimed), ACCOUNTS_SERVERS[claimed]
    override = app.settings.get("auth_url")
    if override and claimed == override.lower().rstrip("/"):
        return override, typed_dc
    raise FlowRefused(
        "accounts_server", "The sign-in came back naming an accounts server that is not Zoho's; nothing was "
        "sent to it. Start again from the connect page.", fail_session=False)


def organization_id(value: Any) -> str | None:
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    return text if _ORG_ID.match(text) else None


@register
class ZohoInventoryFlow(OAuthFlow):
    provider = "zoho_inventory"
    inputs: ClassVar[list[str]] = ["data_center"]

    async def begin(self, ctx: FlowContext, typed: dict[str, str]) -> Begin:
        dc = typed.get("data_center", "").strip()
        if dc not in DATA_CENTERS:
            raise FlowRefused("invalid_data_center", f"Pick your Zoho data centre: one of {', '.join(DATA_CENTERS)}.",
                              fail_session=False, field="data_center")
        app = ctx.app
        state = await ctx.new_state({"data_center": dc})
        query = {
            "client_id": app.client_id, "response_type": "code", "redirect_uri": ctx.redirect_uri,
            "scope": scopes(app), "access_type": "offline", "prompt": "consent", "state": state,
        }
        return Begin(url=f"{app.origin(accounts_origin(dc))}{AUTHORIZE_PATH}?{urllib.parse.urlencode(query)}")

    async def callback(self, ctx: FlowContext, query: Mapping[str, str], data: dict) -> Grant | Choice:
        code = query.get("code", "")
        if not code or len(code) > 1024:
            raise FlowRefused("missing_code", "Zoho sent no authorization code; start again from the connect page.",
                              fail_session=False)
        origin, dc = accounts_server(ctx.app, data.get("data_center", "com"), query.get("accounts-server"))
        body = await self._exchange(ctx, origin, code)
        token = AccessToken(access_token=body["access_token"], extra=token_api_domain(body),
                            expires_at=time.time() + lifetime(body, TOKEN_LIFETIME))
        keep = {"data_center": dc, "refresh_token": body["refresh_token"], "access_token": token.access_token,
                "expires_at": token.expires_at, "extra": token.extra}
        organizations = await self._organizations(ctx, token, dc)
        if len(organizations) == 1:
            return self._grant(ctx, keep, organizations[0][0])
        keep["organizations"] = [value for value, _ in organizations]
        return Choice(field="organization_id", label="Zoho Inventory organization", options=organizations, keep=keep)

    async def chosen(self, ctx: FlowContext, keep: dict, value: str) -> Grant:
        if value not in keep.get("organizations", []):
            raise FlowRefused("invalid_choice", "Pick one of the organizations listed.", fail_session=False)
        return self._grant(ctx, keep, value)

    async def _exchange(self, ctx: FlowContext, origin: str, code: str) -> dict[str, Any]:
        fields = {"client_id": ctx.app.client_id, "client_secret": ctx.app.client_secret,
                  "grant_type": "authorization_code", "code": code, "redirect_uri": ctx.redirect_uri}
        answer = await call(ctx.http, "Zoho", "POST", origin + TOKEN_PATH, send="form", fields=fields)
        if (refusal := error_code(answer.body)) is not None:  # Zoho refuses with HTTP 200 too
            raise FlowRefused(refusal, f"Zoho refused the authorization code ({refusal}); it may have expired or "
                              "been used already. Start again from the connect page.")
        body = answer.body or {}
        if not 200 <= answer.status < 300 or token_of(body, "access_token") is None:
            raise FlowRefused("token_exchange_failed", "Zoho did not issue an access token "
                              f"({answer.status}); start again from the connect page.")
        if token_of(body, "refresh_token") is None:  # access_type=offline was not honoured
            raise FlowRefused("no_refresh_token", "Zoho issued no refresh token, so the connection could not last; "
                              "start again from the connect page.")
        return body

    async def _organizations(self, ctx: FlowContext, token: AccessToken, dc: str) -> list[tuple[str, str]]:
        origin = ctx.app.api_origin(token.extra.get("api_domain") or api_origin(dc))
        answer = await call(ctx.http, "Zoho Inventory", "GET", origin + ORGANIZATIONS_PATH,
                            headers={"Authorization": f"Zoho-oauthtoken {token.access_token}"})
        body = answer.body or {}
        rows = body.get("organizations")
        if not 200 <= answer.status < 300 or body.get("code") != 0 or not isinstance(rows, list):
            raise FlowRefused("organizations_unreadable", "Zoho Inventory did not list your organizations "
                              f"({answer.status}); check that Zoho Inventory is set up and try again.")
        found: dict[str, str] = {}
        for row in rows[:MAX_ORGANIZATIONS]:
            value = organization_id(row.get("organization_id")) if isinstance(row, dict) else None
            if value is not None:
                name = row.get("name")
                found.setdefault(value, name[:200] if isinstance(name, str) and name.strip() else value)
        if not found:
            raise FlowRefused("no_organization", "This Zoho account has no Zoho Inventory organization.")
        return list(found.items())

    def _grant(self, ctx: FlowContext, keep: dict, organization: str) -> Grant:
        app = ctx.app
        token = AccessToken(access_token=keep["access_token"], expires_at=keep["expires_at"], extra=keep["extra"])
        return Grant(
            credentials={"client_id": app.client_id, "client_secret": app.client_secret,
                         "refresh_token": keep["refresh_token"]},
            settings={"organization_id": organization, "data_center": keep["data_center"], **inherited(app)},
            token=token,
        )

