"""Shopify's OAuth install (proxy/connect/oauth/shopify.py) end to end over
HTTP, against the Shopify fake's authorization server: from
``POST /connect/sessions`` through the consent redirect and the callback to
a customer read with the exchanged token, no token in any URL the browser
sees. Then the expiring token's life (single-flight refresh, rotation, one
grant shared by the connections to one shop, a refusal marking them all),
and the hostile callbacks, each storing nothing and saying why."""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from typing import AsyncIterator

import pytest

from proxy.connect.oauth import shopify as flow
from tests.connect.conftest import csrf_of
from tests.connect.oauth.conftest import RETURN_URL
from tests.fakes.shopify import SHOP, SHOP_HOST, ShopifyFake, sign
from tests.logtrap import Trap, trap  # noqa: F401 (the fixture)

GRANT = f"shopify:{ShopifyFake().client_id}:{SHOP_HOST}"


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


def with_query(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = {**query_of(url), **changes}
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


async def installed(oauth, fake: ShopifyFake, origin: str) -> None:
    """The operator's Shopify app, its endpoints at the fake."""
    fake.redirect_uri = oauth.callback_url("shopify")
    await oauth.app("shopify", fake.client_id, fake.client_secret, auth_url=origin, base_url=origin)


async def connected(oauth, merchant, fake: ShopifyFake, **session) -> dict:
    """One install walked through; the exchanged connection."""
    await merchant.open(return_url=RETURN_URL, **session)
    done = await merchant.walk("shopify", {"shop": SHOP})
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(RETURN_URL + "?")
    return await oauth.exchange(done.headers["location"])


def assert_no_token_in(urls: list[str], fake: ShopifyFake) -> None:
    assert urls
    for url in urls:
        for secret in fake.secrets():
            assert secret not in url, url


# -- the HMAC, from Shopify's published samples (connect-flows.md A.1.4) --------------------


@pytest.mark.parametrize("query, expected", [
    ({"code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com",
      "state": "0.6784241404160823", "timestamp": "1337178173"},
     "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"),
    ({"code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com", "timestamp": "1337178173"},
     "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"),
])
def test_the_hmac_matches_shopifys_published_vectors(query, expected):
    assert flow.sign(query, "hush") == expected
    signed = {**query, "hmac": expected, "signature": "ignored"}  # both left out of the message
    assert flow.valid_hmac(dict(reversed(list(signed.items()))), "hush")
    assert not flow.valid_hmac(signed, "hush2")
    assert not flow.valid_hmac({**signed, "timestamp": "1337178174"}, "hush")
    assert not flow.valid_hmac({**signed, "hmac": expected.upper()}, "hush")  # Shopify's hex is lower case
    assert not flow.valid_hmac({k: v for k, v in signed.items() if k != "hmac"}, "hush")


@pytest.mark.parametrize("typed, host", [
    ("acme", "acme.myshopify.com"), (" Acme-Store.myshopify.com ", "acme-store.myshopify.com"),
    ("https://acme.myshopify.com/", "acme.myshopify.com"),
])
def test_a_typed_shop_becomes_its_myshopify_host(typed, host):
    assert flow.shop_host(typed) == host


@pytest.mark.parametrize("typed", ["", "acme.example.com", "evil.com/x.myshopify.com", "-acme", "ac_me", "a" * 64])
def test_anything_else_is_refused_on_the_form(typed):
    with pytest.raises(flow.FlowRefused) as refused:
        flow.shop_host(typed)
    assert refused.value.field == "shop" and not refused.value.fail_session


# -- the journey ---------------------------------------------------------------------------


async def test_a_merchant_connects_shopify_through_its_consent_screen(oauth):
    fake = ShopifyFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        session = await merchant.open(end_user_id="merchant-9", return_url=RETURN_URL)
        form = await merchant.get("/connect/providers/shopify")
        assert "Connect with Shopify" in form.text and "or enter your keys" in form.text
        assert 'id="o-shop"' in form.text and 'id="f-access_token"' in form.text  # the key form stays

        started = await merchant.start("shopify", {"shop": f"{SHOP}.myshopify.com"})
        assert started.status_code == 303
        authorize = started.headers["location"]
        assert authorize.startswith(f"{origin}/admin/oauth/authorize?")
        asked = query_of(authorize)
        assert asked["client_id"] == fake.client_id and asked["scope"] == "read_customers"
        assert asked["redirect_uri"] == f"{oauth.connect.harness.runtime.config.public_base}/connect/oauth/shopify/callback"
        assert asked["grant_options[]"] == "" and len(asked["state"]) >= 43  # 256 random bits
        consented = await merchant.consent(authorize)
        assert consented.status_code == 302
        done = await merchant.back(consented.headers["location"])
        assert done.status_code == 303, done.text
        assert done.headers["location"].startswith(RETURN_URL + "?")

        [exchange] = fake.grants
        assert exchange["expiring"] == 1 and exchange["code"] == query_of(consented.headers["location"])["code"]
        assert (exchange["client_id"], exchange["client_secret"]) == (fake.client_id, fake.client_secret)
        body = await oauth.exchange(done.headers["location"])
        assert body["provider"] == "shopify" and body["end_user_id"] == "merchant-9"
        assert body["session_id"] == session["id"]
        read = await oauth.read_customer(body["connection_token"], fake.ids[0])
        assert read.status_code == 200, read.text
        assert read.json()["id"] == fake.ids[0]
        assert fake.token_requests() == 1  # the exchange's token served the read: no refresh
        assert_no_token_in(merchant.visited, fake)

    stored = await oauth.store.get_connection(body["connection_id"])
    assert stored.grant_key == GRANT and stored.end_user_id == "merchant-9"
    assert stored.settings["shop"] == SHOP and stored.settings["auth_url"] == origin
    assert (await oauth.session_status(session["id"]))["status"] == "completed"
    assert await oauth.connect.rows("oauth_grants") == 1


async def test_no_app_no_button_and_no_start(oauth):
    async with oauth.merchant() as merchant:
        await merchant.open(return_url=RETURN_URL)
        form = await merchant.get("/connect/providers/shopify")
        assert form.status_code == 200 and "Connect with Shopify" not in form.text
        started = await merchant.start("shopify", {"shop": SHOP}, csrf=csrf_of(form.text))
        assert started.status_code == 404 and "not available" in started.text


async def test_a_tenants_own_app_wins_over_the_operators(oauth):
    fake = ShopifyFake(client_id="tenant-own-app", client_secret="tenant-own-secret")
    async with fake.serve() as origin, oauth.merchant() as merchant:
        fake.redirect_uri = oauth.callback_url("shopify")
        await oauth.app("shopify", "operator-app", "operator-secret", auth_url=origin, base_url=origin)
        await oauth.app("shopify", fake.client_id, fake.client_secret, tenant=oauth.tenant,
                        auth_url=origin, base_url=origin)
        body = await connected(oauth, merchant, fake)
    stored = await oauth.store.get_connection(body["connection_id"])
    assert stored.grant_key == f"shopify:tenant-own-app:{SHOP_HOST}"


async def test_a_non_expiring_answer_is_stored_as_an_access_token(oauth):
    fake = ShopifyFake()
    fake.expiring_offered = False  # an app exempt from expiring tokens
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        body = await connected(oauth, merchant, fake)
        read = await oauth.read_customer(body["connection_token"], fake.ids[0])
        assert read.status_code == 200
        assert fake.token_requests() == 1 and fake.issued_refresh == []


# -- the token's life -----------------------------------------------------------------------


async def test_the_expiring_token_refreshes_once_for_a_burst_and_rotates(oauth):
    fake = ShopifyFake(expires_in=60)  # inside the refresh margin: the first read refreshes
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        body = await connected(oauth, merchant, fake)
        fake.expires_in = 3600
        token = body["connection_token"]
        reads = await asyncio.gather(*(oauth.read_customer(token, fake.ids[i]) for i in range(6)))
        assert [r.status_code for r in reads] == [200] * 6
        refreshes = [g for g in fake.grants if g.get("grant_type") == "refresh_token"]
        assert len(refreshes) == 1  # single flight
        assert refreshes[0]["refresh_token"] == fake.issued_refresh[0]
        # Revoked before its expiry: a 401 refreshes once more, with the rotated refresh token.
        fake.revoke_all()
        again = await oauth.read_customer(token, fake.ids[0])
        assert again.status_code == 200, again.text
        refreshes = [g for g in fake.grants if g.get("grant_type") == "refresh_token"]
        assert [g["refresh_token"] for g in refreshes] == fake.issued_refresh[:2]


async def test_two_connections_to_one_shop_share_one_grant(oauth):
    fake = ShopifyFake()
    async with fake.serve() as origin:
        await installed(oauth, fake, origin)
        async with oauth.merchant() as first_browser:
            first = await connected(oauth, first_browser, fake, end_user_id="merchant-1")
        assert (await oauth.read_customer(first["connection_token"], fake.ids[0])).status_code == 200
        async with oauth.merchant() as second_browser:
            second = await connected(oauth, second_browser, fake, end_user_id="merchant-2")
        # The second grant revoked the first's token at Shopify; the shared
        # token was replaced in place, so the first connection reads on.
        assert len(fake.accepted) == 1
        for body in (first, second):
            read = await oauth.read_customer(body["connection_token"], fake.ids[1])
            assert read.status_code == 200, read.text
        assert fake.token_requests() == 2  # the two exchanges, no refresh
    sharing = await oauth.store.connections_with_grant(GRANT)
    assert {c.id for c in sharing} == {first["connection_id"], second["connection_id"]}
    assert await oauth.connect.rows("oauth_grants") == 1


async def test_a_refused_refresh_marks_every_sharing_connection_and_tells_the_tenant(oauth):
    fake = ShopifyFake()
    patched = await oauth.connect.api.patch("/tenant", json={"webhook_url": "http://127.0.0.1:9/hooks"},
                                            headers={"x-api-key": oauth.tenant.api_key})
    assert patched.status_code == 200, patched.text
    async with fake.serve() as origin:
        await installed(oauth, fake, origin)
        bodies = []
        for n in range(2):
            async with oauth.merchant() as browser:
                bodies.append(await connected(oauth, browser, fake, end_user_id=f"merchant-{n}"))
        fake.revoke_all()
        fake.refresh_tokens.clear()  # the merchant uninstalled the app
        refused = await oauth.read_customer(bodies[0]["connection_token"], fake.ids[0])
        assert refused.status_code in (401, 502) and refused.json()["code"] in (
            "reauth_required", "provider_auth_failed"), refused.text
    for body in bodies:
        assert (await oauth.store.get_connection(body["connection_id"])).status == "needs_reauth"
    events = [e for e in await oauth.store.list_webhook_events(oauth.tenant.id) if e.type == "connection.auth_failed"]
    assert len(events) == 2  # one per connection, once
    for body in bodies:
        assert any(body["connection_id"] in event.payload for event in events)


async def test_a_reconnect_replaces_the_grant_in_place(oauth):
    fake = ShopifyFake()
    async with fake.serve() as origin:
        await installed(oauth, fake, origin)
        async with oauth.merchant() as browser:
            first = await connected(oauth, browser, fake)
        fake.revoke_all()
        fake.refresh_tokens.clear()
        broken = await oauth.read_customer(first["connection_token"], fake.ids[0])
        assert broken.status_code != 200
        assert (await oauth.store.get_connection(first["connection_id"])).status == "needs_reauth"
        async with oauth.merchant() as browser:
            again = await connected(oauth, browser, fake, connection_id=first["connection_id"])
        assert again["connection_id"] == first["connection_id"] and again["connection_token"] is None
        read = await oauth.read_customer(first["connection_token"], fake.ids[0])  # the same token
        assert read.status_code == 200, read.text
    assert (await oauth.store.get_connection(first["connection_id"])).status == "active"
    assert await oauth.connect.rows("connections") == 1


# -- hostile and refused callbacks -------------------------------------------------------------


class Scene:
    """An installed app, a merchant with an open session, and what was
    stored before the hostile step (a refusal must add nothing)."""

    def __init__(self, oauth, fake: ShopifyFake, merchant, session: dict, before: dict) -> None:
        self.oauth, self.fake, self.merchant, self.session, self.before = oauth, fake, merchant, session, before

    async def callback(self) -> str:
        """Start and consent: the callback URL Shopify sends the browser to."""
        return await self.merchant.consented("shopify", {"shop": SHOP})

    async def refused(self, response, *, status: int, says: str, session: str = "pending") -> None:
        assert response.status_code == status, response.text
        assert says in response.text
        assert response.headers["content-type"].startswith("text/html")
        assert await self.oauth.stored() == self.before
        assert (await self.oauth.session_status(self.session["id"]))["status"] == session
        assert_no_token_in([str(response.request.url)], self.fake)


@contextlib.asynccontextmanager
async def scene(oauth) -> AsyncIterator[Scene]:
    fake = ShopifyFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        session = await merchant.open(return_url=RETURN_URL)
        yield Scene(oauth, fake, merchant, session, await oauth.stored())


async def test_a_callback_not_signed_with_the_app_secret_is_refused(oauth):
    async with scene(oauth) as s:
        s.fake.sign_with = "not-the-app-secret"
        await s.refused(await s.merchant.back(await s.callback()), status=400, says="not signed by Shopify")
        assert s.fake.token_requests() == 0  # the code was never sent anywhere


async def test_a_tampered_parameter_breaks_the_hmac_and_a_replayed_state_finds_nothing(oauth):
    async with scene(oauth) as s:
        callback = await s.callback()
        tampered = await s.merchant.back(with_query(callback, timestamp=str(int(time.time()) + 1)))
        await s.refused(tampered, status=400, says="not signed by Shopify")
        replayed = await s.merchant.back(callback)  # the state was spent by the first
        await s.refused(replayed, status=400, says="already used")
        unknown = await s.merchant.back(with_query(callback, state="x" * 43))
        await s.refused(unknown, status=400, says="already used")
        assert s.fake.token_requests() == 0


async def test_another_browsers_state_is_refused(oauth):
    async with scene(oauth) as s, oauth.merchant() as attacker:
        theirs = await attacker.open(end_user_id="attacker", return_url=RETURN_URL)
        callback = await attacker.consented("shopify", {"shop": SHOP})
        # A login CSRF: the attacker's store into our merchant's session.
        await s.refused(await s.merchant.back(callback), status=403, says="did not start in this browser")
        assert (await oauth.session_status(theirs["id"]))["status"] == "pending"
        assert s.fake.token_requests() == 0


async def test_a_shop_outside_myshopify_com_is_refused(oauth):
    async with scene(oauth) as s:
        typed = await s.merchant.start("shopify", {"shop": "evil.example.com"})
        assert typed.status_code == 422 and "myshopify.com address" in typed.text
        assert 'aria-invalid="true"' in typed.text and s.fake.authorizations == []
        s.fake.shop = "evil.example.com"  # signed with the app's secret all the same
        await s.refused(await s.merchant.back(await s.callback()), status=400, says="another store")
        s.fake.shop = "other-store.myshopify.com"  # a real shop, not the one typed
        await s.refused(await s.merchant.back(await s.callback()), status=400, says="another store")
        assert s.fake.token_requests() == 0


async def test_an_old_timestamp_is_refused(oauth):
    async with scene(oauth) as s:
        callback = query_of(await s.callback())
        callback["timestamp"] = str(int(time.time()) - 3600)
        callback["hmac"] = sign(callback, s.fake.client_secret)
        response = await s.merchant.back(f"{oauth.callback_url('shopify')}?{urllib.parse.urlencode(callback)}")
        await s.refused(response, status=400, says="too old")


async def test_a_callback_after_the_session_expired_stores_nothing(oauth):
    async with scene(oauth) as s:
        callback = await s.callback()
        await oauth.connect.expire(s.session["id"])
        await s.refused(await s.merchant.back(callback), status=410, says="expired", session="expired")
        assert s.fake.token_requests() == 0


async def test_a_code_used_before_fails_the_session_with_the_reason(oauth):
    async with scene(oauth) as s:
        callback = await s.callback()
        s.fake.codes[query_of(callback)["code"]] = True  # someone exchanged it first
        await s.refused(await s.merchant.back(callback), status=400, says="Shopify refused the sign-in",
                        session="failed")
        assert (await oauth.session_status(s.session["id"]))["error"] == "invalid_code"


async def test_the_merchant_declining_fails_the_session_and_says_so(oauth):
    async with scene(oauth) as s:
        s.fake.consent = "deny"
        await s.refused(await s.merchant.back(await s.callback()), status=400,
                        says="You did not allow access on Shopify", session="failed")
        assert (await oauth.session_status(s.session["id"]))["error"] == "access_denied"
        assert s.fake.token_requests() == 0


async def test_start_needs_the_forms_csrf_token_and_only_the_flows_inputs(oauth):
    fake = ShopifyFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        await merchant.open(return_url=RETURN_URL)
        forged = await merchant.start("shopify", {"shop": SHOP}, csrf="forged")
        assert forged.status_code == 403
        extra = await merchant.start("shopify", {"shop": SHOP, "access_token": "shpat_x"})
        assert extra.status_code == 400
        assert fake.authorizations == [] and await oauth.connect.rows("connect_attempts") == 0


async def test_the_install_logs_no_secret(oauth, trap: Trap):  # noqa: F811
    fake = ShopifyFake(expires_in=60)  # the first read refreshes: that path logs too
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        body = await connected(oauth, merchant, fake)
        fake.expires_in = 3600
        assert (await oauth.read_customer(body["connection_token"], fake.ids[0])).status_code == 200
        fake.consent = "deny"
        await merchant.open(return_url=RETURN_URL)
        assert (await merchant.walk("shopify", {"shop": SHOP})).status_code == 400
    values = [*fake.secrets(), *fake.codes, body["connection_token"]]
    values += [query_of(url)["state"] for url in merchant.visited if "state=" in url]
    # Three renderings per record (tests/logtrap.py); httpx/httpcore are the test's own browser.
    ours = [text for i, record in enumerate(trap.records) if not record.name.startswith(("httpx", "httpcore"))
            for text in trap.texts[3 * i:3 * i + 3]]
    assert len(ours) >= 8
    leaks = [line for line in ours if any(v in line for v in values)]
    assert leaks == [], leaks[:2]


async def test_a_reconnect_with_typed_keys_leaves_the_grant(oauth):
    fake = ShopifyFake()
    async with fake.serve() as origin:
        await installed(oauth, fake, origin)
        async with oauth.merchant() as browser:
            first = await connected(oauth, browser, fake)
        async with oauth.merchant() as browser:
            await browser.open(return_url=RETURN_URL, connection_id=first["connection_id"])
            typed = await browser.submit("shopify", {"shop": SHOP, "base_url": origin, **fake.credentials})
            assert typed.status_code == 303, typed.text
        stored = await oauth.store.get_connection(first["connection_id"])
        assert stored.grant_key is None  # its token is its own again, not the grant's
        read = await oauth.read_customer(first["connection_token"], fake.ids[0])
        assert read.status_code == 200, read.text
