"""Inbound rate limits and the failed-authentication throttle."""

import asyncio

import pytest

from keys import secrets
from proxy.config import Config, ConfigError
from proxy.directory import THROTTLED_LOOKUPS
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
        # A guess already found unknown is answered without the store.
        before = api.runtime.directory.store_queries
        for _ in range(3):
            response = await api.client.get("/ecommerce/customers/1", headers={"x-api-key": f"sk_{7:043d}"})
            assert response.status_code == 429
        assert api.runtime.directory.store_queries == before, "a repeated guess must not reach the store"
        assert (await api.get_customer(tenant, token, "1")).status_code == 200


def bad_key(n):
    return f"sk_{n:043d}"


async def test_a_valid_never_used_key_is_accepted_after_31_bad_keys(tmp_path):
    """The default budget (30 a minute) spent by a guesser at one address
    (a load balancer's, say) does not lock out a real client there."""
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})
        codes = [
            (await api.client.get("/connections", headers={"x-api-key": bad_key(n)})).status_code
            for n in range(35)
        ]
        assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}
        # Never used, so not in any cache: looked up, found, accepted.
        assert api.runtime.directory.keys.get(secrets.digest(tenant.api_key)) is None
        response = await api.get_customer(tenant, token, "1")
        assert response.status_code == 200, response.text
        assert (await api.client.get("/connections", headers={"x-api-key": tenant.api_key})).status_code == 200
        # A second tenant's fresh key too, through the management API first.
        other = await api.tenant("other")
        assert (await api.client.get("/connections", headers={"x-api-key": other.api_key})).status_code == 200
        # Guessing is still refused, well-formed or not.
        for key in (bad_key(99), bad_key(100), "not-a-key"):
            response = await api.client.get("/connections", headers={"x-api-key": key})
            assert response.status_code == 429 and response.json()["code"] == "rate_limited"
            assert int(response.headers["Retry-After"]) >= 1


async def test_a_flood_of_fresh_guesses_has_a_bounded_cost_to_the_store(tmp_path):
    async with running_app(tmp_path, auth_failures_per_minute=3) as api:
        tenant = await api.tenant()
        store = api.runtime.directory.store
        real_key_owner = store.key_owner
        in_flight = peak = calls = 0

        async def key_owner(digest):
            nonlocal in_flight, peak, calls
            calls += 1
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0.01)  # a store under load: reads overlap
                return await real_key_owner(digest)
            finally:
                in_flight -= 1

        store.key_owner = key_owner
        for n in range(3):  # spend the budget
            await api.client.get("/connections", headers={"x-api-key": bad_key(n)})

        async def guess(n):
            return (await api.client.get("/connections", headers={"x-api-key": bad_key(n)})).status_code

        async def real():
            return (await api.client.get("/connections", headers={"x-api-key": tenant.api_key})).status_code

        *guessed, accepted = await asyncio.gather(*(guess(n) for n in range(1000, 1060)), real())
        assert set(guessed) == {429} and accepted == 200
        assert peak <= THROTTLED_LOOKUPS, peak
        # Each distinct guess is read once; repeating them costs nothing more.
        before = calls
        assert set(await asyncio.gather(*(guess(n) for n in range(1000, 1060)))) == {429}
        assert calls == before


async def test_forwarded_for_is_ignored_from_untrusted_peers(tmp_path):
    # The test client's peer address is 127.0.0.1: not among these proxies.
    async with running_app(tmp_path, auth_failures_per_minute=5, trusted_proxies=("10.0.0.0/8",)) as api:
        codes = []
        for n in range(8):
            headers = {"x-api-key": bad_key(n), "x-forwarded-for": f"198.51.100.{n}"}
            codes.append((await api.client.get("/connections", headers=headers)).status_code)
        assert codes == [401] * 5 + [429] * 3  # one budget: the peer's


async def test_forwarded_for_names_the_client_behind_a_trusted_proxy(tmp_path):
    trusted = ("127.0.0.1", "10.0.0.0/8")
    async with running_app(tmp_path, auth_failures_per_minute=5, trusted_proxies=trusted) as api:
        tenant = await api.tenant()

        async def status(key, forwarded):
            headers = {"x-api-key": key, "x-forwarded-for": forwarded}
            return (await api.client.get("/connections", headers=headers)).status_code

        # A guesser at 203.0.113.7, behind two trusted hops.
        codes = [await status(bad_key(n), "203.0.113.7, 10.1.2.3") for n in range(7)]
        assert codes == [401] * 5 + [429] * 2
        # Prepending addresses does not change who it is (the right-most
        # untrusted entry is what the trusted proxy saw).
        assert await status(bad_key(50), "192.0.2.1, 203.0.113.7") == 429
        assert await status(bad_key(51), "192.0.2.1,203.0.113.7, 10.9.9.9") == 429
        # Another client behind the same proxy keeps its own budget...
        assert await status(bad_key(52), "198.51.100.20") == 401
        # ...and a real key is accepted from the guesser's own address.
        assert await status(tenant.api_key, "203.0.113.7") == 200
        # IPv6 clients are counted per /64.
        codes = [await status(bad_key(60 + n), f"2001:db8:1:2::{n + 1:x}") for n in range(7)]
        assert codes == [401] * 5 + [429] * 2
        assert await status(bad_key(70), "2001:db8:1:3::1") == 401


@pytest.mark.parametrize(
    "value, problem",
    [("10.0.0.0/8, nonsense", "nonsense"), ("10.0.0.0/33", "10.0.0.0/33")],
)
def test_trusted_proxies_are_validated_at_startup(value, problem):
    with pytest.raises(ConfigError, match="SHOPRELAY_TRUSTED_PROXIES") as caught:
        Config.from_env({"SHOPRELAY_TRUSTED_PROXIES": value})
    assert problem in str(caught.value)
    config = Config.from_env({"SHOPRELAY_TRUSTED_PROXIES": " 10.0.0.1 , 2001:db8::/64,,"})
    assert config.trusted_proxies == ("10.0.0.1/32", "2001:db8::/64")
    assert Config.from_env({}).trusted_proxies == ()
