"""The invalidation feed under concurrent writers, and OAuth refreshes that
stay single-flight across replicas."""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg

from proxy.clock import now_text
from proxy.oauth_store import ConnectionTokenStore
from proxy.store.postgres import PostgresStore
from providers.tokens import AccessToken, TokenManager
from tests.replicas.conftest import replicas


async def test_an_invalidation_committing_after_a_later_one_is_not_missed(tmp_path, pg, monkeypatch):
    """Ids come from a sequence: with two writers, id N+1 can commit before
    id N. A poller that moved its cursor past N+1 must still see N."""

    async def no_push(self, notify):
        return None

    monkeypatch.setattr(PostgresStore, "watch_invalidations", no_push)
    async with replicas(tmp_path, pg.url, count=1, invalidation_poll_interval=30.0) as (app,):
        tenant = await app.tenant()
        _, token = await app.connection(tenant, "sandbox", {})
        assert (await app.get_customer(tenant, token, "1")).status_code == 200
        directory = app.runtime.directory
        assert directory.keys.get(_digest(tenant.api_key)) is not None

        slow = await asyncpg.connect(pg.url)
        try:
            async with slow.transaction():
                # A writer takes id N and has not committed yet...
                await slow.execute(
                    "INSERT INTO invalidations (kind, digest, created_at) VALUES ('api_key', $1, $2)",
                    _digest(tenant.api_key), now_text(),
                )
                # ... while another one takes N+1 and commits; we read it.
                other = await app.tenant("other")
                await app.runtime.store.revoke_api_key(other.api_key_id, now_text())
                await directory.poll_once()
            # N commits now (the revocation's row update is not needed here:
            # the feed entry alone must reach the cache).
            await directory.poll_once()
        finally:
            await slow.close()
        assert directory.keys.get(_digest(tenant.api_key)) is None


def _digest(secret: str) -> str:
    from keys import secrets

    return secrets.digest(secret)


class UnlockedTokens(ConnectionTokenStore):
    """The control: what a store without a cross-process lock would do."""

    def refresh_lock(self):
        return contextlib.nullcontext()


async def burst_on_two_replicas(tmp_path, url, token_store_cls):
    """A cold connection, two replicas, 20 concurrent token requests on each.
    Returns (token requests made, tokens handed out, what each replica then
    reads back from the database, whether each token handed out was already
    in the database when its caller got it)."""
    minted: list[str] = []

    async def mint() -> AccessToken:
        # The provider's token endpoint: slow enough that both replicas are
        # waiting at once.
        minted.append(f"access-{len(minted) + 1}")
        value = minted[-1]
        await asyncio.sleep(0.3)
        return AccessToken(access_token=value, expires_at=time.time() + 3600)

    async with replicas(tmp_path, url) as (a, b):
        tenant = await a.tenant()
        conn_id, _ = await a.connection(tenant, "sandbox", {})
        stores = [
            token_store_cls(app.runtime.store, app.runtime.keyring, tenant.id, conn_id) for app in (a, b)
        ]
        managers = [TokenManager(store, mint) for store in stores]
        persisted_before_use: list[bool] = []

        async def use(i: int) -> str:
            manager, store = managers[i % 2], stores[i % 2]
            token = await manager.get()
            saved = await store.load()
            persisted_before_use.append(saved is not None and saved.access_token == token.access_token)
            return token.access_token

        handed_out = await asyncio.gather(*(use(i) for i in range(40)))
        read_back = [(await s.load()).access_token for s in stores]
    return minted, handed_out, read_back, persisted_before_use


async def test_refresh_is_single_flight_across_replicas(tmp_path, pg):
    minted, handed_out, read_back, persisted = await burst_on_two_replicas(
        tmp_path, pg.url, ConnectionTokenStore
    )
    assert minted == ["access-1"]
    assert set(handed_out) == {"access-1"} and read_back == ["access-1", "access-1"]
    assert len(persisted) == 40 and all(persisted)


async def test_without_the_lock_each_replica_would_refresh(tmp_path, pg):
    """The control for the test above: it can fail."""
    minted, _, _, _ = await burst_on_two_replicas(tmp_path, pg.url, UnlockedTokens)
    assert len(minted) == 2


async def test_refresh_lock_is_released_when_its_holder_dies(pg):
    store_a, store_b = PostgresStore(pg.url), PostgresStore(pg.url)
    try:
        await store_a.migrate()
        held = store_a.refresh_lock("conn-1")
        await held.__aenter__()
        # Someone else waits for it, then the holder's process goes away.
        waiter = asyncio.create_task(_take(store_b, "conn-1"))
        await asyncio.sleep(0.2)
        assert not waiter.done()
        store_a._pools["locks"].terminate()
        assert await asyncio.wait_for(waiter, 5.0) == "taken"
        # Another connection's lock is independent.
        assert await asyncio.wait_for(_take(store_b, "conn-2"), 5.0) == "taken"
    finally:
        await store_a.close()
        await store_b.close()


async def _take(store, connection_id):
    async with store.refresh_lock(connection_id):
        return "taken"


async def test_an_id_that_never_commits_is_given_up_after_a_grace(tmp_path, pg, monkeypatch):
    import proxy.directory

    monkeypatch.setattr(proxy.directory, "GAP_GRACE", 0.0)
    async with replicas(tmp_path, pg.url, count=1, invalidation_poll_interval=30.0) as (app,):
        directory = app.runtime.directory
        tenant = await app.tenant()
        conn = await asyncpg.connect(pg.url)
        try:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute(
                "INSERT INTO invalidations (kind, digest, created_at) VALUES ('api_key', 'x', $1)", now_text()
            )
            await transaction.rollback()  # its id is gone for good
        finally:
            await conn.close()
        await app.runtime.store.revoke_api_key(tenant.api_key_id, now_text())
        last = await app.runtime.store.last_invalidation_id()
        await directory.poll_once()  # sees the gap below the revocation
        await asyncio.sleep(0.01)
        await directory.poll_once()  # the grace is over: moves past it
        assert directory._invalidation_cursor == last and not directory._seen_above_cursor


async def test_a_refresh_storm_larger_than_the_pool_does_not_deadlock(pg):
    """Every lock holder needs a connection to load and save its token: lock
    holders must not be able to use up the connections that needs."""
    store = PostgresStore(pg.url, pool_size=2, statement_timeout=2.0)
    try:
        await store.migrate()
        from keys.vault import parse_keyring, new_key_text
        from proxy import accounts

        keyring = parse_keyring(new_key_text("k1"))
        tenant = await accounts.create_tenant(store, "t")
        connections = [
            (await accounts.create_connection(store, keyring, tenant.id, "sandbox", {}, {}))[0]
            for _ in range(6)
        ]
        minted: list[str] = []

        async def mint() -> AccessToken:
            minted.append("x")
            await asyncio.sleep(0.05)
            return AccessToken(access_token=f"t{len(minted)}", expires_at=time.time() + 3600)

        managers = [
            TokenManager(ConnectionTokenStore(store, keyring, tenant.id, c.id), mint) for c in connections
        ]
        tokens = await asyncio.wait_for(asyncio.gather(*(m.get() for m in managers)), 20.0)
        assert len(tokens) == 6 and len(minted) == 6
    finally:
        await store.close()


async def test_an_unreadable_feed_after_a_local_write_drops_the_caches(tmp_path, pg, monkeypatch):
    """poll_once runs right after a write so its effect is immediate here;
    if the feed cannot be read then, nothing cached may outlive the write."""
    from proxy.store import StoreUnavailable

    async with replicas(tmp_path, pg.url, count=1) as (app,):
        tenant = await app.tenant()
        _, token = await app.connection(tenant, "sandbox", {})
        assert (await app.get_customer(tenant, token, "1")).status_code == 200
        directory = app.runtime.directory
        assert len(directory.keys) == 1 and len(directory.connections) == 1

        async def unreadable(after_id):
            raise StoreUnavailable("postgresql: gone")

        monkeypatch.setattr(app.runtime.store, "invalidations_since", unreadable)
        await directory.poll_once()  # does not raise
        assert len(directory.keys) == 0 and len(directory.connections) == 0


async def test_last_used_times_survive_a_failed_flush(tmp_path, pg, monkeypatch):
    from proxy.store import StoreUnavailable

    async with replicas(tmp_path, pg.url, count=1, invalidation_poll_interval=30.0) as (app,):
        directory, store = app.runtime.directory, app.runtime.store
        real_touch, failures = store.touch_api_keys, []

        async def failing(last_used):
            failures.append(dict(last_used))
            raise StoreUnavailable("postgresql: gone")

        monkeypatch.setattr(store, "touch_api_keys", failing)
        tenant = await app.tenant()
        _, token = await app.connection(tenant, "sandbox", {})
        assert (await app.get_customer(tenant, token, "1")).status_code == 200
        await directory.poll_once()
        assert tenant.api_key_id in failures[-1]
        assert tenant.api_key_id in directory._last_used  # kept for the next flush
        monkeypatch.setattr(store, "touch_api_keys", real_touch)
        await directory.poll_once()
        assert (await store.get_api_key(tenant.api_key_id)).last_used_at is not None
