"""A database that goes away mid-load: 503 store_unavailable, never a 500,
then recovery by itself, with no row lost.

The whole PostgreSQL cluster is shared with other tests, so it is never
stopped here: backends of this test's database are terminated
(``pg_terminate_backend``), or one app reaches the database through a TCP
relay that the test cuts and restores (a database restart as that app
sees it)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import urllib.parse

import asyncpg

from tests.replicas.conftest import admin_headers, replicas
from tests.replicas.test_replicas import customer, seconds_until, setup_tenant

ALLOWED = {200, 201, 503}


def check_response(response, tally):
    """Every answer is a success or a well-formed 503 store_unavailable."""
    tally[response.status_code] += 1
    assert response.status_code in ALLOWED, (response.status_code, response.text)
    if response.status_code == 503:
        body = response.json()
        assert body["code"] == "store_unavailable" and body["status"] == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["retry-after"]


async def test_terminated_backends_mid_load_give_503_then_recover_with_no_row_lost(tmp_path, pg):
    # No caching: every request needs the store (the worst case for an outage).
    async with replicas(tmp_path, pg.url, cache_ttl=0.0, db_pool_size=4) as apps:
        a, b = apps
        _, api_key, _, first_id, token = await setup_tenant(a)
        headers = {"x-api-key": api_key}
        created: list[str] = [first_id]
        tally: collections.Counter = collections.Counter()
        stop = asyncio.Event()
        terminated = 0

        async def worker(n: int) -> None:
            app = apps[n % 2]
            i = 0
            while not stop.is_set():
                i += 1
                kind = (n + i) % 3
                if kind == 0:
                    response = await customer(app, api_key, token, str(1 + i % 30))
                elif kind == 1:
                    response = await app.client.post(
                        "/connections", json={"provider": "sandbox", "credentials": {}}, headers=headers
                    )
                    if response.status_code == 201:
                        created.append(response.json()["id"])
                else:
                    response = await app.client.get("/connections?limit=5", headers=headers)
                check_response(response, tally)

        async def killer() -> None:
            nonlocal terminated
            admin = await asyncpg.connect(pg.database.url)
            try:
                while not stop.is_set():
                    await asyncio.sleep(0.1)
                    terminated += await admin.fetchval(
                        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
                        pg.database.name,
                    )
            finally:
                await admin.close()

        tasks = [asyncio.create_task(worker(n)) for n in range(12)]
        kill = asyncio.create_task(killer())
        await asyncio.sleep(2.5)
        stop.set()
        await asyncio.gather(*tasks, kill)
        print(f"\nunder terminations ({terminated} backends killed): {dict(sorted(tally.items()))}")
        assert terminated > 0 and tally[200] > 0 and tally[201] > 0

        # Recovery, by itself: every request succeeds again, on both replicas.
        async def all_ok() -> bool:
            answers = await asyncio.gather(*(customer(app, api_key, token) for app in apps for _ in range(5)))
            return all(r.status_code == 200 for r in answers)

        assert await seconds_until(all_ok, limit=10.0) < 10.0
        # No row lost: every connection a client was told about is there.
        stored = {c.id for c in await a.runtime.store.list_connections(
            (await a.runtime.store.get_connection(first_id)).tenant_id)}
        assert set(created) <= stored
        # And both replicas still follow each other's changes (listeners back).
        assert (await customer(b, api_key, token)).status_code == 200


async def test_a_statement_timeout_is_503_not_500(tmp_path, pg):
    async with replicas(tmp_path, pg.url, count=1, db_statement_timeout=0.3) as (app,):
        tenant = await app.tenant()
        _, token = await app.connection(tenant, "sandbox", {})
        blocker = await asyncpg.connect(pg.url)
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
                response = await app.get_customer(tenant, token, "1")  # key lookup waits on the lock
                tally: collections.Counter = collections.Counter()
                check_response(response, tally)
                assert tally[503] == 1
        finally:
            await blocker.close()
        assert (await app.get_customer(tenant, token, "1")).status_code == 200


async def test_an_exhausted_pool_is_503_not_500(tmp_path, pg):
    async with replicas(tmp_path, pg.url, count=1, db_pool_size=1, db_statement_timeout=0.3) as (app,):
        tenant = await app.tenant()
        _, token = await app.connection(tenant, "sandbox", {})
        store = app.runtime.store
        busy = await store._acquire()  # the only pooled connection is in use
        try:
            response = await app.get_customer(tenant, token, "1")
            tally: collections.Counter = collections.Counter()
            check_response(response, tally)
            assert tally[503] == 1
        finally:
            await store._release(busy)
        assert (await app.get_customer(tenant, token, "1")).status_code == 200


class Relay:
    """A TCP relay to PostgreSQL that the test can cut (refusing new
    connections and dropping open ones) and restore on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()
        self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


async def test_database_down_then_back_recovers_without_a_restart(tmp_path, pg):
    parts = urllib.parse.urlsplit(pg.url)
    relay = Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
    await relay.start()
    relayed = urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}"))
    try:
        # a: through the relay, caching disabled; b: direct.
        async with contextlib.AsyncExitStack() as stack:
            (a,) = await stack.enter_async_context(
                replicas(tmp_path, relayed, count=1, cache_ttl=0.0, invalidation_poll_interval=30.0,
                         db_statement_timeout=1.0)
            )
            (b,) = await stack.enter_async_context(replicas(tmp_path, pg.url, count=1))
            _, api_key, key_id, _, token = await setup_tenant(b)
            assert (await customer(a, api_key, token)).status_code == 200

            await relay.cut()  # the database is gone, as far as a can tell
            tally: collections.Counter = collections.Counter()
            for _ in range(3):
                check_response(await customer(a, api_key, token), tally)
                check_response(await a.client.get("/connections", headers={"x-api-key": api_key}), tally)
            assert tally == {503: 6}
            ready = await a.client.get("/ready")
            assert ready.status_code == 503 and ready.json()["code"] == "store_unavailable"
            assert (await a.client.get("/health")).status_code == 200

            await relay.start()  # back, same address
            async def ok() -> bool:
                return (await customer(a, api_key, token)).status_code == 200

            assert await seconds_until(ok, limit=10.0) < 10.0
            assert (await a.client.get("/ready")).status_code == 200

            # a's listener reconnects by itself (with backoff): then b's
            # revocation reaches a within a second although a polls only
            # every 30 s. (Caching on a is off, so watch a's feed cursor.)
            async def listening() -> bool:
                return a.runtime.store.listening

            assert await seconds_until(listening, limit=10.0) < 10.0
            before = a.runtime.directory._invalidation_cursor
            assert (await b.client.delete(f"/admin/api-keys/{key_id}", headers=admin_headers())).status_code == 204

            async def followed() -> bool:
                return a.runtime.directory._invalidation_cursor > before

            assert await seconds_until(followed, limit=5.0) < 1.0
    finally:
        if relay.server is not None:
            await relay.cut()
