"""Inbound rate limits and the failed-authentication throttle."""

import pytest

from tests.harness import running_app


async def test_tenant_rate_limit_answers_429_with_headers(tmp_path):
    async with running_app(tmp_path, tenant_rps=1.0, connection_rps=0) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})
        statuses = [(await api.get_customer(tenant, token, "1")).status_code for _ in range(4)]
        assert statuses[:2] == [200, 200] and statuses[-1] == 429
        limited = await api.get_customer(tenant, token, "1")
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["RateLimit-Remaining"] == "0"
        assert "RateLimit-Limit" in limited.headers and "RateLimit-Reset" in limited.headers
        # Another tenant is not affected.
        other = await api.tenant("other")
        _, other_token = await api.connection(other, "sandbox", {})
        assert (await api.get_customer(other, other_token, "1")).status_code == 200


async def test_connection_rate_limit_is_per_connection(tmp_path):
    async with running_app(tmp_path, tenant_rps=0, connection_rps=1.0) as api:
        tenant = await api.tenant()
        _, busy = await api.connection(tenant, "sandbox", {})
        _, calm = await api.connection(tenant, "sandbox", {})
        codes = [(await api.get_customer(tenant, busy, "1")).status_code for _ in range(4)]
        assert codes[-1] == 429
        assert (await api.get_customer(tenant, calm, "1")).status_code == 200


async def test_key_guessing_is_throttled_but_valid_keys_pass(tmp_path):
    async with running_app(tmp_path, auth_failures_per_minute=5) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})
        assert (await api.get_customer(tenant, token, "1")).status_code == 200  # key now known
        codes = []
        for n in range(8):
            response = await api.client.get(
                "/ecommerce/customers/1",
                headers={"x-api-key": f"sk_{n:043d}", "x-connection-token": token},
            )
            codes.append(response.json()["code"])
        assert codes[:5] == ["invalid_api_key"] * 5
        assert set(codes[5:]) == {"rate_limited"}
        before = api.runtime.directory.store_queries
        await api.client.get("/ecommerce/customers/1", headers={"x-api-key": "sk_" + "9" * 43})
        assert api.runtime.directory.store_queries == before, "throttled guesses must not reach the store"
        assert (await api.get_customer(tenant, token, "1")).status_code == 200
