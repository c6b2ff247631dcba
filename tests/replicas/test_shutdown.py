"""Stopping a replica never waits forever on PostgreSQL, whenever the stop
lands (here: just as the invalidation listener loses its connection, as
after ``pg_terminate_backend`` in tests/replicas/test_readiness.py)."""

from __future__ import annotations

import asyncio

import asyncpg

from proxy.store.postgres import PostgresStore


async def test_the_listener_ends_when_cancelled_as_its_connection_drops(pg, monkeypatch):
    """Python 3.11's asyncio.wait_for returns the inner result instead of
    raising when the cancel lands after the inner awaitable finished but
    before wait_for resumed (CPython gh-86296, fixed in 3.12). A listener
    waiting that way for its connection to drop then shrugged off the
    cancel and reconnected, and the replica's shutdown (which awaits it)
    waited forever. The cancel is tried at each of the first loop turns
    after the drop, so one of them lands in that window every time."""
    real_connect = asyncpg.connect
    connections: list[asyncpg.Connection] = []

    async def connect(*args, **kwargs):
        conn = await real_connect(*args, **kwargs)
        connections.append(conn)
        return conn

    monkeypatch.setattr(asyncpg, "connect", connect)
    loop = asyncio.get_running_loop()
    store = PostgresStore(pg.url)
    try:
        for turns in range(8):
            task = asyncio.create_task(store.watch_invalidations(lambda item: None))
            async with asyncio.timeout(10.0):
                while not store.listening:
                    await asyncio.sleep(0.01)
            conn = connections[-1]

            def cancel_after(_conn, turns=turns, task=task):
                if turns == 0:
                    task.cancel()
                else:
                    loop.call_soon(cancel_after, _conn, turns - 1)

            # Registered after the store's own listener: runs right after it.
            conn.add_termination_listener(cancel_after)
            conn.terminate()
            done, _ = await asyncio.wait({task}, timeout=5.0)
            if not done:
                task.cancel()  # tidy up; the stray reconnect loop ends here
                await asyncio.wait({task}, timeout=5.0)
            assert done, f"the listener ignored a cancel {turns} loop turns after its connection dropped"
            assert task.cancelled()
    finally:
        await store.close()
