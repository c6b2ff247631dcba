"""Zoho Inventory's authorization-code flow (proxy/connect/oauth/zoho_inventory.py)
against the Zoho fake: consent on the picked data centre, the accounts
server allow-listed before the client secret goes anywhere, the code
exchanged once, the organisation taken or chosen. Refusals say why."""

from __future__ import annotations

import html
import re
import urllib.parse

import pytest
from aiohttp import web

from providers import registry
from proxy.connect.oauth import zoho_inventory as flow
from proxy.connect.oauth.flow import FLOWS, Choice, FlowRefused, Grant
from tests.connect.oauth.conftest import RETURN_URL
from tests.connect.oauth.flow_support import (
    App, Context, Install, Secrets, a_callback_after_expiry_stores_nothing, another_browsers_state_is_refused,
    completed_and_read, follow, needs_reauth_and_told, pending, subscribed,
)
from tests.connect.oauth.test_shopify import assert_no_token_in
from tests.connect.test_no_secrets_logged import _rendered
from tests.logtrap import Trap, trap  # noqa: F401 (the fixture)
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
    [refresh] = zoho.refresh_tokens
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
    assert len(zoho.refresh_tokens) == 1  # the replay minted nothing


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


# -- end to end over HTTP: the connect page, Zoho's consent, our callback --------------------


async def zoho_installed(oauth, origin: str) -> None:
    """The operator's Zoho app (default scopes), its accounts and API at the fake."""
    await oauth.app("zoho_inventory", CLIENT_ID, CLIENT_SECRET, auth_url=origin, base_url=origin)


async def zoho_callback(merchant, dc: str = "eu") -> str:
    """The button with the data centre, then Zoho's consent: our callback URL."""
    return await merchant.consented("zoho_inventory", {"data_center": dc})


def choice_form(page: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return {name: html.unescape(value) for name, value in fields.items()}


async def test_a_merchant_connects_zoho_inventory_through_its_consent_screen(oauth):
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin, oauth.merchant() as merchant:
        await zoho_installed(oauth, origin)
        session = await merchant.open(end_user_id="merchant-3", return_url=RETURN_URL)
        form = await merchant.get("/connect/providers/zoho_inventory")
        assert "Connect with Zoho Inventory" in form.text and "or enter your keys" in form.text
        callback = await zoho_callback(merchant)
        asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(merchant.visited[1]).query))
        assert asked["redirect_uri"] == oauth.callback_url("zoho_inventory")
        assert asked["scope"] == "ZohoInventory.contacts.READ,ZohoInventory.settings.READ"
        body = await completed_and_read(oauth, merchant, callback, zoho)
        assert body["provider"] == "zoho_inventory" and body["session_id"] == session["id"]
        assert zoho.token_requests() == 1  # the exchange's token served the read: no refresh yet
        assert_no_token_in(merchant.visited, Secrets(zoho))
    stored = await oauth.store.get_connection(body["connection_id"])
    assert stored.settings == {"organization_id": ORG_ID, "data_center": "eu", "auth_url": origin, "base_url": origin}
    assert stored.end_user_id == "merchant-3" and stored.grant_key is None
    assert (await oauth.session_status(session["id"]))["status"] == "completed"


async def test_the_merchant_picks_one_of_several_organizations(oauth):
    zoho = ZohoInventoryFake()
    zoho.organizations = [OTHER_ORG, *zoho.organizations]
    async with zoho.serve() as origin, oauth.merchant() as merchant:
        await zoho_installed(oauth, origin)
        await merchant.open(return_url=RETURN_URL)
        page = await merchant.back(await zoho_callback(merchant))
        assert page.status_code == 200, page.text
        assert "Second Books Ltd" in page.text and "Zillium Inc" in page.text
        assert await oauth.connect.rows("connections") == 0
        fields = {**choice_form(page.text), "choice": ORG_ID}
        chosen = await merchant.client.post("/connect/oauth/zoho_inventory/choose",
                                            content=urllib.parse.urlencode(fields),
                                            headers={"content-type": "application/x-www-form-urlencoded"})
        assert chosen.status_code == 303, chosen.text
        body = await oauth.exchange(chosen.headers["location"])
        read = await oauth.read_customer(body["connection_token"], zoho.ids[0])
        assert read.status_code == 200, read.text
        assert_no_token_in([*merchant.visited, str(chosen.request.url), chosen.headers["location"]], Secrets(zoho))
    assert (await oauth.store.get_connection(body["connection_id"])).settings["organization_id"] == ORG_ID


def zoho_install(fake: ZohoInventoryFake | None = None) -> Install:
    return Install(fake or ZohoInventoryFake(), zoho_installed, zoho_callback)


async def test_an_accounts_server_outside_zoho_gets_no_secret_and_nothing_is_stored(oauth):
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.path_qs + (await request.text()))
        return web.json_response({"access_token": "stolen", "refresh_token": "stolen"})

    evil = web.Application()
    evil.router.add_route("*", "/{tail:.*}", record)
    async with serve(evil) as evil_origin, pending(oauth, zoho_install()) as p:
        p.install.fake.accounts_server = evil_origin
        response = await p.merchant.back(await zoho_callback(p.merchant))
        await p.refused(response, status=400, says="not Zoho&#39;s")
        assert seen == [] and p.install.fake.token_requests() == 0


async def test_a_code_used_before_fails_the_session_with_zohos_reason(oauth):
    async with pending(oauth, zoho_install()) as p:
        callback = await zoho_callback(p.merchant)
        code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))["code"]
        p.install.fake.codes.pop(code)  # someone exchanged it first
        p.install.fake.used_codes.add(code)
        await p.refused(await p.merchant.back(callback), status=400, says="used already", session="failed")
        assert (await oauth.session_status(p.session["id"]))["error"] == "invalid_code"
        replayed = await p.merchant.back(callback)
        assert replayed.status_code in (400, 410) and await oauth.stored() == p.before


async def test_a_replayed_callback_after_success_finds_nothing(oauth):
    async with pending(oauth, zoho_install()) as p:
        callback = await zoho_callback(p.merchant)
        assert (await p.merchant.back(callback)).status_code == 303
        before = await oauth.stored()
        replayed = await p.merchant.back(callback)
        assert replayed.status_code in (400, 410) and await oauth.stored() == before
        assert p.install.fake.token_requests() == 1  # the code never went to Zoho twice


async def test_another_browsers_state_is_refused(oauth):
    await another_browsers_state_is_refused(oauth, zoho_install())


async def test_the_merchant_declining_fails_the_session_and_says_so(oauth):
    zoho = ZohoInventoryFake()
    zoho.consent_error = "access_denied"
    async with pending(oauth, zoho_install(zoho)) as p:
        response = await p.merchant.back(await zoho_callback(p.merchant))
        await p.refused(response, status=400, says="You did not allow access on Zoho Inventory", session="failed")
        assert (await oauth.session_status(p.session["id"]))["error"] == "access_denied"
        assert zoho.token_requests() == 0


async def test_a_callback_after_the_session_expired_stores_nothing(oauth):
    await a_callback_after_expiry_stores_nothing(oauth, zoho_install())


async def test_a_data_center_typed_wrong_comes_back_on_the_form(oauth):
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin, oauth.merchant() as merchant:
        await zoho_installed(oauth, origin)
        await merchant.open(return_url=RETURN_URL)
        typed = await merchant.start("zoho_inventory", {"data_center": "evil.example"})
        assert typed.status_code == 422 and "Pick your Zoho data centre" in typed.text
        assert zoho.kinds == []


async def test_a_refused_refresh_marks_the_connection_and_tells_the_tenant(oauth):
    zoho = ZohoInventoryFake(expires_in=60)  # inside the refresh margin: the first read refreshes
    async with zoho.serve() as origin, oauth.merchant() as merchant:
        await zoho_installed(oauth, origin)
        await subscribed(oauth)
        await merchant.open(return_url=RETURN_URL)
        body = await oauth.exchange((await merchant.back(await zoho_callback(merchant))).headers["location"])
        zoho.revoke_all()
        zoho.refresh_tokens.clear()  # the merchant revoked shoprelay's access in Zoho
        refused = await oauth.read_customer(body["connection_token"], zoho.ids[0])
        assert refused.status_code == 502 and refused.json()["code"] == "provider_auth_failed", refused.text
        [refresh] = [g for g in zoho.grants if g.get("grant_type") == "refresh_token"]
        assert refresh["refresh_token"].startswith("1000.refresh")  # the exchange's, not a configured one
    await needs_reauth_and_told(oauth, body["connection_id"])


async def test_the_flow_logs_no_secret(oauth, trap: Trap):  # noqa: F811
    zoho = ZohoInventoryFake()
    zoho.organizations = [OTHER_ORG, *zoho.organizations]  # through the choice page too
    async with zoho.serve() as origin, oauth.merchant() as merchant:
        await zoho_installed(oauth, origin)
        await merchant.open(return_url=RETURN_URL)
        callback = await zoho_callback(merchant)
        page = await merchant.back(callback)
        fields = {**choice_form(page.text), "choice": ORG_ID}
        chosen = await merchant.client.post("/connect/oauth/zoho_inventory/choose",
                                            content=urllib.parse.urlencode(fields),
                                            headers={"content-type": "application/x-www-form-urlencoded"})
        body = await oauth.exchange(chosen.headers["location"])
        assert (await oauth.read_customer(body["connection_token"], zoho.ids[0])).status_code == 200
    sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    values = [CLIENT_SECRET, *zoho.secrets(), sent["code"], sent["state"], fields["state"], body["connection_token"]]
    values = [v for v in values if v != CLIENT_ID]
    # httpx/httpcore are the test's own browser, which logs the URLs it is sent to.
    ours = [text for record, *texts in _rendered(trap) if not record.name.startswith(("httpx", "httpcore"))
            for text in texts]
    assert len(trap.access()) >= 5
    leaks = [line for line in ours if any(v in line for v in values)]
    assert leaks == [], leaks[:2]


async def test_a_reconnect_replaces_the_refresh_token_in_place(oauth):
    zoho = ZohoInventoryFake()
    async with zoho.serve() as origin:
        await zoho_installed(oauth, origin)
        async with oauth.merchant() as merchant:
            await merchant.open(return_url=RETURN_URL)
            first = await oauth.exchange((await merchant.back(await zoho_callback(merchant))).headers["location"])
        zoho.revoke_all()
        zoho.refresh_tokens.clear()  # the merchant revoked the first grant in Zoho
        broken = await oauth.read_customer(first["connection_token"], zoho.ids[0])
        assert broken.status_code == 502, broken.text
        async with oauth.merchant() as merchant:
            await merchant.open(return_url=RETURN_URL, connection_id=first["connection_id"])
            again = await oauth.exchange((await merchant.back(await zoho_callback(merchant))).headers["location"])
        assert again["connection_id"] == first["connection_id"] and again["connection_token"] is None
        read = await oauth.read_customer(first["connection_token"], zoho.ids[0])  # the same token
        assert read.status_code == 200, read.text
    assert (await oauth.store.get_connection(first["connection_id"])).status == "active"
    assert await oauth.connect.rows("connections") == 1
