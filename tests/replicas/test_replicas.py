"""Two replicas on one PostgreSQL: the same tenants everywhere, and a
revocation, deletion or token rotation made through one replica takes
effect on the other within one second."""

from __future__ import annotations

import asyncio
import time

import pytest

from proxy.store.postgres import PostgresStore
from tests.replicas.conftest import admin_headers, replicas

# Polling alone would take this long: a propagation under a second can only
# have come from the store's push (LISTEN/NOTIFY).
SLOW_POLL = 30.0


async def setup_tenant(app):
    """Tenant and key through the admin API, a sandbox connection through
    the management API, as a client of that replica would."""
    created = await app.client.post("/admin/tenants", json={"name": "acme"}, headers=admin_headers())
    assert created.status_code == 201, created.text
    tenant_id = created.json()["id"]
    key = await app.client.post(f"/admin/tenants/{tenant_id}/api-keys", json={"name": "prod"},
                                headers=admin_headers())
    assert key.status_code == 201, key.text
    api_key, key_id = key.json()["api_key"], key.json()["id"]
    conn = await app.client.post(
        "/connections", json={"provider": "sandbox", "credentials": {}, "settings": {"size": 30}},
        headers={"x-api-key": api_key},
    )
    assert conn.status_code == 201, conn.text
    return tenant_id, api_key, key_id, conn.json()["id"], conn.json()["connection_token"]


async def customer(app, api_key, token, customer_id="7"):
    return await app.client.get(
        f"/ecommerce/customers/{customer_id}",
        headers={"x-api-key": api_key, "x-connection-token": token},
    )


async def seconds_until(predicate, limit=5.0):
    """How long until ``predicate()`` is true (asking every 10 ms)."""
    started = time.perf_counter()
    while True:
        if await predicate():
            return time.perf_counter() - started
        if time.perf_counter() - started > limit:
            return float("inf")
        await asyncio.sleep(0.01)


async def test_two_replicas_serve_the_same_tenants(tmp_path, pg):
    async with replicas(tmp_path, pg.url) as (a, b):
        assert isinstance(a.runtime.store, PostgresStore)
        assert a.runtime.store is not b.runtime.store
        _, api_key, _, conn_id, token = await setup_tenant(a)
        from_a, from_b = await customer(a, api_key, token), await customer(b, api_key, token)
        assert from_a.status_code == from_b.status_code == 200
        assert from_a.json() == from_b.json()
        listed = await b.client.get("/connections", headers={"x-api-key": api_key})
        assert [c["id"] for c in listed.json()["data"]] == [conn_id]
        # ... and a second connection made through b is usable through a.
        more = await b.client.post("/connections", json={"provider": "sandbox", "credentials": {}},
                                   headers={"x-api-key": api_key})
        assert (await customer(a, api_key, more.json()["connection_token"], "2")).status_code == 200


@pytest.mark.parametrize("change", ["revoke_key", "delete_connection", "rotate_token"])
async def test_change_on_one_replica_takes_effect_on_the_other_within_a_second(tmp_path, pg, change):
    async with replicas(tmp_path, pg.url, invalidation_poll_interval=SLOW_POLL) as (a, b):
        _, api_key, key_id, conn_id, token = await setup_tenant(a)
        assert (await customer(b, api_key, token)).status_code == 200  # b has it cached now
        queries = b.runtime.directory.store_queries
        assert (await customer(b, api_key, token)).status_code == 200
        assert b.runtime.directory.store_queries == queries  # ... and answers from the cache

        if change == "revoke_key":
            done = await a.client.delete(f"/admin/api-keys/{key_id}", headers=admin_headers())
            expected = "invalid_api_key"
        elif change == "delete_connection":
            done = await a.client.delete(f"/connections/{conn_id}", headers={"x-api-key": api_key})
            expected = "invalid_connection_token"
        else:
            done = await a.client.post(f"/connections/{conn_id}/rotate-token", headers={"x-api-key": api_key})
            expected = "invalid_connection_token"
        assert done.status_code in (200, 204), done.text

        async def refused():
            response = await customer(b, api_key, token)
            return response.status_code == 401 and response.json()["code"] == expected

        latency = await seconds_until(refused)
        print(f"\n{change}: took effect on the other replica after {latency * 1000:.1f} ms")
        assert latency < 1.0
        if change == "rotate_token":
            new_token = done.json()["connection_token"]
            assert (await customer(b, api_key, new_token)).status_code == 200


async def test_polling_alone_still_propagates(tmp_path, pg, monkeypatch):
    """Without the push (listener down, or a store that cannot push), the
    poll interval bounds the propagation."""

    async def no_push(self, notify):
        return None

    monkeypatch.setattr(PostgresStore, "watch_invalidations", no_push)
    async with replicas(tmp_path, pg.url, invalidation_poll_interval=0.2) as (a, b):
        _, api_key, key_id, _, token = await setup_tenant(a)
        assert (await customer(b, api_key, token)).status_code == 200
        assert (await a.client.delete(f"/admin/api-keys/{key_id}", headers=admin_headers())).status_code == 204

        async def refused():
            return (await customer(b, api_key, token)).status_code == 401

        assert await seconds_until(refused) < 1.0


async def test_replicas_starting_together_migrate_once(tmp_path, pg):
    """Several replicas starting at once on an empty database: the advisory
    lock lets one apply the migrations; the others find them applied."""
    from proxy.store import open_store

    stores = [open_store(pg.url) for _ in range(5)]
    try:
        versions = await asyncio.gather(*(s.migrate() for s in stores))
        assert len(set(versions)) == 1 and versions[0] >= 2
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_text_postgresql_cannot_hold_is_a_client_error(tmp_path, pg):
    async with replicas(tmp_path, pg.url, count=1) as (app,):
        _, api_key, _, _, _ = await setup_tenant(app)
        headers = {"x-api-key": api_key}
        # A valid JMESPath expression whose raw string literal holds a NUL.
        created = await app.client.post(
            "/field-mappings",
            json={"name": "odd", "provider": "sandbox", "expression": "'a\u0000b'"},
            headers=headers,
        )
        assert created.status_code == 400 and created.json()["code"] == "invalid_request"
        assert (await app.client.get("/connections/x%00y", headers=headers)).status_code == 404
        assert (await app.client.get("/field-mappings", headers=headers)).json()["data"] == []
