"""The connect page in a real browser (issue 14): headless Chromium driven by
Playwright, against the app served over real HTTP and the WooCommerce fake.

The journey: open a connect_url, pick WooCommerce, submit a wrong key and
see the platform's reason (focus on the error), fix it, land on the
tenant's return URL with a code, exchange it, read a customer with the new
token. At a phone's width. Screenshots of the picker and of the form with
its error are saved under ``SHOPRELAY_TEST_ARTIFACTS`` (default
``test-artifacts/`` at the checkout's root), in ``connect-browser/``.

Then Shopify's OAuth install (issue 15) against the Shopify fake's
authorization server: type the shop name, "Connect with Shopify", the
consent redirect and back, the return URL with a code; no token in any URL
the browser requested.
Debian's ``chromium`` is used (``/usr/bin/chromium``; .ci/run installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import urllib.parse
from typing import Any, AsyncIterator

import httpx
import pytest
from aiohttp import web

from proxy import provider_apps
from tests.contract import make_fake
from tests.fakes.shopify import SHOP, ShopifyFake
from tests.harness import served_over_http
from tests.support import free_port, serve

CHROMIUM = pathlib.Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium package (/usr/bin/chromium); .ci/run installs it"
)
playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is in the [test] extra")

TIMEOUT_MS = 60_000  # only stops a hang: a shared CI box may be slow
ROOT = pathlib.Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}


def artifacts() -> pathlib.Path:
    folder = pathlib.Path(os.environ.get("SHOPRELAY_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "connect-browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.asynccontextmanager
async def phone_page() -> AsyncIterator[tuple[Any, list[str], list[str]]]:
    """A page at a phone's width, with the URLs it requested and the
    script errors it met."""
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = await browser.new_context(viewport=PHONE, device_scale_factor=2)
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            yield page, requested, problems
        finally:
            await browser.close()


async def saas_app() -> web.Application:
    """The tenant's own site: its return URL shows what it was handed."""

    async def connected(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>Back at the app</title><h1>Store linked</h1>",
                            content_type="text/html")

    app = web.Application()
    app.router.add_get("/connected", connected)
    return app


async def test_a_merchant_links_woocommerce_in_a_real_browser(tmp_path):
    fake = make_fake("woocommerce")
    out = artifacts()
    async with served_over_http(tmp_path) as (harness, base_url), fake.serve() as store_origin, \
            serve(await saas_app()) as saas:
        tenant = await harness.tenant("Acme Reviews")
        return_url = f"{saas}/connected"
        api = {"x-api-key": tenant.api_key}
        patched = await harness.client.patch("/tenant", headers=api, json={"return_urls": [return_url]})
        assert patched.status_code == 200
        created = await harness.client.post("/connect/sessions", headers=api, json={
            "end_user_id": "merchant-7", "return_url": return_url,
        })
        assert created.status_code == 201
        # The service's public URL is the default address; this test's server
        # listens elsewhere, so the link's path and token are opened there.
        link = urllib.parse.urlsplit(created.json()["connect_url"])
        connect_url = f"{base_url}{link.path}?{link.query}"
        settings = fake.settings(store_origin)
        own_origins = {urllib.parse.urlsplit(u).netloc for u in (base_url, saas)}

        async with phone_page() as (page, requested, problems):
            # The link: the token becomes a cookie and leaves the address bar.
            await page.goto(connect_url)
            assert page.url == f"{base_url}/connect"
            assert await page.locator(".tenant").inner_text() == "Acme Reviews"
            await page.get_by_role("link", name="WooCommerce").wait_for()
            await page.screenshot(path=str(out / "picker.png"), full_page=True)

            # Pick WooCommerce; a key the store refuses.
            await page.get_by_role("link", name="WooCommerce").click()
            # The key form (WooCommerce's "Connect with" form above it asks for a store URL too).
            keys = page.locator("form:not(.oauth)")
            await keys.get_by_label("Store URL").fill(settings["store_url"])
            await keys.get_by_label("Consumer key").fill(fake.wrong_credentials()["consumer_key"])
            await keys.get_by_label("Consumer secret").fill(fake.credentials["consumer_secret"])
            await page.locator("summary", has_text="Advanced settings").click()
            await keys.get_by_label("API origin override").fill(settings["base_url"])
            await keys.get_by_role("button", name="Connect").click()

            alert = page.get_by_role("alert")
            await alert.wait_for()
            assert "WooCommerce rejected these credentials" in await alert.inner_text()
            assert "Consumer key is invalid" in await alert.inner_text()
            # Focus is on the first field to fix; the store URL was kept, no secret was.
            assert await page.evaluate("document.activeElement.id") == "f-consumer_key"
            assert await keys.get_by_label("Store URL").input_value() == settings["store_url"]
            assert await keys.get_by_label("Consumer key").input_value() == ""
            assert await keys.get_by_label("Consumer secret").input_value() == ""
            await page.screenshot(path=str(out / "form-error.png"), full_page=True)

            # Fixed: the browser lands on the tenant's return URL with a code.
            await keys.get_by_label("Consumer key").fill(fake.credentials["consumer_key"])
            await keys.get_by_label("Consumer secret").fill(fake.credentials["consumer_secret"])
            if not await keys.get_by_label("API origin override").is_visible():
                await page.locator("summary", has_text="Advanced settings").click()
            await keys.get_by_label("API origin override").fill(settings["base_url"])
            await keys.get_by_role("button", name="Connect").click()
            await page.wait_for_url(f"{return_url}?**")
            assert await page.locator("h1").inner_text() == "Store linked"
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
            await asyncio.sleep(0)  # let late request events arrive
            assert problems == []
            foreign = [url for url in requested if urllib.parse.urlsplit(url).netloc not in own_origins]
            assert foreign == [], foreign

        # The tenant's backend trades the code for the token and reads a customer.
        async with httpx.AsyncClient(base_url=base_url) as backend:
            exchanged = await backend.post("/connect/exchange", json={"code": query["connect_code"]}, headers=api)
            assert exchanged.status_code == 200, exchanged.text
            body = exchanged.json()
            assert body["session_id"] == query["session_id"] == created.json()["id"]
            assert body["provider"] == "woocommerce" and body["end_user_id"] == "merchant-7"
            customer = await backend.get(f"/ecommerce/customers/{fake.ids[0]}", headers={
                **api, "x-connection-token": body["connection_token"]})
            assert customer.status_code == 200 and customer.json()["id"] == fake.ids[0]
    for shot in ("picker.png", "form-error.png"):
        assert (out / shot).stat().st_size > 1000


async def test_a_merchant_installs_shopify_through_its_consent_screen_in_a_real_browser(tmp_path):
    fake = ShopifyFake()
    out = artifacts()
    port = free_port()  # the public URL, hence the callback Shopify is told, names this server
    public = f"http://127.0.0.1:{port}"
    async with served_over_http(tmp_path, port=port, public_url=public) as (harness, base_url), \
            fake.serve() as shop_origin, serve(await saas_app()) as saas:
        assert base_url == public
        runtime = harness.runtime
        fake.redirect_uri = provider_apps.callback_url(runtime.config, "shopify")
        await provider_apps.put_app(
            runtime.store, runtime.keyring, None, "shopify", fake.client_id, fake.client_secret,
            settings={"auth_url": shop_origin, "base_url": shop_origin}, allow_private_networks=True,
        )
        tenant = await harness.tenant("Acme Reviews")
        return_url = f"{saas}/connected"
        api = {"x-api-key": tenant.api_key}
        patched = await harness.client.patch("/tenant", headers=api, json={"return_urls": [return_url]})
        assert patched.status_code == 200
        created = await harness.client.post("/connect/sessions", headers=api, json={
            "end_user_id": "merchant-8", "return_url": return_url, "providers": ["shopify"],
        })
        assert created.status_code == 201
        connect_url = created.json()["connect_url"]

        async with phone_page() as (page, requested, problems):
            await page.goto(connect_url)  # one platform offered: straight to its form
            assert page.url == f"{base_url}/connect/providers/shopify"
            oauth_form = page.locator("form.oauth")
            await oauth_form.get_by_label("Store name").fill(SHOP)
            await page.screenshot(path=str(out / "shopify-connect-with.png"), full_page=True)
            await oauth_form.get_by_role("button", name="Connect with Shopify").click()
            await page.wait_for_url(f"{return_url}?**")
            assert await page.locator("h1").inner_text() == "Store linked"
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
            await asyncio.sleep(0)  # let late request events arrive
            assert problems == []

        # The browser went to Shopify's consent screen and back, carrying no token.
        assert any(url.startswith(f"{shop_origin}/admin/oauth/authorize?") for url in requested)
        assert any(url.startswith(f"{base_url}/connect/oauth/shopify/callback?") for url in requested)
        for url in requested:
            for secret in fake.secrets():
                assert secret not in url, url
        async with httpx.AsyncClient(base_url=base_url) as backend:
            exchanged = await backend.post("/connect/exchange", json={"code": query["connect_code"]}, headers=api)
            assert exchanged.status_code == 200, exchanged.text
            body = exchanged.json()
            assert body["provider"] == "shopify" and body["session_id"] == created.json()["id"]
            customer = await backend.get(f"/ecommerce/customers/{fake.ids[0]}", headers={
                **api, "x-connection-token": body["connection_token"]})
            assert customer.status_code == 200 and customer.json()["id"] == fake.ids[0]
    assert (out / "shopify-connect-with.png").stat().st_size > 1000
