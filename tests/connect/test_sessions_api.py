"""POST /connect/sessions and GET /connect/sessions/{id}: the tenant's side."""

from __future__ import annotations

import urllib.parse

import pytest

from keys import secrets
from providers import registry
from proxy.connect import sessions
from tests.connect.conftest import BASE, RETURN_URL

PAST = "2000-01-01T00:00:00.000Z"


async def test_a_session_answers_a_one_time_link_on_the_public_url(connect):
    tenant = await connect.tenant()
    response = await connect.create_session(tenant, end_user_id="shop-42", end_user_email="owner@example.com",
                                            end_user_name="Owner", tags={"plan": "pro"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "connect_url", "expires_at"}
    url = urllib.parse.urlsplit(body["connect_url"])
    assert f"{url.scheme}://{url.netloc}" == BASE and url.path == "/connect/start"
    token = urllib.parse.parse_qs(url.query)["token"][0]
    assert secrets.looks_like(token, "cst_") and len(token) == 4 + 43  # 256 bits
    # Only the digest is kept: the token finds the session through it.
    stored = await connect.store.find_connect_session(secrets.digest(token))
    assert stored.id == body["id"] and stored.tenant_id == tenant.id
    assert stored.providers == registry.names()  # default: every installed provider
    assert stored.tags == {"plan": "pro"} and stored.end_user_email == "owner@example.com"
    assert token not in repr(stored)
    status = await connect.status(tenant, body["id"])
    assert status.status_code == 200
    assert status.json() == {"id": body["id"], "status": "pending", "end_user_id": "shop-42",
                             "provider": None, "connection_id": None, "error": None}


async def test_the_ttl_and_public_url_come_from_the_configuration(tmp_path):
    from tests.harness import running_app

    async with running_app(tmp_path, public_url="https://relay.example.com/sr", connect_session_ttl=120) as harness:
        tenant = await harness.tenant()
        response = await harness.client.post("/connect/sessions", json={"end_user_id": "m"},
                                             headers={"x-api-key": tenant.api_key})
        body = response.json()
        assert body["connect_url"].startswith("https://relay.example.com/sr/connect/start?token=cst_")
        created = (await harness.runtime.store.get_connect_session(body["id"])).created_at
        from datetime import datetime
        span = datetime.fromisoformat(body["expires_at"][:-1]) - datetime.fromisoformat(created[:-1])
        assert 119 <= span.total_seconds() <= 121


@pytest.mark.parametrize("return_url", [
    "https://app.example.com/other",  # not in the allow-list
    "https://app.example.com/connected/",  # exact match only
    "javascript:alert(document.cookie)",
    "//evil.example/steal",
    "https://evil.example/connected",
])
async def test_a_return_url_outside_the_allow_list_is_refused(connect, return_url):
    tenant = await connect.tenant()
    response = await connect.create_session(tenant, return_url=return_url)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_parameter" and response.json()["parameter"] == "return_url"
    assert await connect.rows("connect_sessions") == 0


@pytest.mark.parametrize("allowed", ["javascript:alert(1)//", "//evil.example/x", "data:text/html,hi"])
async def test_unsafe_urls_are_refused_even_if_the_allow_list_held_them(connect, allowed):
    # PATCH /tenant refuses them; written to the store directly, as an older
    # version or a hand edit could have left them.
    tenant = await connect.tenant(return_urls=[])
    await connect.store.update_tenant(tenant.id, return_urls=[allowed])
    response = await connect.create_session(tenant, return_url=allowed)
    assert response.status_code == 400 and response.json()["parameter"] == "return_url"


@pytest.mark.parametrize("body, parameter", [
    ({"end_user_id": ""}, "end_user_id"),
    ({"end_user_id": "x" * 201}, "end_user_id"),
    ({"end_user_id": "tab\there"}, "end_user_id"),
    ({"end_user_email": "e" * 321}, "end_user_email"),
    ({"providers": []}, "providers"),
    ({"providers": ["acme_shop"]}, "providers"),
    ({"tags": {f"t{i}": "v" for i in range(21)}}, "tags"),
    ({"tags": {"": "v"}}, "tags"),
])
async def test_bad_fields_are_refused_naming_them(connect, body, parameter):
    tenant = await connect.tenant()
    response = await connect.create_session(tenant, **body)
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter
    assert await connect.rows("connect_sessions") == 0


async def test_the_body_is_checked(connect):
    tenant = await connect.tenant()
    h = {"x-api-key": tenant.api_key}
    assert (await connect.api.post("/connect/sessions", json={}, headers=h)).status_code == 400
    unknown = await connect.api.post("/connect/sessions", json={"end_user_id": "m", "scopes": ["x"]}, headers=h)
    assert unknown.status_code == 400 and unknown.json()["code"] == "invalid_request"
    assert (await connect.api.post("/connect/sessions", json={"end_user_id": "m"})).status_code == 401
    assert (await connect.api.post("/connect/sessions?x=1", json={"end_user_id": "m"}, headers=h)).status_code == 400


async def test_providers_narrow_the_offer(connect):
    tenant = await connect.tenant()
    body = await connect.session(tenant, providers=["woocommerce", "shopify", "woocommerce"])
    assert (await connect.store.get_connect_session(body["id"])).providers == ["woocommerce", "shopify"]


async def test_a_reconnect_offers_only_the_connections_provider(connect):
    tenant = await connect.tenant()
    connection_id, _ = await connect.harness.connection(tenant, "sandbox", {}, {})
    body = await connect.session(tenant, connection_id=connection_id)
    stored = await connect.store.get_connect_session(body["id"])
    assert stored.providers == ["sandbox"] and stored.reconnect_connection_id == connection_id
    mismatch = await connect.create_session(tenant, connection_id=connection_id, providers=["shopify"])
    assert mismatch.status_code == 400 and mismatch.json()["parameter"] == "providers"


async def test_another_tenants_connection_or_session_is_not_found(connect):
    acme, other = await connect.tenant("Acme"), await connect.tenant("Other")
    theirs, _ = await connect.harness.connection(other, "sandbox", {}, {})
    response = await connect.create_session(acme, connection_id=theirs)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    session = await connect.session(other)
    assert (await connect.status(acme, session["id"])).status_code == 404
    assert (await connect.status(acme, "no-such-session")).status_code == 404
    assert (await connect.status(other, session["id"])).status_code == 200


async def test_a_session_past_its_time_reads_expired(connect, monkeypatch):
    tenant = await connect.tenant()
    monkeypatch.setattr(sessions, "text_after", lambda seconds: PAST)
    body = await connect.session(tenant)
    assert (await connect.status(tenant, body["id"])).json()["status"] == "expired"


def test_return_url_and_origin_checks():
    assert sessions.safe_return_url(RETURN_URL)
    assert sessions.safe_return_url("http://127.0.0.1:3000/cb?x=1")
    for bad in ("javascript:alert(1)", "//evil.example", "/relative", "https://", "ftp://x.example/",
                "https://a.example/ x", "https://a.example\\@evil.example/"):
        assert not sessions.safe_return_url(bad), bad
    assert sessions.origin_of("https://App.Example.com:8443/cb?x") == "https://app.example.com:8443"
    assert sessions.origin_of("https://user:pw@app.example.com/cb") == "https://app.example.com"
    assert sessions.origin_of("https://a;b.example/") is None  # nothing but an origin reaches the CSP header
