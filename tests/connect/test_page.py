"""The hosted page over HTTP: the link, the cookie, the forms, the exchange,
and every hostile case of issue 14 leaving nothing stored."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from typing import AsyncIterator

import pytest
from aiohttp import web

from proxy.connect import page, sessions
from tests.connect.conftest import BASE, RETURN_URL, code_of, csrf_of
from tests.support import load_fixture, serve

PAST = "2000-01-01T00:00:00.000Z"
KEY, SECRET = "ck_" + "a1" * 20, "cs_" + "b2" * 20
WRONG_KEY = "ck_" + "c3" * 20


@contextlib.asynccontextmanager
async def woocommerce() -> AsyncIterator[str]:
    """A WooCommerce store on 127.0.0.1 that knows KEY:SECRET only."""
    expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()

    async def customers(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected:
            return web.json_response(load_fixture("woocommerce", "error-401.consumer-key-invalid.json"), status=401)
        return web.json_response([load_fixture("woocommerce", "customer.json")], headers={"X-WP-Total": "1"})

    async def customer(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected:
            return web.json_response(load_fixture("woocommerce", "error-401.consumer-key-invalid.json"), status=401)
        return web.json_response({**load_fixture("woocommerce", "customer.json"), "id": int(request.match_info["id"])})

    app = web.Application()
    app.router.add_get("/wp-json/wc/v3/customers", customers)
    app.router.add_get("/wp-json/wc/v3/customers/{id}", customer)
    async with serve(app) as origin:
        yield origin


async def connections(connect, tenant) -> list:
    return await connect.store.list_connections(tenant.id)


def assert_page_headers(response, frame_ancestors: str = "https://app.example.com") -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'self';") and csp.endswith(f"frame-ancestors {frame_ancestors}")


# -- the happy path ----------------------------------------------------------------------


async def test_the_link_becomes_a_cookie_and_leaves_the_address_bar(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant)
    async with connect.browser() as browser:
        response = await browser.open(session["connect_url"])
        assert response.status_code == 303 and response.headers["location"] == "/connect"
        assert_page_headers(response)
        cookie = response.headers["set-cookie"]
        token = session["connect_url"].split("token=")[1]
        assert cookie.startswith(f"{page.COOKIE}={token};")
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert {"httponly", "path", "samesite", "max-age"} <= set(attributes)
        assert attributes["path"] == "Path=/connect" and attributes["samesite"].lower() == "samesite=lax"
        assert "secure" not in attributes  # plain http here; see the https test
        picker = await browser.get("/connect")
        assert picker.status_code == 200 and picker.headers["content-type"].startswith("text/html")
        assert_page_headers(picker)
        assert "<p class=\"tenant\">Acme Reviews</p>" in picker.text
        assert token not in picker.text
        for name in ("woocommerce", "shopify", "bigcommerce", "wix", "commerce7", "zoho_inventory", "magento",
                     "prestashop", "shopware", "ecwid", "squarespace", "square",
                     "sandbox"):
            assert f'href="/connect/providers/{name}"' in picker.text


async def test_the_cookie_is_secure_under_https(tmp_path):
    from tests.harness import running_app

    async with running_app(tmp_path, public_url="https://relay.example.com") as harness:
        tenant = await harness.tenant()
        created = await harness.client.post("/connect/sessions", json={"end_user_id": "m"},
                                            headers={"x-api-key": tenant.api_key})
        url = created.json()["connect_url"]
        assert url.startswith("https://relay.example.com/connect/start?token=")
        response = await harness.client.get(url.removeprefix("https://relay.example.com"))
        assert response.status_code == 303
        assert "secure" in [p.strip().lower() for p in response.headers["set-cookie"].split(";")]


async def test_sandbox_end_to_end_with_return_url_exchange_and_a_read(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant, end_user_id="shop-9", tags={"plan": "pro"}, return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        done = await browser.submit("sandbox", {"size": "12", "seed": "demo"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(RETURN_URL + "?connect_code=cc_")
    code, session_id = code_of(done.headers["location"])
    assert session_id == session["id"]
    status = (await connect.status(tenant, session["id"])).json()
    assert status["status"] == "completed" and status["provider"] == "sandbox"
    stored = await connect.store.get_connection(status["connection_id"])
    assert stored.end_user_id == "shop-9" and stored.tags == {"plan": "pro"}
    assert stored.settings["size"] == 12 and stored.settings["seed"] == "demo"
    exchanged = await connect.exchange(tenant, code)
    assert exchanged.status_code == 200
    body = exchanged.json()
    assert body == {"connection_id": status["connection_id"], "connection_token": body["connection_token"],
                    "provider": "sandbox", "end_user_id": "shop-9", "session_id": session["id"]}
    customer = await connect.harness.get_customer(tenant, body["connection_token"], "3")
    assert customer.status_code == 200 and customer.json()["id"] == "3"
    # One use: the same code again, like every other failure, is invalid_connect_code.
    again = await connect.exchange(tenant, code)
    assert again.status_code == 400 and again.json()["code"] == "invalid_connect_code"


async def test_without_a_return_url_the_page_hands_the_code_to_the_opener_only(connect):
    tenant = await connect.tenant(return_urls=[RETURN_URL, "http://127.0.0.1:3000/cb"])
    session = await connect.session(tenant, providers=["sandbox"])
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        first = await browser.get("/connect")  # one platform offered: straight to its form
        assert first.status_code == 303 and first.headers["location"] == "/connect/providers/sandbox"
        done = await browser.submit("sandbox", {})
    assert done.status_code == 200 and "You can close this window" in done.text
    assert_page_headers(done, "http://127.0.0.1:3000 https://app.example.com")
    handoff = json.loads(re.search(r'<script type="application/json" id="shoprelay-connect">(.*?)</script>',
                                   done.text, re.S).group(1))
    assert handoff["origins"] == ["http://127.0.0.1:3000", "https://app.example.com"]
    message = handoff["message"]
    assert set(message) == {"type", "session_id", "connect_code"} and message["type"] == "shoprelay.connect"
    assert '<script src="/connect/assets/connected.js"></script>' in done.text
    script = await connect.api.get("/connect/assets/connected.js")
    assert script.status_code == 200 and "postMessage(handoff.message, origin)" in script.text
    assert (await connect.exchange(tenant, message["connect_code"])).status_code == 200


async def test_with_no_return_urls_the_page_may_not_be_framed(connect):
    tenant = await connect.tenant(return_urls=[])
    session = await connect.session(tenant)
    async with connect.browser() as browser:
        response = await browser.open(session["connect_url"])
        assert_page_headers(response, "'none'")
        assert_page_headers(await browser.get("/connect"), "'none'")


async def test_a_refused_key_brings_the_form_back_with_the_platforms_reason(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant, providers=["woocommerce", "shopify"], return_url=RETURN_URL)
    async with woocommerce() as store, connect.browser() as browser:
        await browser.open(session["connect_url"])
        refused = await browser.submit("woocommerce", {
            "store_url": store, "consumer_key": WRONG_KEY, "consumer_secret": SECRET,
        })
        assert refused.status_code == 422
        assert_page_headers(refused)
        assert "Consumer key is invalid." in refused.text and 'role="alert"' in refused.text
        # The non-secret input is kept; no secret typed comes back.
        assert f'value="{store}"' in refused.text
        assert WRONG_KEY not in refused.text and SECRET not in refused.text
        # Focus moves to the keys, which must be typed again.
        assert re.search(r'id="f-consumer_key"[^>]*autofocus', refused.text)
        assert await connections(connect, tenant) == []
        accepted = await browser.submit("woocommerce", {
            "store_url": store, "consumer_key": KEY, "consumer_secret": SECRET,
        })
        assert accepted.status_code == 303
    code, _ = code_of(accepted.headers["location"])
    token = (await connect.exchange(tenant, code)).json()["connection_token"]
    [stored] = await connections(connect, tenant)
    assert stored.provider == "woocommerce" and stored.settings["store_url"] == store
    assert token.startswith("ct_")


async def test_a_malformed_value_names_its_field_and_focuses_it(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        bad = await browser.submit("woocommerce", {
            "store_url": "https://shop.example.com/wp-json", "consumer_key": KEY, "consumer_secret": SECRET,
        })
        assert bad.status_code == 422
        assert "store_url must be the WordPress site URL" in bad.text
        assert re.search(r'id="f-store_url"[^>]*aria-invalid="true"[^>]*autofocus', bad.text)
        assert 'href="#f-store_url"' in bad.text
        missing = await browser.submit("woocommerce", {"store_url": "https://shop.example.com"})
        assert missing.status_code == 422 and "Consumer key is required" in missing.text
        assert re.search(r'id="f-consumer_key"[^>]*autofocus', missing.text)
    assert await connections(connect, tenant) == []


async def test_a_reconnect_replaces_the_credentials_keeping_id_and_token(connect):
    tenant = await connect.tenant()
    async with woocommerce() as store:
        connection_id, token = await connect.harness.connection(
            tenant, "woocommerce", {"consumer_key": WRONG_KEY, "consumer_secret": SECRET}, {"store_url": store})
        before = await connect.harness.get_customer(tenant, token, "1")
        assert before.status_code == 502  # the stored key is refused
        session = await connect.session(tenant, connection_id=connection_id, return_url=RETURN_URL)
        async with connect.browser() as browser:
            await browser.open(session["connect_url"])
            form = await browser.get("/connect/providers/woocommerce")
            assert "Reconnect your WooCommerce store" in form.text
            assert f'value="{store}"' in form.text  # the settings, never the secrets
            assert WRONG_KEY not in form.text and SECRET not in form.text
            done = await browser.submit("woocommerce", {
                "store_url": store, "consumer_key": KEY, "consumer_secret": SECRET})
        code, _ = code_of(done.headers["location"])
        exchanged = (await connect.exchange(tenant, code)).json()
        assert exchanged["connection_id"] == connection_id and exchanged["connection_token"] is None
        after = await connect.harness.get_customer(tenant, token, "1")
        assert after.status_code == 200  # same token, new credentials
    assert [c.id for c in await connections(connect, tenant)] == [connection_id]


# -- hostile cases: each leaves nothing stored ----------------------------------------------


async def test_an_expired_session_shows_a_page_and_stores_nothing(connect, monkeypatch):
    tenant = await connect.tenant()
    live = await connect.session(tenant)
    monkeypatch.setattr(sessions, "text_after", lambda seconds: PAST)
    expired = await connect.session(tenant)
    async with connect.browser() as browser:
        response = await browser.open(expired["connect_url"])
        assert response.status_code == 410 and "This link has expired" in response.text
        assert "set-cookie" not in response.headers
        assert_page_headers(response)
    # A browser that opened the session before it expired: the form is gone too.
    async with connect.browser() as browser:
        await browser.open(live["connect_url"])
        token = await browser.csrf("sandbox")
        await connect.expire(live["id"])
        for response in (await browser.get("/connect"), await browser.get("/connect/providers/sandbox"),
                         await browser.post("sandbox", {"csrf_token": token})):
            assert response.status_code == 410 and "This link has expired" in response.text
    assert await connections(connect, tenant) == []
    assert (await connect.store.get_connect_session(live["id"])).attempts == 0


async def test_a_used_session_shows_a_page_and_stores_nothing_more(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant, return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        token = await browser.csrf("sandbox")
        assert (await browser.post("sandbox", {"csrf_token": token})).status_code == 303
        again = await browser.post("sandbox", {"csrf_token": token})
        assert again.status_code == 410 and "already used" in again.text
    async with connect.browser() as other:
        reopened = await other.open(session["connect_url"])
        assert reopened.status_code == 410 and "set-cookie" not in reopened.headers
    assert len(await connections(connect, tenant)) == 1


async def test_two_submissions_racing_store_one_connection(connect):
    import asyncio

    tenant = await connect.tenant()
    session = await connect.session(tenant, return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        token = await browser.csrf("sandbox")
        answers = await asyncio.gather(*(browser.post("sandbox", {"csrf_token": token}) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [303, 410, 410, 410, 410]
    assert len(await connections(connect, tenant)) == 1


@pytest.mark.parametrize("csrf", [None, "", "forged", "x" * 43])
async def test_a_missing_or_wrong_csrf_token_is_refused(connect, csrf):
    tenant = await connect.tenant()
    session = await connect.session(tenant)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        fields = {} if csrf is None else {"csrf_token": csrf}
        response = await browser.post("sandbox", fields)
        assert response.status_code == 403 and "This form has expired" in response.text
        assert response.headers["content-type"].startswith("text/html")
    assert await connections(connect, tenant) == []
    assert (await connect.store.get_connect_session(session["id"])).status == "pending"


async def test_another_sessions_csrf_token_does_not_fit(connect):
    tenant = await connect.tenant()
    mine, theirs = await connect.session(tenant), await connect.session(tenant)
    async with connect.browser() as attacker:
        await attacker.open(theirs["connect_url"])
        foreign = await attacker.csrf("sandbox")
    async with connect.browser() as browser:
        await browser.open(mine["connect_url"])
        assert (await browser.post("sandbox", {"csrf_token": foreign})).status_code == 403
    assert await connections(connect, tenant) == []


async def test_fields_that_are_not_the_providers_are_refused(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        token = await browser.csrf("woocommerce")
        base = {"csrf_token": token, "store_url": "https://shop.example.com", "consumer_key": KEY,
                "consumer_secret": SECRET}
        extra = await browser.post("woocommerce", {**base, "access_token": "shpat_x"})
        assert extra.status_code == 400 and "no field named &#39;access_token&#39;" in extra.text
        assert KEY not in extra.text and SECRET not in extra.text
        twice = await browser.post("woocommerce", [*base.items(), ("consumer_key", KEY)])
        assert twice.status_code == 400
        json_body = await browser.client.post("/connect/providers/woocommerce", json=base)
        assert json_body.status_code == 415
        not_offered = await browser.post("acme_shop", base)  # no such platform
        assert not_offered.status_code == 404 and "not offered" in not_offered.text
    assert await connections(connect, tenant) == []


async def test_a_platform_not_offered_by_the_session_has_no_form(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant, providers=["sandbox", "shopify"])
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        response = await browser.get("/connect/providers/woocommerce")
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
        token = await browser.csrf("sandbox")
        assert (await browser.post("woocommerce", {"csrf_token": token})).status_code == 404
    assert await connections(connect, tenant) == []


async def test_without_the_cookie_or_with_a_bad_link_there_is_nothing(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant)
    async with connect.browser() as browser:
        for response in (await browser.get("/connect"), await browser.get("/connect/providers/sandbox"),
                         await browser.post("sandbox", {"csrf_token": "x"})):
            assert response.status_code == 403 and "Open your connection link" in response.text
        bad = await browser.get("/connect/start?token=cst_" + "A" * 43)
        assert bad.status_code == 404 and "This link is not valid" in bad.text
        assert (await browser.get("/connect/start")).status_code == 404
        # Unknown query parameters and routes answer pages too, never problem+json.
        odd = await browser.get("/connect?debug=1")
        assert odd.status_code == 400 and odd.headers["content-type"].startswith("text/html")
        missing = await browser.get("/connect/nowhere")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
        assert_page_headers(missing, "'none'")
    assert (await connect.store.get_connect_session(session["id"])).attempts == 0
    # The JSON API under /connect keeps problem+json.
    api = await connect.api.get("/connect/sessions/x")
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"


async def test_submissions_per_session_are_limited(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        token = await browser.csrf("sandbox")
        for _ in range(page.MAX_ATTEMPTS):
            refused = await browser.post("sandbox", {"csrf_token": token, "size": "0"})
            assert refused.status_code == 422
        limited = await browser.post("sandbox", {"csrf_token": token})
        assert limited.status_code == 429 and "Too many attempts" in limited.text
        after = await browser.get("/connect")
        assert after.status_code == 410
    assert await connections(connect, tenant) == []
    status = (await connect.status(tenant, session["id"])).json()
    assert status["status"] == "failed" and status["error"] == page.TOO_MANY_ATTEMPTS


async def test_codes_are_the_sessions_tenants_only_and_every_failure_looks_alike(connect):
    acme, other = await connect.tenant("Acme"), await connect.tenant("Other")
    session = await connect.session(acme, return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        code, _ = code_of((await browser.submit("sandbox", {})).headers["location"])
    answers = [
        await connect.exchange(other, code),  # another tenant's
        await connect.exchange(acme, "cc_" + "A" * 43),  # unknown
        await connect.exchange(acme, "not-a-code"),  # malformed
    ]
    for answer in answers:
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_connect_code"
        assert answer.json()["detail"] == answers[0].json()["detail"]
    # The other tenant's attempt did not spend it.
    assert (await connect.exchange(acme, code)).status_code == 200
    assert (await connect.exchange(acme, code)).json()["code"] == "invalid_connect_code"


async def test_an_expired_code_is_refused(connect, monkeypatch):
    from proxy.connect import completion

    tenant = await connect.tenant()
    session = await connect.session(tenant, return_url=RETURN_URL)
    monkeypatch.setattr(completion, "text_after", lambda seconds: PAST)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        code, _ = code_of((await browser.submit("sandbox", {})).headers["location"])
    answer = await connect.exchange(tenant, code)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_connect_code"


async def test_the_return_url_keeps_its_own_query(connect):
    url = "https://app.example.com/cb?tab=stores&connect_code=forged"
    tenant = await connect.tenant(return_urls=[url])
    session = await connect.session(tenant, return_url=url)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        location = (await browser.submit("sandbox", {})).headers["location"]
    assert location.startswith("https://app.example.com/cb?tab=stores&connect_code=cc_")
    assert "forged" not in location and location.endswith(f"&session_id={session['id']}")


async def test_page_text_is_escaped(connect):
    tenant = await connect.tenant(name="<script>alert(1)</script> & Co")
    session = await connect.session(tenant)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        picker = await browser.get("/connect")
    assert "<script>alert(1)</script>" not in picker.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in picker.text


def test_base_for_csrf_is_the_session_secret():
    from proxy.connect import csrf

    assert csrf.valid("cst_a", csrf.token_for("cst_a"))
    assert not csrf.valid("cst_b", csrf.token_for("cst_a"))
    assert not csrf.valid("cst_a", None) and not csrf.valid("cst_a", "")
    assert csrf_of(f'<input type="hidden" name="csrf_token" value="{csrf.token_for("cst_a")}">') == csrf.token_for("cst_a")
    assert BASE.startswith("http://")
