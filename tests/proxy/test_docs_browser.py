"""/docs in a real browser (issue 12, item 10): headless Chromium, driven by
Playwright, against the app served over real HTTP.

The reference must render its operations, show how to authenticate
(x-api-key), expand an operation, and load nothing from another host.
Debian's ``chromium`` package is used (``/usr/bin/chromium``; .ci/run
installs it): Playwright's own browser download is not reachable here.
"""

from __future__ import annotations

import asyncio
import pathlib
import urllib.parse

import pytest

from tests.harness import served_over_http

CHROMIUM = pathlib.Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium package (/usr/bin/chromium); .ci/run installs it"
)
playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is in the [test] extra")

TIMEOUT_MS = 60_000  # only stops a hang: a shared CI box may be slow


async def test_docs_render_an_interactive_reference_from_this_server_only(tmp_path):
    async with served_over_http(tmp_path) as (_, base_url):
        origin = urllib.parse.urlsplit(base_url).netloc
        async with playwright_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                page = await browser.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                requested: list[str] = []
                page.on("request", lambda request: requested.append(request.url))
                problems: list[str] = []
                page.on("pageerror", lambda error: problems.append(str(error)))

                # GET / lands on the reference.
                await page.goto(base_url + "/")
                assert page.url == base_url + "/docs"

                # Operations render, grouped, with their paths.
                block = page.locator(".opblock-get").filter(
                    has=page.locator(".opblock-summary-path[data-path='/ecommerce/customers/{id}']")
                )
                await block.wait_for()
                assert await block.locator(".opblock-summary-method").inner_text() == "GET"
                assert await block.locator(".opblock-summary-path").get_attribute("data-path") == (
                    "/ecommerce/customers/{id}"
                )
                assert await page.locator(".opblock").count() >= 15
                # Truto's surface is described beside Panora's.
                await page.locator(".opblock-summary-path[data-path='/unified/ecommerce/customers/{id}']").wait_for()
                # Markdown renders: the info text's `x-api-key` is a <code>, not backticks.
                info = page.locator(".information-container .markdown, .information-container .renderedMarkdown")
                assert await info.locator("code", has_text="x-api-key").count() >= 1
                assert "`x-api-key`" not in await info.first.inner_text()

                # The Authorize dialog offers the x-api-key header.
                await page.locator("button.authorize").first.click()
                dialog = page.locator(".dialog-ux .modal-ux")
                await dialog.wait_for()
                text = await dialog.inner_text()
                assert "x-api-key" in text and "x-connection-token" in text and "ApiKey" in text
                assert "TrutoBearer" in text  # the API key as Truto's bearer token
                await dialog.locator("button.close-modal").click()

                # Expanding an operation shows its parameters and responses.
                await block.locator(".opblock-summary").click()
                body = block.locator(".opblock-body")
                await body.wait_for()
                await body.locator("tr[data-param-name='x-connection-token']").wait_for()
                await body.locator("tr.response[data-code='404']").wait_for()
                assert "customer_not_found" in await body.locator("tr.response[data-code='404']").inner_text()

                # It is interactive: "Try it out" on /health calls this server.
                health = page.locator(".opblock-get").filter(
                    has=page.locator(".opblock-summary-path[data-path='/health']")
                )
                await health.locator(".opblock-summary").click()
                await health.locator("button.try-out__btn").click()
                await health.locator("button.execute").click()
                status = health.locator(".live-responses-table tbody .response-col_status").first
                await status.wait_for()
                assert (await status.inner_text()).strip() == "200"

                await asyncio.sleep(0)  # let late request events arrive
                assert problems == []
                foreign = [url for url in requested
                           if urllib.parse.urlsplit(url).netloc != origin and not url.startswith("data:")]
                assert foreign == [], foreign
                assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in requested)
                assert any(url.endswith("/openapi.json") for url in requested)
                assert any(url.endswith("/health") for url in requested)
            finally:
                await browser.close()
