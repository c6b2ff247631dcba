"""Webhooks from the running service (SQLite): every connection event
arrives signed as a stock Standard Webhooks library expects, is retried
after 500s and after a restart, is refused by the SSRF guard when private
networks are off, and leaves no secret in the logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any, AsyncIterator

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from tests.cli_runner import run_cli
from tests.harness import TEST_KEYRING, Harness, Tenant, running_app
from tests.support import load_fixture, serve
from tests.webhooks.support import subscribe

FAST = (0.05, 0.05, 0.05, 0.05)


class Receiver:
    """A webhook endpoint: answers ``status`` (changeable), keeps what came."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.seen: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.read()))
        return web.Response(status=self.status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks", self.handle)
        return app

    def bodies(self, secret: str) -> list[dict[str, Any]]:
        """Each body received, verified (raises on a bad signature)."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.seen]


@contextlib.asynccontextmanager
async def app_with_receiver(tmp_path, status: int = 204, **overrides: Any) -> AsyncIterator[tuple[Harness, Receiver, str]]:
    receiver = Receiver(status)
    async with serve(receiver.app()) as origin, running_app(tmp_path, **overrides) as api:
        fast(api)
        yield api, receiver, origin + "/hooks"


def fast(api: Harness) -> None:
    worker = api.runtime.webhooks
    worker.schedule = FAST
    worker.poll_interval = 0.02
    worker.wake()


async def until(predicate, limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not await predicate():
            await asyncio.sleep(0.02)


async def deliveries(api: Harness, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    answer = await api.client.get("/webhook-deliveries", params=params, headers={"x-api-key": tenant.api_key})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


async def all_delivered(api: Harness, tenant: Tenant, count: int) -> bool:
    found = await deliveries(api, tenant)
    return len(found) == count and all(d["status"] == "delivered" for d in found)


async def test_each_connection_event_arrives_verifiable_by_a_stock_library(tmp_path):
    async with app_with_receiver(tmp_path) as (api, receiver, url):
        tenant = await api.tenant()
        key = {"x-api-key": tenant.api_key}
        secret = await subscribe(api, tenant, url)
        created = await api.client.post("/connections", json={"provider": "sandbox", "credentials": {}}, headers=key)
        assert created.status_code == 201
        conn_id = created.json()["id"]
        # One at a time, so the order they arrive in is the order they happened.
        await until(lambda: all_delivered(api, tenant, 1))
        patched = await api.client.patch(f"/connections/{conn_id}", json={"settings": {"size": 3}}, headers=key)
        assert patched.status_code == 200
        await until(lambda: all_delivered(api, tenant, 2))
        assert (await api.client.delete(f"/connections/{conn_id}", headers=key)).status_code == 204
        await until(lambda: all_delivered(api, tenant, 3))
        bodies = receiver.bodies(secret)
        listed = await deliveries(api, tenant)
    assert [b["type"] for b in bodies] == ["connection.created", "connection.updated", "connection.deleted"]
    for body in bodies:
        assert set(body) == {"type", "id", "created_at", "data"}
        assert body["data"] == {"connection_id": conn_id, "provider": "sandbox", "end_user_id": None,
                                "tags": {}, "session_id": None}
    # Never the token, not even its prefix.
    token = created.json()["connection_token"]
    assert not any(token[:11] in body.decode() for _, body in receiver.seen)
    assert [d["type"] for d in listed] == ["connection.deleted", "connection.updated", "connection.created"]
    assert [d["event_id"] for d in listed][::-1] == [b["id"] for b in bodies]
    assert all(d["attempts"] == 1 and d["last_status"] == 204 and d["delivered_at"] for d in listed)


async def test_no_webhook_url_no_events_and_no_other_tenants_events(tmp_path):
    async with app_with_receiver(tmp_path) as (api, receiver, url):
        quiet, loud = await api.tenant("quiet"), await api.tenant("loud")
        await subscribe(api, loud, url)
        await api.connection(quiet, "sandbox", {})
        await api.connection(loud, "sandbox", {})
        await until(lambda: all_delivered(api, loud, 1))
        assert await deliveries(api, quiet) == []
        assert len(receiver.seen) == 1


async def test_a_500_is_retried_until_the_endpoint_recovers(tmp_path):
    async with app_with_receiver(tmp_path, status=500) as (api, receiver, url):
        tenant = await api.tenant()
        secret = await subscribe(api, tenant, url)
        await api.connection(tenant, "sandbox", {})

        async def failed_twice() -> bool:
            (d,) = await deliveries(api, tenant)
            return d["attempts"] >= 2

        await until(failed_twice)
        (pending,) = await deliveries(api, tenant)
        assert pending["status"] == "pending" and pending["last_status"] == 500
        assert pending["last_error"] == "the endpoint answered 500" and pending["next_attempt_at"]
        receiver.status = 200
        await until(lambda: all_delivered(api, tenant, 1))
        (done,) = await deliveries(api, tenant)
        metrics = (await api.client.get("/metrics")).text
    assert 'shoprelay_webhook_attempts_total{outcome="delivered"} 1.0' in metrics
    assert f'shoprelay_webhook_attempts_total{{outcome="retry"}} {done["attempts"] - 1}.0' in metrics
    assert done["attempts"] == len(receiver.seen) >= 3 and done["last_status"] == 200 and done["last_error"] is None
    assert {h["webhook-id"] for h, _ in receiver.seen} == {done["event_id"]}
    receiver.bodies(secret)  # every attempt verifies


async def test_delivery_resumes_after_a_restart(tmp_path):
    receiver = Receiver(503)
    async with serve(receiver.app()) as origin:
        async with running_app(tmp_path) as api:
            fast(api)
            tenant = await api.tenant()
            secret = await subscribe(api, tenant, origin + "/hooks")
            await api.connection(tenant, "sandbox", {})

            async def tried() -> bool:
                return (await deliveries(api, tenant))[0]["attempts"] >= 1

            await until(tried)
        tried_before = len(receiver.seen)
        receiver.status = 200
        # A new process on the same database file finds the event and sends it.
        async with running_app(tmp_path) as api:
            fast(api)
            await until(lambda: all_delivered(api, tenant, 1))
            (done,) = await deliveries(api, tenant)
    assert tried_before >= 1
    assert done["attempts"] == len(receiver.seen) == tried_before + 1
    assert receiver.bodies(secret)[-1]["type"] == "connection.created"


async def test_events_written_while_no_server_runs_go_out_when_one_starts(tmp_path):
    receiver = Receiver(200)
    async with serve(receiver.app()) as origin:
        async with running_app(tmp_path) as api:
            tenant = await api.tenant()
            secret = await subscribe(api, tenant, origin + "/hooks")
            conn_id, _ = await api.connection(tenant, "sandbox", {})
            await until(lambda: all_delivered(api, tenant, 1))
        # The CLI, with no server running: the deletion and its event are stored together.
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
               "SHOPRELAY_DATABASE_URL": f"sqlite:///{tmp_path / 'shoprelay.db'}",
               "SHOPRELAY_ENCRYPTION_KEYS": TEST_KEYRING}
        deleted = run_cli("connections", "delete", conn_id, env=env, cwd=tmp_path)
        assert deleted.returncode == 0, deleted.stderr
        assert len(receiver.seen) == 1
        async with running_app(tmp_path) as api:
            fast(api)
            await until(lambda: all_delivered(api, tenant, 2))
    assert [b["type"] for b in receiver.bodies(secret)] == ["connection.created", "connection.deleted"]


async def test_a_refused_refresh_sends_auth_failed_once(tmp_path):
    instance, contact = "1d2c6a64-3f21-4e36-9a1f-4c7f4b0a9e11", "5f0c2e9a-8b1d-4c3e-9f7a-2d6b4e8c1a0f"
    refusals = []

    async def token(request: web.Request) -> web.Response:
        refusals.append(await request.read())
        return web.json_response(load_fixture("wix", "oauth-error-invalid-client.json"), status=400)

    wix = web.Application()
    wix.router.add_post("/oauth2/token", token)
    async with serve(wix) as wix_origin, app_with_receiver(tmp_path) as (api, receiver, url):
        tenant = await api.tenant()
        secret = await subscribe(api, tenant, url)
        conn_id, conn_token = await api.connection(
            tenant, "wix", {"client_id": "wix-client", "client_secret": "wix-secret"},
            {"instance_id": instance, "base_url": wix_origin, "auth_url": wix_origin},
        )
        await until(lambda: all_delivered(api, tenant, 1))  # in order
        for _ in range(3):  # the first refusal marks it; later reads do not ask again
            read = await api.get_customer(tenant, conn_token, contact)
            assert read.status_code == 502, read.text
        await until(lambda: all_delivered(api, tenant, 2))
        await asyncio.sleep(0.2)  # nothing more comes
    assert [b["type"] for b in receiver.bodies(secret)] == ["connection.created", "connection.auth_failed"]
    assert receiver.bodies(secret)[1]["data"]["connection_id"] == conn_id
    assert len(refusals) == 1
    assert b"wix-secret" not in b"".join(body for _, body in receiver.seen)


async def test_the_ssrf_guard_refuses_a_private_url_when_private_networks_are_off(tmp_path):
    receiver = Receiver(200)
    async with serve(receiver.app()) as origin, running_app(tmp_path, allow_private_networks=False) as api:
        fast(api)
        port = origin.rsplit(":", 1)[1]
        tenant = await api.tenant()
        # A name, so PATCH /tenant cannot tell; it resolves to loopback, refused at connect time.
        await subscribe(api, tenant, f"https://localhost:{port}/hooks")
        await api.connection(tenant, "sandbox", {})

        async def refused() -> bool:
            found = await deliveries(api, tenant)
            return bool(found) and found[0]["attempts"] >= 1

        await until(refused)
        (event,) = await deliveries(api, tenant)
    assert not receiver.seen
    assert event["status"] == "pending" and event["last_status"] is None
    assert event["last_error"] == "refused by the SSRF guard: the upstream host does not resolve to a public address"


async def test_deliveries_route_checks_its_parameters_and_the_key(tmp_path):
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        assert (await api.client.get("/webhook-deliveries")).status_code == 401
        bad = await api.client.get("/webhook-deliveries?limit=0", headers={"x-api-key": tenant.api_key})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_parameter"
        other = await api.client.get("/webhook-deliveries?status=failed", headers={"x-api-key": tenant.api_key})
        assert other.status_code == 400 and other.json()["parameter"] == "status"


async def test_no_secret_reaches_the_logs(tmp_path, caplog):
    with caplog.at_level(logging.DEBUG):
        async with app_with_receiver(tmp_path, status=500) as (api, receiver, url):
            tenant = await api.tenant()
            secret = await subscribe(api, tenant, url + "?token=url-canary-0123")
            await api.connection(tenant, "sandbox", {})

            async def tried_twice() -> bool:
                return (await deliveries(api, tenant))[0]["attempts"] >= 2

            await until(tried_twice)
    text = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    signatures = [headers["webhook-signature"].split(",", 1)[1] for headers, _ in receiver.seen]
    for leaked in [secret, secret[len("whsec_"):], "url-canary-0123", tenant.api_key, *signatures]:
        assert leaked not in text
    assert "webhooks: event evt_" in text  # it did log the attempts, by event id


async def test_a_callers_own_event_goes_out_instead_of_the_plain_one(tmp_path):
    # The connect page's events carry its session id: it builds them and
    # hands them over; other callers get the plain ones.
    from proxy import accounts
    from proxy.webhooks import events

    async with app_with_receiver(tmp_path) as (api, receiver, url):
        tenant = await api.tenant()
        secret = await subscribe(api, tenant, url)
        store, keyring = api.runtime.store, api.runtime.keyring
        owner = await store.get_tenant(tenant.id)
        connection, _ = await accounts.create_connection(
            store, keyring, tenant.id, "sandbox", {}, {}, connection_id="conn-fixed", end_user_id="u-7",
            tags={"plan": "pro"},
            event_for=lambda c: events.connection_event(events.CREATED, c, "cs_1", tenant=owner),
        )
        await until(lambda: all_delivered(api, tenant, 1))  # in order
        await accounts.update_connection(
            store, keyring, connection, {}, allow_private_networks=True,
            event=events.connection_event(events.UPDATED, connection, "cs_2", tenant=owner),
        )
        await until(lambda: all_delivered(api, tenant, 2))
    created, updated = receiver.bodies(secret)
    assert created["data"] == {"connection_id": "conn-fixed", "provider": "sandbox", "end_user_id": "u-7",
                               "tags": {"plan": "pro"}, "session_id": "cs_1"}
    assert (updated["type"], updated["data"]["session_id"]) == ("connection.updated", "cs_2")
