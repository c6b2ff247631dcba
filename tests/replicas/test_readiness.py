"""/ready on PostgreSQL: a server that stops taking writes (a database set
read-only, as failover tools and disk-full guards do; a standby answers the
same way) makes the replica unready, and ready again when writes work."""

import asyncpg

from tests.replicas.conftest import replicas


async def set_read_only(admin: asyncpg.Connection, name: str, on: bool) -> None:
    """Sets (or resets) database ``name`` read-only by default. The setting
    applies to new sessions: end the app's current ones (the store
    reconnects by itself)."""
    change = "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
    await admin.execute(f'ALTER DATABASE "{name}" {change}')
    await admin.fetchval(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
        name,
    )


async def ready_once_reconnected(api, tries: int = 10):
    """/ready, asked again while the answer is "does not answer": right
    after the terminations the store is reconnecting, and on a loaded
    machine that can take longer than the probe's 2 s deadline (the 503
    is then right; it is not what this test is about)."""
    for _ in range(tries):
        ready = await api.client.get("/ready")
        if ready.status_code != 503 or "does not answer" not in ready.json()["detail"]:
            break
    return ready


async def test_ready_reports_a_read_only_database(tmp_path, pg):
    admin = await asyncpg.connect(pg.database.url, timeout=5, command_timeout=10)
    name = pg.database.name
    try:
        async with replicas(tmp_path, pg.url, count=1) as (api,):
            assert (await api.client.get("/ready")).status_code == 200
            await set_read_only(admin, name, True)
            ready = await ready_once_reconnected(api)
            assert ready.status_code == 503, ready.text
            assert ready.json()["code"] == "store_unavailable"
            assert "cannot write" in ready.json()["detail"]
            assert (await api.client.get("/health")).status_code == 200

            await set_read_only(admin, name, False)
            ready = await ready_once_reconnected(api)
            assert ready.status_code == 200, ready.text
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        await admin.close()
