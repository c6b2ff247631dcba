"""Wix's install flow (proxy/connect/oauth/wix.py) against the Wix fake:
the installer redirect, then the instance confirmed with Wix before any
connection exists. Hostile redirects (a forged or foreign instanceId,
another app, another site) are refused with a reason and store nothing."""

from __future__ import annotations

import urllib.parse

import pytest

from providers import registry
from proxy.connect.oauth import wix as flow
from proxy.connect.oauth.flow import FLOWS, FlowRefused, Grant
from tests.connect.oauth.conftest import RETURN_URL
from tests.connect.oauth.flow_support import (
    App, Context, Install, Secrets, a_callback_after_expiry_stores_nothing, another_browsers_state_is_refused,
    completed_and_read, follow, needs_reauth_and_told, pending, subscribed,
)
from tests.connect.oauth.test_shopify import assert_no_token_in, with_query
from tests.fakes.wix import APP_ID, APP_SECRET, INSTANCE_ID, INSTANCE_SITE, WixFake

FORGED = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"  # a GUID no site installed the app as

FLOW = FLOWS["wix"]


def wix_app(origin: str) -> App:
    return App("wix", APP_ID, APP_SECRET, {"auth_url": origin, "base_url": origin})


async def installed(ctx: Context) -> dict[str, str]:
    """Begin, then the merchant installs on Wix: the callback's query."""
    begin = await FLOW.begin(ctx, {})
    return await follow(begin.url)


async def test_the_installer_redirect_carries_our_state_and_the_confirmed_instance_is_granted(upstream_client):
    wix = WixFake()
    async with wix.serve() as origin:
        ctx = Context(wix_app(origin), upstream_client)
        begin = await FLOW.begin(ctx, {})
        url = urllib.parse.urlsplit(begin.url)
        assert f"{url.scheme}://{url.netloc}{url.path}" == origin + "/installer/install"
        sent = dict(urllib.parse.parse_qsl(url.query))
        [state] = ctx.attempts
        back = f"{ctx.redirect_uri}?state={state}"
        assert sent == {"appId": APP_ID, "postInstallationUrl": back, "redirectUrl": back}
        assert APP_SECRET not in begin.url

        query = await follow(begin.url)
        assert query == {"state": state, "appId": APP_ID, "tenantId": INSTANCE_SITE, "instanceId": INSTANCE_ID}
        grant = await FLOW.callback(ctx, query, ctx.attempts[state])
    assert isinstance(grant, Grant)
    assert grant.credentials == {"client_id": APP_ID, "client_secret": APP_SECRET}
    assert grant.settings == {"instance_id": INSTANCE_ID, "auth_url": origin, "base_url": origin}
    assert grant.token is not None and grant.token.access_token in wix.accepted
    assert wix.grants == [{"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET,
                           "instance_id": INSTANCE_ID}]
    assert wix.kinds == ["install", "token", "token-info"]
    registry.get("wix").parse_config(grant.credentials, grant.settings)  # the provider's own form


async def test_guids_in_capitals_are_the_same_instance(upstream_client):
    wix = WixFake()
    async with wix.serve() as origin:
        ctx = Context(wix_app(origin), upstream_client)
        query = await installed(ctx)
        upper = {**query, "instanceId": INSTANCE_ID.upper(), "tenantId": INSTANCE_SITE.upper()}
        grant = await FLOW.callback(ctx, upper, {})
    assert grant.settings["instance_id"] == INSTANCE_ID


async def test_a_forged_instance_id_wix_does_not_confirm_is_refused(upstream_client):
    wix = WixFake()
    async with wix.serve() as origin:
        ctx = Context(wix_app(origin), upstream_client)
        query = {**await installed(ctx), "instanceId": FORGED}
        with pytest.raises(FlowRefused) as refused:
            await FLOW.callback(ctx, query, {})
    assert refused.value.reason == flow.NOT_CONFIRMED and not refused.value.fail_session
    assert "does not confirm" in refused.value.message
    assert wix.kinds == ["install", "token"] and wix.minted == []


async def test_an_instance_of_another_site_is_refused_when_wix_says_so(upstream_client):
    """The redirect names the site; Wix's token info must name the same."""
    wix = WixFake()
    async with wix.serve() as origin:
        ctx = Context(wix_app(origin), upstream_client)
        query = await installed(ctx)
        wix.token_info_site = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        with pytest.raises(FlowRefused) as refused:
            await FLOW.callback(ctx, query, {})
    assert refused.value.reason == flow.NOT_CONFIRMED and "belongs to the site" in refused.value.message
    assert wix.kinds == ["install", "token", "token-info"]


@pytest.mark.parametrize("change", [
    {"instanceId": "not-a-guid"}, {"instanceId": ""}, {"appId": "another-app"}, {"tenantId": "x' or 1=1"},
])
async def test_a_malformed_or_foreign_redirect_is_refused_before_asking_wix(upstream_client, change):
    wix = WixFake()
    async with wix.serve() as origin:
        ctx = Context(wix_app(origin), upstream_client)
        query = {**await installed(ctx), **change}
        with pytest.raises(FlowRefused) as refused:
            await FLOW.callback(ctx, query, {})
    assert refused.value.reason == flow.NOT_CONFIRMED and not refused.value.fail_session
    assert wix.kinds == ["install"]  # no secret went anywhere


async def test_an_unreachable_wix_is_a_readable_refusal(upstream_client):
    wix = WixFake()
    async with wix.serve() as origin:
        ctx = Context(wix_app(origin), upstream_client)
        query = await installed(ctx)
        wix.answer(503, {"message": ""}, on={"token"}, times=None)
        with pytest.raises(FlowRefused) as refused:
            await FLOW.callback(ctx, query, {})
    assert refused.value.reason == "platform_unreachable" and not refused.value.fail_session


# -- end to end over HTTP: the connect page, Wix's installer, our callback --------------------


async def wix_installed(oauth, origin: str) -> None:
    """The operator's Wix app, its installer and token endpoints at the fake."""
    await oauth.app("wix", APP_ID, APP_SECRET, auth_url=origin, base_url=origin)


async def installer_callback(merchant) -> str:
    """The button, then Wix's installer: the callback URL it sends the browser to."""
    return await merchant.consented("wix", {})


async def test_a_merchant_connects_wix_through_the_installer(oauth):
    wix = WixFake()
    async with wix.serve() as origin, oauth.merchant() as merchant:
        await wix_installed(oauth, origin)
        session = await merchant.open(end_user_id="merchant-7", return_url=RETURN_URL)
        form = await merchant.get("/connect/providers/wix")
        assert "Connect with Wix" in form.text and "or enter your keys" in form.text
        callback = await installer_callback(merchant)
        assert callback.startswith(oauth.callback_url("wix") + "?state=")
        body = await completed_and_read(oauth, merchant, callback, wix)
        assert body["provider"] == "wix" and body["session_id"] == session["id"]
        assert wix.token_requests() == 1  # the confirming token served the read
        assert_no_token_in(merchant.visited, Secrets(wix))
    stored = await oauth.store.get_connection(body["connection_id"])
    assert stored.settings == {"instance_id": INSTANCE_ID, "site_id": None, "auth_url": origin, "base_url": origin}
    assert stored.end_user_id == "merchant-7" and stored.grant_key is None
    assert (await oauth.session_status(session["id"]))["status"] == "completed"


def wix_install() -> Install:
    return Install(WixFake(), wix_installed, installer_callback)


async def test_a_forged_instance_id_stores_nothing_and_says_why(oauth):
    async with pending(oauth, wix_install()) as p:
        callback = await installer_callback(p.merchant)
        forged = await p.merchant.back(with_query(callback, instanceId=FORGED))
        await p.refused(forged, status=400, says="Wix does not confirm this installation")
        replayed = await p.merchant.back(callback)  # the genuine redirect, but its state is spent
        await p.refused(replayed, status=400, says="already used")
        assert p.install.fake.minted == []


async def test_another_browsers_state_is_refused_before_asking_wix(oauth):
    await another_browsers_state_is_refused(oauth, wix_install())


async def test_a_callback_after_the_session_expired_stores_nothing(oauth):
    await a_callback_after_expiry_stores_nothing(oauth, wix_install())


async def test_an_uninstalled_instance_marks_the_connection_and_tells_the_tenant(oauth):
    wix = WixFake()
    async with wix.serve() as origin, oauth.merchant() as merchant:
        await wix_installed(oauth, origin)
        await subscribed(oauth)
        await merchant.open(return_url=RETURN_URL)
        body = await oauth.exchange((await merchant.back(await installer_callback(merchant))).headers["location"])
        wix.revoke_all()
        wix.instances.clear()  # the site removed the app: Wix mints nothing more for it
        refused = await oauth.read_customer(body["connection_token"], wix.ids[0])
        assert refused.status_code == 502 and refused.json()["code"] == "provider_auth_failed", refused.text
    await needs_reauth_and_told(oauth, body["connection_id"])
