"""/ready answers 503 for a store that answers reads but cannot write."""

from tests.harness import running_app


async def test_ready_reports_a_store_that_cannot_write(tmp_path):
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})
        assert (await api.client.get("/ready")).status_code == 200

        # What SQLite does with a database it may not write (a read-only
        # file or mount): reads work, every write fails. The tests run as
        # root, for whom file modes do not stop writes, so SQLite is told.
        store = api.runtime.store
        await store._run(lambda c: c.execute("PRAGMA query_only = ON"))
        assert (await api.client.get("/connections", headers={"x-api-key": tenant.api_key})).status_code == 200

        ready = await api.client.get("/ready")
        assert ready.status_code == 503, ready.text
        problem = ready.json()
        assert problem["code"] == "store_unavailable" and "cannot write" in problem["detail"]
        assert (await api.client.get("/health")).status_code == 200
        # Cached reads keep being served meanwhile.
        assert (await api.get_customer(tenant, token, "1")).status_code == 200

        await store._run(lambda c: c.execute("PRAGMA query_only = OFF"))
        assert (await api.client.get("/ready")).status_code == 200
