"""The customer route end to end on the sandbox provider: auth, isolation,
parameters, errors and caching."""

import sqlite3

import pytest

from proxy.clock import now_text
from tests.harness import running_app


@pytest.fixture
async def api(tmp_path):
    async with running_app(tmp_path) as harness:
        yield harness


async def test_fetches_a_unified_customer(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    response = await api.get_customer(tenant, token, "1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["id"] == body["remote_id"] == "1"
    assert body["remote_data"] is None
    assert body["field_mappings"] == {}
    expected_keys = {
        "id", "remote_id", "email", "first_name", "last_name", "name", "company_name",
        "phone_number", "status", "currency", "emails", "phones", "addresses",
        "field_mappings", "remote_data", "created_at", "modified_at",
    }
    assert set(body) == expected_keys
    address_keys = {"id", "street_1", "street_2", "city", "state", "postal_code", "country",
                    "address_type", "owner_type"}
    assert all(set(a) == address_keys for a in body["addresses"])
    assert response.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("value, included", [
    ("true", True), ("TRUE", True), ("1", True), ("True", True),
    ("false", False), ("FALSE", False), ("0", False),
])
async def test_remote_data_values(api, value, included):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    body = (await api.get_customer(tenant, token, "2", remote_data=value)).json()
    if included:
        assert body["remote_data"]["customer_id"] == 2
    else:
        assert body["remote_data"] is None


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "", "truee"])
async def test_bad_remote_data_is_400(api, value):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    response = await api.get_customer(tenant, token, "2", remote_data=value)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "invalid_parameter"
    assert problem["parameter"] == "remote_data"
    assert response.headers["content-type"] == "application/problem+json"


async def test_missing_and_unknown_api_key(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    missing = await api.client.get("/ecommerce/customers/1", headers={"x-connection-token": token})
    assert missing.status_code == 401 and missing.json()["code"] == "missing_api_key"
    for bad in ["sk_" + "A" * 43, "nonsense", "sk_' OR 1=1 --"]:
        unknown = await api.client.get(
            "/ecommerce/customers/1", headers={"x-api-key": bad, "x-connection-token": token}
        )
        assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_api_key"


async def test_problem_envelope(api):
    response = await api.client.get("/ecommerce/customers/1", headers={"x-request-id": "client-id-123"})
    problem = response.json()
    assert set(problem) == {"type", "title", "status", "detail", "code", "request_id"}
    assert problem["status"] == 401
    assert problem["request_id"] == response.headers["x-request-id"] == "client-id-123"


async def test_a_secret_in_the_request_id_header_is_not_adopted(api):
    tenant = await api.tenant()
    response = await api.client.get("/ecommerce/customers/1", headers={"x-request-id": tenant.api_key})
    assert response.headers["x-request-id"].startswith("req_")
    assert tenant.api_key not in response.text


async def test_missing_and_unknown_token(api):
    tenant = await api.tenant()
    missing = await api.client.get("/ecommerce/customers/1", headers={"x-api-key": tenant.api_key})
    assert missing.status_code == 401 and missing.json()["code"] == "missing_connection_token"
    unknown = await api.get_customer(tenant, "ct_" + "B" * 43, "1")
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_connection_token"


async def test_another_tenants_token_is_indistinguishable_from_unknown(api):
    alice, bob = await api.tenant("alice"), await api.tenant("bob")
    _, bobs_token = await api.connection(bob, "sandbox", {})
    # Warm Bob's connection into the cache first: isolation must hold there too.
    assert (await api.get_customer(bob, bobs_token, "1")).status_code == 200
    foreign = await api.get_customer(alice, bobs_token, "1")
    unknown = await api.get_customer(alice, "ct_" + "C" * 43, "1")
    assert foreign.status_code == unknown.status_code == 401
    strip = lambda p: {k: v for k, v in p.items() if k != "request_id"}  # noqa: E731
    assert strip(foreign.json()) == strip(unknown.json())
    assert foreign.headers.keys() == unknown.headers.keys()


async def test_revoked_key_fails_immediately(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    assert (await api.get_customer(tenant, token, "1")).status_code == 200  # cached now
    await api.runtime.store.revoke_api_key(tenant.api_key_id, now_text())
    await api.runtime.directory.poll_once()
    response = await api.get_customer(tenant, token, "1")
    assert response.status_code == 401 and response.json()["code"] == "invalid_api_key"


async def test_deleted_connection_fails_immediately(api):
    tenant = await api.tenant()
    conn_id, token = await api.connection(tenant, "sandbox", {})
    assert (await api.get_customer(tenant, token, "1")).status_code == 200
    assert await api.runtime.store.delete_connection(conn_id)
    await api.runtime.directory.poll_once()
    response = await api.get_customer(tenant, token, "1")
    assert response.status_code == 401 and response.json()["code"] == "invalid_connection_token"


async def test_warm_requests_make_no_store_queries(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    await api.get_customer(tenant, token, "1")
    before = api.runtime.directory.store_queries
    for customer_id in ("1", "2", "3", "4"):
        assert (await api.get_customer(tenant, token, customer_id)).status_code == 200
    assert api.runtime.directory.store_queries == before


@pytest.mark.parametrize("customer_id", ["999999", "abc", "0", "-1", "1.5", "%2E%2E"])
async def test_not_found_and_malformed_ids(api, customer_id):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    response = await api.get_customer(tenant, token, customer_id)
    assert response.status_code == 404
    problem = response.json()
    assert problem["code"] == "customer_not_found"
    assert problem["provider"] == "sandbox"


async def test_health_and_ready(api):
    assert (await api.client.get("/health")).json() == {"status": "ok"}
    assert (await api.client.get("/ready")).json() == {"status": "ready"}


async def test_unknown_route_and_method_are_problems(api):
    missing = await api.client.get("/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = await api.client.post("/ecommerce/customers/1")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


async def test_database_holds_no_plaintext_secret(api, tmp_path):
    tenant = await api.tenant()
    secret_value = "shpat_PLAINTEXT_CANARY_0123456789"
    _, token = await api.connection(
        tenant, "shopify", {"access_token": secret_value}, {"shop": "canary-shop"}
    )
    await api.runtime.directory.flush_last_used()
    raw = b""
    for suffix in ("", "-wal"):
        path = tmp_path / f"shoprelay.db{suffix}"
        if path.exists():
            raw += path.read_bytes()
    assert raw, "database file should exist"
    for needle in (secret_value, tenant.api_key, token, tenant.api_key[3:], token[3:]):
        assert needle.encode() not in raw
    rows = sqlite3.connect(tmp_path / "shoprelay.db").execute(
        "SELECT credentials_ciphertext FROM connections"
    ).fetchall()
    assert rows and all(secret_value.encode() not in bytes(r[0]) for r in rows)


async def test_a_started_service_collects_garbage_less_often(api):
    import gc

    from proxy import gc_tuning

    assert gc.get_threshold()[0] == gc_tuning.YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 0  # startup objects are out of the collector's sight
