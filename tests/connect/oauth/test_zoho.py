"""Zoho Inventory's authorization-code flow (proxy/connect/oauth/zoho_inventory.py)
against the Zoho fake: consent on the picked data centre, the accounts
server allow-listed before the client secret goes anywhere, the code
exchanged once, the organisation taken or chosen. Refusals say why."""

from __future__ import annotations

import urllib.parse

import pytest
from aiohttp import web

from providers import registry
from proxy.connect.oauth import zoho_inventory as flow
from proxy.connect.oauth.flow import FLOWS, Choice, FlowRefused, Grant
from tests.connect.oauth.flow_support import App, Context, follow
from tests.fakes.zoho_inventory import CLIENT_ID, CLIENT_SECRET, ORG_ID, ZohoInventoryFake
from tests.support import serve

OTHER_ORG = {"organization_id": "20345810", "name": "Second Books Ltd"}

FLOW = FLOWS["zoho_inventory"]


def zoho_app(origin: str, **settings: str) -> App:
    return App("zoho_inventory", CLIENT_ID, CLIENT_SECRET, {"auth_url": origin, "base_url": origin, **settings},
               scopes=["ZohoInventory.contacts.READ"])


async def consented(ctx: Context, dc: str = "eu") -> tuple[dict[str, str], dict]:
    """Begin on a data centre, the merchant consents: (callback query, attempt data)."""
    begin = await FLOW.begin(ctx, {"data_center": dc})
    query = await follow(begin.url)
    return query, ctx.attempts[query["state"]] if "state" in query else {}


async def test_consent_exchange_and_the_one_organization_make_the_grant(upstream_client):
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin:
        ctx = Context(zoho_app(origin), upstream_client)
        begin = await FLOW.begin(ctx, {"data_center": "eu"})
        url = urllib.parse.urlsplit(begin.url)
        assert f"{url.scheme}://{url.netloc}{url.path}" == origin + "/oauth/v2/auth"
        [state] = ctx.attempts
        assert dict(urllib.parse.parse_qsl(url.query)) == {
            "client_id": CLIENT_ID, "response_type": "code", "redirect_uri": ctx.redirect_uri,
            "scope": "ZohoInventory.contacts.READ,ZohoInventory.settings.READ", "access_type": "offline",
            "prompt": "consent", "state": state,
        }
        assert ctx.attempts[state] == {"data_center": "eu"} and CLIENT_SECRET not in begin.url
        query = await follow(begin.url)
        assert query["state"] == state and query["accounts-server"] == origin and query["code"]
        grant = await FLOW.callback(ctx, query, ctx.attempts[state])
    assert isinstance(grant, Grant)
    [exchange] = [g for g in zoho.grants if g.get("grant_type") == "authorization_code"]
    assert exchange == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "authorization_code",
                        "code": query["code"], "redirect_uri": ctx.redirect_uri}
    [refresh] = zoho.refresh_tokens - {zoho.credentials["refresh_token"]}
    assert grant.credentials == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": refresh}
    assert grant.settings == {"organization_id": ORG_ID, "data_center": "eu", "auth_url": origin, "base_url": origin}
    assert grant.token is not None and grant.token.access_token in zoho.accepted
    assert grant.token.extra == {"api_domain": "https://www.zohoapis.com"}
    assert zoho.kinds == ["auth", "token", "organizations"]
    registry.get("zoho_inventory").parse_config(grant.credentials, grant.settings)


async def test_several_organizations_are_offered_and_the_pick_is_checked(upstream_client):
    zoho = ZohoInventoryFake()
    zoho.organizations = [OTHER_ORG, *zoho.organizations]
    async with zoho.serve() as origin:
        ctx = Context(zoho_app(origin), upstream_client)
        query, data = await consented(ctx)
        choice = await FLOW.callback(ctx, query, data)
        assert isinstance(choice, Choice) and choice.field == "organization_id"
        assert choice.options == [("20345810", "Second Books Ltd"), (ORG_ID, "Zillium Inc")]
        with pytest.raises(FlowRefused) as refused:
            await FLOW.chosen(ctx, choice.keep, "99999999")  # not offered
        assert refused.value.reason == "invalid_choice" and not refused.value.fail_session
        grant = await FLOW.chosen(ctx, choice.keep, ORG_ID)
    assert grant.settings["organization_id"] == ORG_ID and grant.credentials["refresh_token"].startswith("1000.")
    assert zoho.count("token") == 1  # the choice reuses the exchange


async def test_an_accounts_server_outside_zoho_gets_nothing(upstream_client):
    seen: list[web.Request] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response({"access_token": "stolen", "refresh_token": "stolen"})

    evil = web.Application()
    evil.router.add_route("*", "/{tail:.*}", record)
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin, serve(evil) as evil_origin:
        zoho.accounts_server = evil_origin
        ctx = Context(zoho_app(origin), upstream_client)
        query, data = await consented(ctx)
        assert query["accounts-server"] == evil_origin
        with pytest.raises(FlowRefused) as refused:
            await FLOW.callback(ctx, query, data)
    assert refused.value.reason == "accounts_server" and not refused.value.fail_session
    assert "not Zoho's" in refused.value.message
    assert seen == [] and zoho.kinds == ["auth"]  # the secret went nowhere


@pytest.mark.parametrize(("claimed", "expected"), [
    ("https://accounts.zoho.eu", ("https://accounts.zoho.eu", "eu")),
    ("https://ACCOUNTS.zoho.com.au/", ("https://accounts.zoho.com.au", "com.au")),
    ("https://accounts.zohocloud.ca", ("https://accounts.zohocloud.ca", "ca")),
    (None, ("https://accounts.zoho.in", "in")),  # no multi-DC parameters: the merchant's pick
])
def test_zoho_accounts_servers_decide_the_data_center(claimed, expected):
    app = App("zoho_inventory", CLIENT_ID, CLIENT_SECRET, {})
    assert flow.accounts_server(app, "in", claimed) == expected


@pytest.mark.parametrize("claimed", [
    "https://accounts.zoho.ca",  # Canada is zohocloud.ca
    "https://accounts.zoho.com.evil.example", "http://accounts.zoho.com", "https://accounts.zoho.com@evil.example",
    "https://evil.example/https://accounts.zoho.com", "https://accounts.zoho.uk", "",
])
def test_anything_else_is_refused(claimed):
    app = App("zoho_inventory", CLIENT_ID, CLIENT_SECRET, {})
    with pytest.raises(FlowRefused):
        flow.accounts_server(app, "com", claimed)


async def test_a_code_used_twice_is_zohos_refusal_and_fails_the_session(upstream_client):
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin:
        ctx = Context(zoho_app(origin), upstream_client)
        query, data = await consented(ctx)
        await FLOW.callback(ctx, query, data)
        with pytest.raises(FlowRefused) as refused:
            await FLOW.callback(ctx, query, data)
    assert refused.value.reason == "invalid_code" and refused.value.fail_session
    assert "used already" in refused.value.message
    assert len(zoho.refresh_tokens) == 2  # the replay minted nothing


async def test_a_data_center_that_is_not_zohos_is_refused_before_consent(upstream_client):
    ctx = Context(zoho_app("http://127.0.0.1:9"), upstream_client)
    for typed in ({"data_center": "evil.example"}, {"data_center": ""}, {}):
        with pytest.raises(FlowRefused) as refused:
            await FLOW.begin(ctx, typed)
        assert refused.value.reason == "invalid_data_center" and not refused.value.fail_session
    assert ctx.attempts == {}


async def test_an_account_without_inventory_organizations_is_refused(upstream_client):
    zoho = ZohoInventoryFake()
    zoho.organizations = []
    async with zoho.serve() as origin:
        ctx = Context(zoho_app(origin), upstream_client)
        query, data = await consented(ctx)
        with pytest.raises(FlowRefused) as refused:
            await FLOW.callback(ctx, query, data)
    assert refused.value.reason == "no_organization"
