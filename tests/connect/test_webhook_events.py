"""Connect emits the connection events (proxy/webhooks/events.py builds them)
in the same transaction as the change: connection.created for a new
connection, connection.updated for a reconnect; and none for a refused key
or a hostile submission. Skipped until the webhooks package is installed."""

from __future__ import annotations

import json

import pytest

from tests.connect.conftest import RETURN_URL, code_of

pytest.importorskip("proxy.webhooks.events", reason="the webhooks work (proxy/webhooks) is not merged yet")

# Loopback, nothing listening: the delivery worker must not reach out.
HOOK = "http://127.0.0.1:9/shoprelay-hook"


async def events(connect, tenant) -> list[dict]:
    return [json.loads(e.payload) for e in await connect.store.list_webhook_events(tenant.id)]


async def test_a_connection_and_its_reconnect_are_announced(connect):
    tenant = await connect.tenant()
    await connect.store.update_tenant(tenant.id, webhook_url=HOOK)
    session = await connect.session(tenant, end_user_id="m-1", tags={"plan": "pro"}, return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        assert (await browser.post("sandbox", {"csrf_token": "forged"})).status_code == 403
        done = await browser.submit("sandbox", {})
    code, _ = code_of(done.headers["location"])
    token = (await connect.exchange(tenant, code)).json()["connection_token"]
    [created] = await events(connect, tenant)
    connection_id = (await connect.status(tenant, session["id"])).json()["connection_id"]
    assert created["type"] == "connection.created" and created["id"].startswith("evt_")
    assert created["data"] == {"connection_id": connection_id, "provider": "sandbox", "end_user_id": "m-1",
                               "tags": {"plan": "pro"}, "session_id": session["id"]}
    reconnect = await connect.session(tenant, end_user_id="m-1", connection_id=connection_id, return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(reconnect["connect_url"])
        await browser.submit("sandbox", {"seed": "other"})
    updated, _ = await events(connect, tenant)  # newest first
    assert updated["type"] == "connection.updated"
    assert updated["data"]["connection_id"] == connection_id and updated["data"]["session_id"] == reconnect["id"]
    for event in await connect.store.list_webhook_events(tenant.id):
        assert token not in event.payload


async def test_no_webhook_url_no_event(connect):
    tenant = await connect.tenant()
    session = await connect.session(tenant, return_url=RETURN_URL)
    async with connect.browser() as browser:
        await browser.open(session["connect_url"])
        assert (await browser.submit("sandbox", {})).status_code == 303
    assert await events(connect, tenant) == []
