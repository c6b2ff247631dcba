"""A tenant's own settings (issue 14): GET/PATCH /tenant, the webhook secret
and its rotation, and the rules return URLs and webhook URLs must pass."""

import base64
import sqlite3

import pytest

from keys.vault import webhook_secret_aad
from proxy import accounts, tenant_settings
from proxy.tenant_settings import MAX_RETURN_URLS, validate_return_url, validate_return_urls, validate_webhook_url
from tests.harness import running_app

APP = "https://app.example.com/connected"
LOCAL = "http://localhost:3000/connected"
HOOK = "https://hooks.example.com/shoprelay"


@pytest.fixture
async def api(tmp_path):
    # The guard as in production: plain http and private addresses refused.
    async with running_app(tmp_path, allow_private_networks=False) as harness:
        yield harness


def h(tenant):
    return {"x-api-key": tenant.api_key}


def secret_bytes(secret: str) -> bytes:
    assert secret.startswith("whsec_")
    return base64.b64decode(secret[len("whsec_"):], validate=True)


# -- the rules ----------------------------------------------------------------


@pytest.mark.parametrize("url", [
    APP, LOCAL, "https://app.example.com", "https://app.example.com:8443/cb?from=shoprelay",
    "http://127.0.0.1:8080/cb", "http://127.9.9.9/cb", "http://[::1]:3000/cb", "HTTPS://App.Example.com/cb",
    "https://xn--bcher-kva.example/cb", "https://10.0.0.5/cb",  # the merchant's browser goes there, not us
])
def test_return_urls_accepted(url):
    assert validate_return_url(url) == url  # kept exactly as given: matched exactly


@pytest.mark.parametrize("url", [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/cb",  # scheme-relative: wherever the page is
    "/cb",
    "evil.example/cb",
    "https:evil.example",
    "https:/evil.example/cb",
    "https:///evil.example/cb",
    "ftp://app.example.com/cb",
    "http://app.example.com/cb",  # plain http off loopback
    "http://localhost.evil.example/cb",
    "http://127.0.0.1.evil.example/cb",
    "http://0.0.0.0:3000/cb",
    "https://app.example.com@evil.example/cb",
    "https://user:password@app.example.com/cb",
    "https://app.example.com\\@evil.example/cb",  # browsers read \ as /
    "https:\\\\evil.example/cb",
    "https://app.example.com/cb#fragment",
    "https://app.example.com/cb#",
    "https://app.example.com/c b",
    " https://app.example.com/cb",
    "https://app.example.com/cb\n",
    "https://app.example.com/\tcb",
    "https://bücher.example/cb",
    "https://app..example/cb",
    "https://app.example.com:99999/cb",
    "https://app.example.com/" + "a" * 2048,
    "",
])
def test_return_urls_refused(url):
    with pytest.raises(accounts.InvalidInput):
        validate_return_url(url)


@pytest.mark.parametrize("value", [None, 7, ["https://a.example"], {"url": APP}])
def test_a_return_url_that_is_not_text_is_refused(value):
    with pytest.raises(accounts.InvalidInput):
        validate_return_url(value)


def test_return_url_lists_are_bounded_and_deduplicated():
    assert validate_return_urls([APP, LOCAL, APP]) == [APP, LOCAL]
    assert validate_return_urls([]) == []
    many = [f"https://app.example.com/{n}" for n in range(MAX_RETURN_URLS + 1)]
    assert len(validate_return_urls(many[:-1])) == MAX_RETURN_URLS
    with pytest.raises(accounts.InvalidInput, match="at most"):
        validate_return_urls(many)
    with pytest.raises(accounts.InvalidInput, match=r"return_urls\[1\]"):
        validate_return_urls([APP, "javascript:alert(1)"])
    with pytest.raises(accounts.InvalidInput):
        validate_return_urls(APP)  # a string is not a list


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/in", "https://10.0.0.1/in", "https://127.0.0.1/in", "https://[::1]/in",
    "https://[::ffff:127.0.0.1]/in", "https://169.254.169.254/latest", "javascript:alert(1)", "//hooks.example/in",
    "https://user:pw@hooks.example.com/in", "https://hooks.example.com/in#x", "ftp://hooks.example.com/in", "",
])
def test_webhook_urls_pass_the_ssrf_guard(url):
    with pytest.raises(accounts.InvalidInput):
        validate_webhook_url(url, allow_private_networks=False)


def test_webhook_urls_accepted():
    assert validate_webhook_url(HOOK + "?token=abc", allow_private_networks=False) == HOOK + "?token=abc"
    # SHOPRELAY_ALLOW_PRIVATE_NETWORKS=true lets local receivers through, as for stores.
    assert validate_webhook_url("http://127.0.0.1:9000/in", allow_private_networks=True)


def test_the_secret_is_the_standard_webhooks_form():
    secrets = {tenant_settings.mint_webhook_secret() for _ in range(5)}
    assert len(secrets) == 5
    assert all(len(secret_bytes(s)) == 32 for s in secrets)


# -- the API -------------------------------------------------------------------


async def test_a_new_tenant_has_empty_settings(api):
    tenant = await api.tenant("Acme")
    response = await api.client.get("/tenant", headers=h(tenant))
    assert response.status_code == 200
    assert response.json() == {"id": tenant.id, "name": "Acme", "return_urls": [], "webhook_url": None}


async def test_setting_the_webhook_url_answers_the_secret_once(api):
    tenant = await api.tenant()
    runtime = api.runtime
    set_up = await api.client.patch(
        "/tenant", json={"return_urls": [APP, LOCAL], "webhook_url": HOOK}, headers=h(tenant)
    )
    assert set_up.status_code == 200
    body = set_up.json()
    secret = body.pop("webhook_secret")
    assert len(secret_bytes(secret)) == 32
    assert body == {"id": tenant.id, "name": "acme", "return_urls": [APP, LOCAL], "webhook_url": HOOK}
    # Stored sealed, bound to the tenant, and never shown again.
    assert await tenant_settings.signing_secret(runtime.store, runtime.keyring, tenant.id) == secret
    sealed = await runtime.store.webhook_secret(tenant.id)
    assert secret.encode() not in sealed.blob and secret_bytes(secret) not in sealed.blob
    assert runtime.keyring.decrypt(sealed.key_id, sealed.blob, webhook_secret_aad(tenant.id)) == secret.encode()
    shown = await api.client.get("/tenant", headers=h(tenant))
    assert shown.json() == body and "whsec_" not in shown.text

    # Another URL keeps the secret (and does not show it); so do other changes.
    moved = await api.client.patch("/tenant", json={"webhook_url": HOOK + "/v2"}, headers=h(tenant))
    assert moved.status_code == 200 and "webhook_secret" not in moved.json()
    renamed = await api.client.patch("/tenant", json={"name": "Acme Inc"}, headers=h(tenant))
    assert renamed.json() == {**body, "name": "Acme Inc", "webhook_url": HOOK + "/v2"}
    assert await tenant_settings.signing_secret(runtime.store, runtime.keyring, tenant.id) == secret


async def test_rotation_replaces_the_secret_and_clearing_the_url_drops_it(api):
    tenant = await api.tenant()
    runtime = api.runtime
    first = (await api.client.patch("/tenant", json={"webhook_url": HOOK}, headers=h(tenant))).json()
    rotated = await api.client.post("/tenant/webhook-secret/rotate", headers=h(tenant))
    assert rotated.status_code == 200
    second = rotated.json()["webhook_secret"]
    assert second != first["webhook_secret"] and len(secret_bytes(second)) == 32
    assert rotated.json()["webhook_url"] == HOOK
    assert await tenant_settings.signing_secret(runtime.store, runtime.keyring, tenant.id) == second

    cleared = await api.client.patch("/tenant", json={"webhook_url": None}, headers=h(tenant))
    assert cleared.json()["webhook_url"] is None and "webhook_secret" not in cleared.json()
    assert await runtime.store.webhook_secret(tenant.id) is None
    refused = await api.client.post("/tenant/webhook-secret/rotate", headers=h(tenant))
    assert refused.status_code == 409 and refused.json()["code"] == "conflict"
    assert refused.headers["content-type"] == "application/problem+json"
    assert await runtime.store.webhook_secret(tenant.id) is None
    # Set again: a fresh secret, shown once.
    again = await api.client.patch("/tenant", json={"webhook_url": HOOK}, headers=h(tenant))
    assert again.json()["webhook_secret"] not in (first["webhook_secret"], second)


@pytest.mark.parametrize("body", [
    {"return_urls": ["javascript:alert(1)"]},
    {"return_urls": ["//evil.example/cb"]},
    {"return_urls": [APP, "http://evil.example/cb"]},
    {"return_urls": ["https://app.example.com/cb#x"]},
    {"return_urls": ["https://app.example.com@evil.example/"]},
    {"return_urls": [f"https://app.example.com/{n}" for n in range(MAX_RETURN_URLS + 1)]},
    {"return_urls": ["https://app.example.com/" + "a" * 2100]},
    {"return_urls": [""]},
    {"return_urls": [7]},
    {"return_urls": APP},
    {"return_urls": None},
    {"webhook_url": "http://hooks.example.com/in"},
    {"webhook_url": "https://10.1.2.3/in"},
    {"webhook_url": "https://[::1]/in"},
    {"webhook_url": "javascript:alert(1)"},
    {"webhook_url": ""},
    {"webhook_url": 12},
    {"name": ""},
    {"name": None},
    {"name": "a\x00b"},
    {"name": "x" * 201},
    {},
    {"return_urls": [APP], "unknown": 1},
    {"return_urls": [APP], "webhook_url": "http://10.0.0.1/"},  # all or nothing
    [APP],
])
async def test_hostile_patches_are_refused_and_change_nothing(api, body):
    tenant = await api.tenant()
    before = (await api.client.patch("/tenant", json={"return_urls": [LOCAL]}, headers=h(tenant))).json()
    response = await api.client.patch("/tenant", json=body, headers=h(tenant))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.headers["content-type"] == "application/problem+json"
    assert (await api.client.get("/tenant", headers=h(tenant))).json() == before
    assert await api.runtime.store.webhook_secret(tenant.id) is None


async def test_not_json_and_too_large_bodies(api):
    tenant = await api.tenant()
    assert (await api.client.patch("/tenant", content=b"{nope", headers=h(tenant))).status_code == 400
    big = await api.client.patch("/tenant", content=b'{"name": "' + b"a" * 70_000 + b'"}', headers=h(tenant))
    assert big.status_code == 413


async def test_each_key_reads_and_changes_only_its_own_tenant(api):
    a, b = await api.tenant("a"), await api.tenant("b")
    await api.client.patch("/tenant", json={"return_urls": [APP], "webhook_url": HOOK}, headers=h(a))
    assert (await api.client.get("/tenant", headers=h(b))).json() == {
        "id": b.id, "name": "b", "return_urls": [], "webhook_url": None,
    }
    # Rotating b's secret (it has no URL) neither works nor touches a's.
    a_secret = await api.runtime.store.webhook_secret(a.id)
    assert (await api.client.post("/tenant/webhook-secret/rotate", headers=h(b))).status_code == 409
    assert await api.runtime.store.webhook_secret(a.id) == a_secret
    # There is no way to name another tenant: an id in the body is refused.
    sneaky = await api.client.patch("/tenant", json={"id": a.id, "name": "pwned"}, headers=h(b))
    assert sneaky.status_code == 400
    assert (await api.client.get("/tenant", headers=h(a))).json()["name"] == "a"


async def test_a_secret_copied_to_another_tenant_does_not_decrypt(api):
    a, b = await api.tenant("a"), await api.tenant("b")
    store, keyring = api.runtime.store, api.runtime.keyring
    await api.client.patch("/tenant", json={"webhook_url": HOOK}, headers=h(a))
    await store.update_tenant(b.id, webhook_url=HOOK, webhook_secret=await store.webhook_secret(a.id))
    with pytest.raises(accounts.UnreadableCredentials):
        await tenant_settings.signing_secret(store, keyring, b.id)


async def test_auth_and_query_parameters(api):
    tenant = await api.tenant()
    for method, path in (("GET", "/tenant"), ("PATCH", "/tenant"), ("POST", "/tenant/webhook-secret/rotate")):
        missing = await api.client.request(method, path, json={"name": "x"})
        assert missing.status_code == 401 and missing.json()["code"] == "missing_api_key"
        wrong = await api.client.request(method, path, json={"name": "x"}, headers={"x-api-key": "sk_" + "x" * 43})
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_api_key"
        extra = await api.client.request(method, path + "?tenant_id=x", json={"name": "x"}, headers=h(tenant))
        assert extra.status_code == 400 and extra.json()["parameter"] == "tenant_id"
    assert (await api.client.delete("/tenant", headers=h(tenant))).status_code == 405


async def test_the_secret_is_not_readable_in_the_database_file(api, tmp_path):
    tenant = await api.tenant()
    secret = (await api.client.patch("/tenant", json={"webhook_url": HOOK}, headers=h(tenant))).json()["webhook_secret"]
    raw = (tmp_path / "shoprelay.db").read_bytes() + (tmp_path / "shoprelay.db-wal").read_bytes()
    assert secret.encode() not in raw and secret_bytes(secret) not in raw
    row = sqlite3.connect(tmp_path / "shoprelay.db").execute(
        "SELECT webhook_secret_key_id FROM tenants WHERE id = ?", (tenant.id,)
    ).fetchone()
    assert row == (api.runtime.keyring.active_id,)
