"""The tenant management API and the admin API: behaviour and isolation."""

import sqlite3

import pytest

from tests.harness import running_app

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture
async def api(tmp_path):
    async with running_app(tmp_path, admin_token=ADMIN) as harness:
        yield harness


def h(tenant):
    return {"x-api-key": tenant.api_key}


async def create(api, tenant, **body):
    payload = {"provider": "sandbox", "credentials": {}, "settings": {"size": 20}}
    payload.update(body)
    return await api.client.post("/connections", json=payload, headers=h(tenant))


async def test_create_connection_and_use_its_token(api):
    tenant = await api.tenant()
    response = await create(api, tenant)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "provider", "status", "token_prefix", "settings", "end_user_id", "tags",
                         "created_at", "updated_at", "connection_token"}
    assert body["end_user_id"] is None and body["tags"] == {}  # the connect flow sets them
    assert body["status"] == "active" and body["provider"] == "sandbox"
    assert body["connection_token"].startswith(body["token_prefix"])
    customer = await api.get_customer(tenant, body["connection_token"], "3")
    assert customer.status_code == 200


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"provider": "nope", "credentials": {}}, "unknown provider"),
        ({"provider": "shopify", "credentials": {}, "settings": {"shop": "x-y"}}, "access_token"),
        ({"provider": "sandbox", "credentials": {}, "settings": {"size": 0}}, "size"),
        ({"provider": "sandbox"}, "credentials"),
        ({"provider": "sandbox", "credentials": {}, "extra": 1}, "extra"),
    ],
)
async def test_invalid_connection_input_stores_nothing(api, tmp_path, payload, fragment):
    tenant = await api.tenant()
    response = await api.client.post("/connections", json=payload, headers=h(tenant))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert fragment in response.json()["detail"]
    count = sqlite3.connect(tmp_path / "shoprelay.db").execute("SELECT COUNT(*) FROM connections").fetchone()[0]
    assert count == 0


async def test_malformed_body(api):
    tenant = await api.tenant()
    response = await api.client.post("/connections", content=b"{nope", headers=h(tenant))
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"
    response = await api.client.post("/connections", content=b"x" * 70_000, headers=h(tenant))
    assert response.status_code == 413


NESTED = "[" * 32_000 + "]" * 32_000


@pytest.mark.parametrize(
    "method, body",
    [
        ("POST", '{"provider": "sandbox", "credentials": {"a": %s}}' % NESTED),
        ("POST", '{"provider": "sandbox", "credentials": {}, "settings": {"a": %s}}' % NESTED),
        ("PATCH", '{"credentials": {"a": %s}}' % NESTED),
        ("POST", '{"provider": "sandbox", "credentials": {"a": %s}}' % ("[" * 32 + "]" * 32)),
        ("POST", "[" * 32_000),  # not even valid JSON
    ],
)
async def test_deeply_nested_json_is_400_not_a_500(api, tmp_path, method, body):
    """32,000 levels of nesting in credentials raised RecursionError (a 500)."""
    tenant = await api.tenant()
    created = (await create(api, tenant)).json()
    path = "/connections" if method == "POST" else f"/connections/{created['id']}"
    response = await api.client.request(method, path, content=body.encode(), headers=h(tenant))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.json()["detail"] == "the body nests deeper than 32 levels"
    count = sqlite3.connect(tmp_path / "shoprelay.db").execute("SELECT COUNT(*) FROM connections").fetchone()[0]
    assert count == 1
    # 32 levels in all (the body, credentials and 30 arrays) is within the bound.
    fits = '{"provider": "sandbox", "credentials": {"a": %s}}' % ("[" * 30 + "]" * 30)
    decoded = await api.client.post("/connections", content=fits.encode(), headers=h(tenant))
    assert decoded.status_code == 400 and "credentials" in decoded.json()["detail"]  # sandbox takes none


async def test_list_is_paged_and_shows_no_secrets(api):
    tenant = await api.tenant()
    tokens = [(await create(api, tenant)).json()["connection_token"] for _ in range(3)]
    first = (await api.client.get("/connections?limit=2", headers=h(tenant))).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    second = (await api.client.get(f"/connections?limit=2&cursor={first['next_cursor']}", headers=h(tenant))).json()
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    ids = [c["id"] for c in first["data"] + second["data"]]
    assert len(set(ids)) == 3
    text = str(first) + str(second)
    assert all(token not in text for token in tokens)
    assert "credentials" not in text and "digest" not in text
    bad = await api.client.get("/connections?limit=0", headers=h(tenant))
    assert bad.status_code == 400 and bad.json()["parameter"] == "limit"
    bad = await api.client.get("/connections?cursor=%%%", headers=h(tenant))
    assert bad.status_code == 400 and bad.json()["parameter"] == "cursor"


async def test_patch_replaces_settings_and_takes_effect(api):
    tenant = await api.tenant()
    created = (await create(api, tenant)).json()
    token = created["connection_token"]
    assert (await api.get_customer(tenant, token, "15")).status_code == 200
    patched = await api.client.patch(
        f"/connections/{created['id']}", json={"settings": {"size": 10}}, headers=h(tenant)
    )
    assert patched.status_code == 200 and patched.json()["settings"]["size"] == 10
    assert (await api.get_customer(tenant, token, "15")).status_code == 404
    empty = await api.client.patch(f"/connections/{created['id']}", json={}, headers=h(tenant))
    assert empty.status_code == 400
    bad = await api.client.patch(
        f"/connections/{created['id']}", json={"settings": {"size": -1}}, headers=h(tenant)
    )
    assert bad.status_code == 400


async def test_rotate_token_kills_the_old_one(api):
    tenant = await api.tenant()
    created = (await create(api, tenant)).json()
    old = created["connection_token"]
    assert (await api.get_customer(tenant, old, "1")).status_code == 200
    rotated = await api.client.post(f"/connections/{created['id']}/rotate-token", headers=h(tenant))
    assert rotated.status_code == 200
    new = rotated.json()["connection_token"]
    assert new != old
    assert (await api.get_customer(tenant, old, "1")).json()["code"] == "invalid_connection_token"
    assert (await api.get_customer(tenant, new, "1")).status_code == 200


async def test_delete_kills_the_token(api):
    tenant = await api.tenant()
    created = (await create(api, tenant)).json()
    token = created["connection_token"]
    assert (await api.get_customer(tenant, token, "1")).status_code == 200
    assert (await api.client.delete(f"/connections/{created['id']}", headers=h(tenant))).status_code == 204
    assert (await api.get_customer(tenant, token, "1")).json()["code"] == "invalid_connection_token"
    again = await api.client.get(f"/connections/{created['id']}", headers=h(tenant))
    assert again.status_code == 404


async def test_verify_true_on_a_working_connection(api):
    tenant = await api.tenant()
    response = await api.client.post(
        "/connections?verify=true", json={"provider": "sandbox", "credentials": {}}, headers=h(tenant)
    )
    assert response.status_code == 201


async def test_every_management_route_is_tenant_isolated(api):
    alice, bob = await api.tenant("alice"), await api.tenant("bob")
    bobs = (await create(api, bob)).json()
    mapping = await api.client.post(
        "/field-mappings",
        json={"name": "given", "provider": "sandbox", "expression": "given_name"},
        headers=h(bob),
    )
    assert mapping.status_code == 201
    mapping_id = mapping.json()["id"]
    unknown = "00000000-0000-0000-0000-000000000000"
    for method, path, body in [
        ("GET", "/connections/{}", None),
        ("PATCH", "/connections/{}", {"settings": {"size": 1}}),
        ("POST", "/connections/{}/rotate-token", None),
        ("DELETE", "/connections/{}", None),
    ]:
        theirs = await api.client.request(method, path.format(bobs["id"]), json=body, headers=h(alice))
        nothing = await api.client.request(method, path.format(unknown), json=body, headers=h(alice))
        assert theirs.status_code == nothing.status_code == 404, (method, path)
        assert theirs.json()["detail"] == nothing.json()["detail"]
    scoped = await api.client.post(
        "/field-mappings",
        json={"name": "x", "provider": "sandbox", "expression": "a", "connection_id": bobs["id"]},
        headers=h(alice),
    )
    assert scoped.status_code == 404
    assert (await api.client.delete(f"/field-mappings/{mapping_id}", headers=h(alice))).status_code == 404
    assert (await api.client.get("/connections", headers=h(alice))).json()["data"] == []
    assert (await api.client.get("/field-mappings", headers=h(alice))).json()["data"] == []
    # Bob's things are untouched.
    assert (await api.get_customer(bob, bobs["connection_token"], "15")).status_code == 200
    assert len((await api.client.get("/field-mappings", headers=h(bob))).json()["data"]) == 1


async def test_management_requires_an_api_key(api):
    for method, path in [("GET", "/connections"), ("POST", "/connections"), ("GET", "/field-mappings")]:
        response = await api.client.request(method, path)
        assert response.status_code == 401 and response.json()["code"] == "missing_api_key"


async def test_admin_api(api):
    assert (await api.client.get("/admin/tenants")).status_code == 401
    bad = await api.client.get("/admin/tenants", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_admin_token"
    auth = {"Authorization": f"Bearer {ADMIN}"}
    tenant = await api.client.post("/admin/tenants", json={"name": "Acme"}, headers=auth)
    assert tenant.status_code == 201
    tenant_id = tenant.json()["id"]
    key = await api.client.post(f"/admin/tenants/{tenant_id}/api-keys", json={"name": "k"}, headers=auth)
    assert key.status_code == 201 and key.json()["api_key"].startswith("sk_")
    listed = (await api.client.get("/admin/tenants", headers=auth)).json()["data"]
    assert tenant_id in [t["id"] for t in listed]
    api_key = key.json()["api_key"]
    assert (await api.client.get("/connections", headers={"x-api-key": api_key})).status_code == 200
    revoked = await api.client.delete(f"/admin/api-keys/{key.json()['id']}", headers=auth)
    assert revoked.status_code == 204
    after = await api.client.get("/connections", headers={"x-api-key": api_key})
    assert after.status_code == 401 and after.json()["code"] == "invalid_api_key"
    assert (await api.client.post("/admin/tenants/nope/api-keys", headers=auth)).status_code == 404
    assert (await api.client.delete("/admin/api-keys/nope", headers=auth)).status_code == 404


async def test_admin_api_is_disabled_without_a_token(tmp_path):
    async with running_app(tmp_path) as harness:
        response = await harness.client.get("/admin/tenants", headers={"Authorization": "Bearer x"})
        assert response.status_code == 404


# -- end users and tags (issue 14) -------------------------------------------------


async def linked(api, tenant, end_user_id=None, tags=None):
    """A connection as the connect flow stores it (with its end user and tags)."""
    from proxy import accounts

    connection, _ = await accounts.create_connection(
        api.runtime.store, api.runtime.keyring, tenant.id, "sandbox", {}, {"size": 5},
        end_user_id=end_user_id, tags=tags,
    )
    return connection.id


async def test_connections_show_end_user_and_tags_everywhere(api):
    tenant = await api.tenant()
    conn_id = await linked(api, tenant, "merchant-42", {"plan": "pro", "region": "eu"})
    shown = {"end_user_id": "merchant-42", "tags": {"plan": "pro", "region": "eu"}}
    one = (await api.client.get(f"/connections/{conn_id}", headers=h(tenant))).json()
    assert {k: one[k] for k in shown} == shown
    listed = (await api.client.get("/connections", headers=h(tenant))).json()["data"]
    assert {k: listed[0][k] for k in shown} == shown
    patched = await api.client.patch(f"/connections/{conn_id}", json={"settings": {"size": 6}}, headers=h(tenant))
    assert {k: patched.json()[k] for k in shown} == shown  # an update keeps them
    rotated = await api.client.post(f"/connections/{conn_id}/rotate-token", headers=h(tenant))
    assert {k: rotated.json()[k] for k in shown} == shown


async def test_list_connections_by_end_user(api):
    tenant, other = await api.tenant("a"), await api.tenant("b")
    alice = [await linked(api, tenant, "alice", {"n": str(n)}) for n in range(5)]
    await linked(api, tenant, "bob")
    await linked(api, tenant)
    await linked(api, other, "alice")  # another tenant's alice

    async def page(**query):
        response = await api.client.get("/connections", params=query, headers=h(tenant))
        assert response.status_code == 200, response.text
        return response.json()

    in_order = [c["id"] for c in (await page(end_user_id="alice"))["data"]]  # (created_at, id) order
    assert sorted(in_order) == sorted(alice)
    first = await page(end_user_id="alice", limit=2)
    second = await page(end_user_id="alice", limit=2, cursor=first["next_cursor"])
    third = await page(end_user_id="alice", limit=2, cursor=second["next_cursor"])
    assert [c["id"] for p in (first, second, third) for c in p["data"]] == in_order
    assert third["next_cursor"] is None
    assert [c["end_user_id"] for c in (await page(end_user_id="bob"))["data"]] == ["bob"]
    assert (await page(end_user_id="carol"))["data"] == []
    assert (await page(end_user_id="alice\x00"))["data"] == []
    assert len((await page())["data"]) == 7  # no filter: every connection of the tenant


@pytest.mark.parametrize("query", ["end_user_id=", "end_user_id=" + "x" * 201, "end_user_id=a&end_user_id=b"])
async def test_a_bad_end_user_filter_is_refused(api, query):
    tenant = await api.tenant()
    response = await api.client.get(f"/connections?{query}", headers=h(tenant))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter" and response.json()["parameter"] == "end_user_id"
