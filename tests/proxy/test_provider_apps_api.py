"""A tenant's own provider apps over HTTP (issue 15): PUT/GET/DELETE
/provider-apps/{provider} and GET /provider-apps with x-api-key; the
client secret goes in and never comes out; another tenant's app is never
seen; hostile input is a 4xx naming what is wrong; the OAuth flows'
``resolve`` picks the tenant's app over the operator's default."""

import json

import pytest

from proxy import accounts, provider_apps
from tests.harness import running_app
from tests.store.test_provider_apps_store import secret_of
from tests.logtrap import Trap, trap  # noqa: F401 (the fixture)

SECRET = "cnry-app-secret-7f3a91"
PUBLIC = "https://relay.example.com"


@pytest.fixture
async def api(tmp_path):
    # The guard as in production: plain http and private addresses refused.
    async with running_app(tmp_path, allow_private_networks=False, public_url=PUBLIC) as harness:
        yield harness


def h(tenant):
    return {"x-api-key": tenant.api_key}


def body(**fields):
    return {"client_id": "app-client-1", "client_secret": SECRET, **fields}


async def put(api, tenant, provider="shopify", **fields):
    return await api.client.put(f"/provider-apps/{provider}", headers=h(tenant), json=body(**fields))


async def two_tenants_and_a_default(api):
    """Tenants acme and other, and the operator's default Shopify app."""
    acme, other = await api.tenant("acme"), await api.tenant("other")
    runtime = api.runtime
    await provider_apps.put_app(
        runtime.store, runtime.keyring, None, "shopify", "operator-app", "cnry-operator-secret",
        allow_private_networks=False,
    )
    return acme, other, runtime


# -- PUT ----------------------------------------------------------------------


async def test_put_creates_then_replaces_and_never_returns_the_secret(api):
    acme = await api.tenant()
    created = await put(api, acme)
    assert created.status_code == 201, created.text
    view = created.json()
    assert view == {
        "provider": "shopify", "client_id": "app-client-1", "scopes": ["read_customers"],
        "settings": {}, "owner": "tenant", "created_at": view["created_at"],
        "updated_at": view["created_at"],
        "callback_url": f"{PUBLIC}/connect/oauth/shopify/callback",
    }
    replaced = await put(
        api, acme, client_id="app-client-2", client_secret="cnry-second-secret-0b2e",
        scopes=["read_customers", "read_orders"], settings={"auth_url": "https://auth.example.com"},
    )
    assert replaced.status_code == 200, replaced.text
    again = replaced.json()
    assert (again["client_id"], again["scopes"], again["settings"]) == (
        "app-client-2", ["read_customers", "read_orders"], {"auth_url": "https://auth.example.com"},
    )
    assert again["created_at"] == view["created_at"]
    for response in (created, replaced):
        assert "secret" not in response.text.lower()

    resolved = await provider_apps.resolve(api.runtime, acme.id, "shopify")
    assert (resolved.client_id, resolved.client_secret, resolved.owner) == (
        "app-client-2", "cnry-second-secret-0b2e", "tenant",
    )
    assert resolved.origin("https://shop.myshopify.com") == "https://auth.example.com"
    assert resolved.api_origin("https://shop.myshopify.com") == "https://shop.myshopify.com"
    assert "cnry" not in repr(resolved) and "cnry" not in str(resolved)


async def test_default_scopes_per_platform(api):
    acme = await api.tenant()
    zoho = await put(api, acme, provider="zoho_inventory")
    assert zoho.json()["scopes"] == ["ZohoInventory.contacts.READ", "ZohoInventory.settings.READ"]
    wix = await put(api, acme, provider="wix", scopes=[])
    assert wix.json()["scopes"] == []


async def test_a_tenants_app_wins_over_the_default_and_stays_its_own(api):
    acme, other, runtime = await two_tenants_and_a_default(api)
    assert (await put(api, acme)).status_code == 201
    mine = await provider_apps.resolve(runtime, acme.id, "shopify")
    theirs = await provider_apps.resolve(runtime, other.id, "shopify")
    assert (mine.client_id, mine.owner, mine.tenant_id) == ("app-client-1", "tenant", acme.id)
    assert (theirs.client_id, theirs.owner, theirs.tenant_id) == ("operator-app", "operator", None)
    assert theirs.client_secret == "cnry-operator-secret"
    assert await provider_apps.resolve(runtime, other.id, "wix") is None


async def test_put_needs_a_valid_api_key(api):
    missing = await api.client.put("/provider-apps/shopify", json=body())
    assert (missing.status_code, missing.json()["code"]) == (401, "missing_api_key")
    wrong = await api.client.put("/provider-apps/shopify", headers={"x-api-key": "sk_nope"}, json=body())
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_api_key")


@pytest.mark.parametrize("provider", ["nope", "sandbox", "commerce7", "woocommerce", "a" * 300, "%00"])
async def test_put_for_a_provider_without_apps_is_404(api, provider):
    acme = await api.tenant()
    response = await put(api, acme, provider=provider)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert "a" * 100 not in response.text
    assert await api.runtime.store.list_provider_apps(acme.id) == []


@pytest.mark.parametrize("fields, parameter", [
    ({"client_id": ""}, "client_id"),
    ({"client_id": "has space"}, "client_id"),
    ({"client_id": "x" * 257}, "client_id"),
    ({"client_id": "tab\tin"}, "client_id"),
    ({"client_secret": ""}, "client_secret"),
    ({"client_secret": "s" * 1025}, "client_secret"),
    ({"client_secret": "new\nline"}, "client_secret"),
    ({"scopes": ["s"] * 21}, "scopes"),
    ({"scopes": [""]}, "scopes"),
    ({"scopes": ["x" * 129]}, "scopes"),
    ({"scopes": ["two words"]}, "scopes"),
    ({"settings": {"webhook_url": "https://x.example.com"}}, "settings.webhook_url"),
    ({"settings": {"auth_url": "http://auth.example.com"}}, "settings.auth_url"),
    ({"settings": {"auth_url": "https://127.0.0.1"}}, "settings.auth_url"),
    ({"settings": {"auth_url": "https://169.254.169.254"}}, "settings.auth_url"),
    ({"settings": {"auth_url": "https://[::1]:8443"}}, "settings.auth_url"),
    ({"settings": {"base_url": "https://10.1.2.3"}}, "settings.base_url"),
    ({"settings": {"base_url": "https://api.example.com/path"}}, "settings.base_url"),
    ({"settings": {"base_url": "ftp://api.example.com"}}, "settings.base_url"),
    ({"settings": {"base_url": "not a url"}}, "settings.base_url"),
    ({"settings": {"base_url": 5}}, "settings.base_url"),
    ({"settings": {"base_url": "https://" + "a" * 3000 + ".com"}}, "settings.base_url"),
])
async def test_hostile_fields_are_400_naming_the_field_and_store_nothing(api, fields, parameter):
    acme = await api.tenant()
    response = await put(api, acme, **fields)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert (problem["code"], problem["parameter"]) == ("invalid_parameter", parameter)
    assert SECRET not in response.text and len(response.text) < 2000
    assert await api.runtime.store.list_provider_apps(acme.id) == []


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"[]", b'{"client_id": "a"}', b'{"client_id": 1, "client_secret": "s"}',
    b'{"client_id": "a", "client_secret": "s", "extra": 1}', b"[" * 100 + b"]" * 100,
    b'{"client_id": "a", "client_secret": "s", "scopes": "read_customers"}',
    b'{"client_id": "a", "client_secret": "s", "settings": []}',
])
async def test_malformed_bodies_are_400(api, raw):
    acme = await api.tenant()
    response = await api.client.put(
        "/provider-apps/shopify", headers={**h(acme), "content-type": "application/json"}, content=raw
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"


async def test_an_oversized_body_is_413(api):
    acme = await api.tenant()
    response = await put(api, acme, client_secret="s" * 70_000)
    assert response.status_code == 413


async def test_private_networks_allowed_admit_a_local_auth_server(tmp_path):
    async with running_app(tmp_path, allow_private_networks=True) as harness:
        acme = await harness.tenant()
        response = await put(harness, acme, settings={"auth_url": "http://127.0.0.1:8081", "base_url": None})
        assert response.status_code == 201, response.text
        assert response.json()["settings"] == {"auth_url": "http://127.0.0.1:8081"}


# -- GET, DELETE, list -----------------------------------------------------------


async def test_get_list_delete_show_only_the_tenants_own_app(api):
    acme, other, runtime = await two_tenants_and_a_default(api)
    # The operator's default is not the tenant's own: not shown to it.
    assert (await api.client.get("/provider-apps/shopify", headers=h(acme))).status_code == 404
    assert (await api.client.get("/provider-apps", headers=h(acme))).json() == {"data": []}

    await put(api, acme)
    await put(api, acme, provider="wix", client_id="wix-app")
    got = await api.client.get("/provider-apps/shopify", headers=h(acme))
    assert got.status_code == 200 and got.json()["client_id"] == "app-client-1"
    listed = (await api.client.get("/provider-apps", headers=h(acme))).json()["data"]
    assert [(a["provider"], a["client_id"], a["owner"]) for a in listed] == [
        ("shopify", "app-client-1", "tenant"), ("wix", "wix-app", "tenant"),
    ]
    assert listed[1]["callback_url"] == f"{PUBLIC}/connect/oauth/wix/callback"

    # Another tenant sees none of it, and cannot delete it.
    assert (await api.client.get("/provider-apps/shopify", headers=h(other))).status_code == 404
    assert (await api.client.get("/provider-apps", headers=h(other))).json() == {"data": []}
    assert (await api.client.delete("/provider-apps/shopify", headers=h(other))).status_code == 404
    assert (await provider_apps.resolve(runtime, acme.id, "shopify")).client_id == "app-client-1"

    deleted = await api.client.delete("/provider-apps/shopify", headers=h(acme))
    assert deleted.status_code == 204 and deleted.content == b""
    again = await api.client.delete("/provider-apps/shopify", headers=h(acme))
    assert (again.status_code, again.json()["code"]) == (404, "not_found")
    # The operator's default applies again.
    assert (await provider_apps.resolve(runtime, acme.id, "shopify")).client_id == "operator-app"
    for response in (got,):
        assert "secret" not in response.text.lower()


async def test_another_tenants_put_makes_its_own_app_and_leaves_the_first(api):
    acme, other = await api.tenant("acme"), await api.tenant("other")
    assert (await put(api, acme)).status_code == 201
    theirs = await put(api, other, client_id="other-app", client_secret="cnry-other-secret")
    assert theirs.status_code == 201  # created: not a replacement of acme's
    mine = await provider_apps.resolve(api.runtime, acme.id, "shopify")
    assert (mine.client_id, mine.client_secret) == ("app-client-1", SECRET)
    assert (await provider_apps.resolve(api.runtime, other.id, "shopify")).client_secret == "cnry-other-secret"


async def test_a_secret_copied_to_another_owners_row_does_not_decrypt(api):
    acme, other, runtime = await two_tenants_and_a_default(api)
    store = runtime.store
    await put(api, acme)
    # The default's ciphertext moved onto acme's row (a database-level copy).
    default_secret = await secret_of(store, None, "shopify")
    await store.put_provider_app(await store.get_provider_app(acme.id, "shopify"), default_secret)
    with pytest.raises(accounts.UnreadableCredentials):
        await provider_apps.resolve(runtime, acme.id, "shopify")
    assert (await provider_apps.resolve(runtime, other.id, "shopify")).client_secret == "cnry-operator-secret"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_get_and_delete_refuse_unknown_providers_and_missing_keys(api, method):
    acme = await api.tenant()
    unknown = await api.client.request(method, "/provider-apps/nope", headers=h(acme))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    missing = await api.client.request(method, "/provider-apps/shopify")
    assert (missing.status_code, missing.json()["code"]) == (401, "missing_api_key")
    query = await api.client.request(method, "/provider-apps/shopify?tenant=x", headers=h(acme))
    assert (query.status_code, query.json()["code"]) == (400, "invalid_parameter")


async def test_the_secret_is_never_logged(api, trap: Trap):  # noqa: F811 (the fixture)
    acme = await api.tenant()
    assert (await put(api, acme)).status_code == 201
    assert (await put(api, acme, settings={"auth_url": "http://nope"})).status_code == 400
    resolved = await provider_apps.resolve(api.runtime, acme.id, "shopify")
    assert resolved.client_secret == SECRET  # the canary was really stored
    import logging

    logging.getLogger("shoprelay").info("resolved %r", resolved)  # a careless log line
    assert trap.access(), "the requests were logged"
    assert not [text for text in trap.texts if SECRET in text]
    assert SECRET not in json.dumps([str(r.__dict__) for r in trap.records])
