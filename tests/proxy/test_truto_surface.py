"""Truto's surface (``/unified/ecommerce/customers``) through HTTP: the same
customers as Panora's surface, in Truto's names, every query parameter Truto
documents, and its auth (Bearer API key + integrated_account_id).

The requests are the ones truto-python-sdk sends (``Authorization: Bearer``,
lists as ``name[]=``, objects as ``name[key]=``); tests/proxy/test_truto_client.py
drives the published client itself over a socket."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from proxy.clock import now_text
from tests.fakes.shopify import ShopifyFake
from tests.fakes.woocommerce import WooCommerceFake
from tests.harness import Harness, Tenant, running_app
from tests.support import load_fixture

BASE = "/unified/ecommerce/customers"
TRUTO_FIELDS = {
    "id", "first_name", "last_name", "name", "company_name", "emails", "phones", "addresses", "status",
    "currency", "created_at", "updated_at", "remote_data",
}


@pytest.fixture
async def api(tmp_path):
    async with running_app(tmp_path) as harness:
        yield harness


def bearer(tenant: Tenant) -> dict[str, str]:
    return {"authorization": f"Bearer {tenant.api_key}"}


async def truto_get(api: Harness, tenant: Tenant, path: str = "", **params: Any):
    return await api.client.get(BASE + path, params=params, headers=bearer(tenant))


async def sandbox(api: Harness, size: int = 12) -> tuple[Tenant, str, str]:
    tenant = await api.tenant()
    conn_id, token = await api.connection(tenant, "sandbox", {}, {"size": size})
    return tenant, conn_id, token


def schema(doc: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    )


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


async def test_get_answers_the_panora_customer_in_truto_names(api):
    tenant, conn_id, token = await sandbox(api)
    truto = await truto_get(api, tenant, "/7", integrated_account_id=conn_id)
    panora = await api.get_customer(tenant, token, "7", remote_data="true")
    assert truto.status_code == 200 and truto.headers["content-type"] == "application/json"
    body, unified = truto.json(), panora.json()
    assert set(body) == TRUTO_FIELDS
    assert body["id"] == unified["id"] == "7"
    for same in ("first_name", "last_name", "name", "company_name", "status", "currency", "created_at",
                 "remote_data"):
        assert body[same] == unified[same], same
    assert body["updated_at"] == unified["modified_at"]
    assert body["emails"] == [{"email": e["email"], "is_primary": e["is_primary"], "type": e["type"]}
                              for e in unified["emails"]]
    assert body["phones"] == [{"number": p["number"], "extension": p["extension"], "type": p["type"]}
                              for p in unified["phones"]]
    [address] = body["addresses"]
    assert address["type"] == unified["addresses"][0]["address_type"] == "billing"
    assert address["city"] == unified["addresses"][0]["city"]
    doc = (await api.client.get("/openapi.json")).json()
    schema(doc, "TrutoCustomer").validate(body)


async def test_list_pages_to_the_end_with_next_cursor(api):
    tenant, conn_id, _ = await sandbox(api, size=12)
    doc = (await api.client.get("/openapi.json")).json()
    seen, params = [], {"integrated_account_id": conn_id, "limit": "5"}
    while True:
        page = await truto_get(api, tenant, **params)
        assert page.status_code == 200, page.text
        body = page.json()
        schema(doc, "TrutoCustomerList").validate(body)
        assert body["result_count"] == len(body["result"])
        seen += [c["id"] for c in body["result"]]
        if body["next_cursor"] is None:
            break
        params["next_cursor"] = body["next_cursor"]  # as truto-python-sdk sends it back
    assert seen == [str(n) for n in range(1, 13)]


async def test_missing_or_foreign_or_unknown_integrated_account(api):
    alice, _, _ = await sandbox(api)
    bob = await api.tenant("bob")
    bobs_conn, _ = await api.connection(bob, "sandbox", {})
    assert (await truto_get(api, bob, "/1", integrated_account_id=bobs_conn)).status_code == 200
    foreign = await truto_get(api, alice, "/1", integrated_account_id=bobs_conn)
    unknown = await truto_get(api, alice, "/1", integrated_account_id="3f6c2a9e-1b7d-4e8f-9a0b-5c4d3e2f1a0b")
    assert foreign.status_code == unknown.status_code == 404
    assert without_request_id(foreign.json()) == without_request_id(unknown.json())
    assert foreign.json()["code"] == "not_found" and foreign.json()["parameter"] == "integrated_account_id"
    assert foreign.headers.keys() == unknown.headers.keys()
    listed = await truto_get(api, alice, integrated_account_id=bobs_conn)
    assert listed.status_code == 404
    missing = await truto_get(api, alice, "/1")
    assert missing.status_code == 400 and missing.json()["parameter"] == "integrated_account_id"
    long = await truto_get(api, alice, "/1", integrated_account_id="x" * 500)
    assert long.status_code == 404


async def test_auth_is_the_bearer_api_key(api):
    tenant, conn_id, token = await sandbox(api)
    missing = await api.client.get(f"{BASE}/1", params={"integrated_account_id": conn_id})
    assert missing.status_code == 401 and missing.json()["code"] == "missing_api_key"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for value in (f"Basic {tenant.api_key}", f"Bearer {token}", "Bearer sk_" + "A" * 43):
        refused = await api.client.get(f"{BASE}/1", params={"integrated_account_id": conn_id},
                                       headers={"authorization": value})
        assert refused.status_code == 401, value
    lower = await api.client.get(f"{BASE}/1", params={"integrated_account_id": conn_id},
                                 headers={"authorization": f"bearer {tenant.api_key}"})
    assert lower.status_code == 200


async def test_revoked_key_fails_at_once(api):
    tenant, conn_id, _ = await sandbox(api)
    assert (await truto_get(api, tenant, "/1", integrated_account_id=conn_id)).status_code == 200
    await api.runtime.store.revoke_api_key(tenant.api_key_id, now_text())
    await api.runtime.directory.poll_once()
    response = await truto_get(api, tenant, "/1", integrated_account_id=conn_id)
    assert response.status_code == 401 and response.json()["code"] == "invalid_api_key"


async def test_deleted_connection_fails_at_once_and_a_rotated_token_changes_nothing(api):
    tenant, conn_id, token = await sandbox(api)
    assert (await truto_get(api, tenant, "/1", integrated_account_id=conn_id)).status_code == 200
    rotated = await api.client.post(f"/connections/{conn_id}/rotate-token", headers={"x-api-key": tenant.api_key})
    assert rotated.status_code == 200
    # The id still names the connection; the old token is gone.
    assert (await truto_get(api, tenant, "/1", integrated_account_id=conn_id)).status_code == 200
    assert (await api.get_customer(tenant, token, "1")).status_code == 401
    assert await api.runtime.store.delete_connection(conn_id)
    await api.runtime.directory.poll_once()
    response = await truto_get(api, tenant, "/1", integrated_account_id=conn_id)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    listed = await truto_get(api, tenant, integrated_account_id=conn_id)
    assert listed.status_code == 404


async def test_warm_reads_make_no_store_queries(api):
    tenant, conn_id, _ = await sandbox(api)
    assert (await truto_get(api, tenant, "/1", integrated_account_id=conn_id)).status_code == 200
    before = api.runtime.directory.store_queries
    for n in range(1, 4):
        assert (await truto_get(api, tenant, f"/{n}", integrated_account_id=conn_id)).status_code == 200
    assert api.runtime.directory.store_queries == before


# -- truto_response_format --------------------------------------------------------------


async def test_response_formats(api):
    tenant, conn_id, token = await sandbox(api)
    unified = await truto_get(api, tenant, "/3", integrated_account_id=conn_id)
    for response_format in ("unified", "normalized", "stream"):
        same = await truto_get(api, tenant, "/3", integrated_account_id=conn_id, truto_response_format=response_format)
        assert same.status_code == 200 and same.content == unified.content, response_format
        assert same.headers["content-type"] == "application/json"
    raw = await truto_get(api, tenant, "/3", integrated_account_id=conn_id, truto_response_format="raw")
    panora_raw = await api.get_customer(tenant, token, "3", response_format="raw")
    assert raw.json() == panora_raw.json() == unified.json()["remote_data"]

    page = await truto_get(api, tenant, integrated_account_id=conn_id, limit="4")
    for response_format in ("normalized", "stream"):
        same = await truto_get(api, tenant, integrated_account_id=conn_id, limit="4",
                               truto_response_format=response_format)
        assert same.content == page.content, response_format
    raw_page = (await truto_get(api, tenant, integrated_account_id=conn_id, limit="4",
                                truto_response_format="raw")).json()
    assert raw_page["result"] == [c["remote_data"] for c in page.json()["result"]]
    assert raw_page["next_cursor"] and raw_page["result_count"] == 4

    bad = await truto_get(api, tenant, "/3", integrated_account_id=conn_id, truto_response_format="xml")
    assert bad.status_code == 400 and bad.json()["parameter"] == "truto_response_format"


async def test_stream_sends_the_page_in_pieces(api):
    tenant, conn_id, _ = await sandbox(api)
    params = {"integrated_account_id": conn_id, "limit": "5", "truto_response_format": "stream"}
    async with api.client.stream("GET", BASE, params=params, headers=bearer(tenant)) as response:
        chunks = [chunk async for chunk in response.aiter_raw()]
    assert response.status_code == 200
    body = json.loads(b"".join(chunks))
    assert [c["id"] for c in body["result"]] == ["1", "2", "3", "4", "5"]
    # Sent as it is encoded: no length known up front (a buffered body has one).
    assert "content-length" not in response.headers
    buffered = await truto_get(api, tenant, **{**params, "truto_response_format": "unified"})
    assert buffered.headers["content-length"] == str(len(b"".join(chunks)))


# -- truto_ignore_remote_data, truto_exclude_fields ---------------------------------------


async def test_ignore_remote_data(api):
    tenant, conn_id, _ = await sandbox(api)
    for value, present in (("true", False), ("false", True), ("1", False)):
        body = (await truto_get(api, tenant, "/2", integrated_account_id=conn_id,
                                truto_ignore_remote_data=value)).json()
        assert ("remote_data" in body) is present, value
    page = (await truto_get(api, tenant, integrated_account_id=conn_id, truto_ignore_remote_data="true")).json()
    assert all("remote_data" not in c for c in page["result"])
    bad = await truto_get(api, tenant, "/2", integrated_account_id=conn_id, truto_ignore_remote_data="maybe")
    assert bad.status_code == 400 and bad.json()["parameter"] == "truto_ignore_remote_data"


async def test_exclude_fields_in_both_forms(api):
    tenant, conn_id, _ = await sandbox(api)
    array = await truto_get(api, tenant, "/2", integrated_account_id=conn_id,
                            **{"truto_exclude_fields[]": ["remote_data", "phones", "addresses.city"]})
    comma = await truto_get(api, tenant, "/2", integrated_account_id=conn_id,
                            truto_exclude_fields="remote_data,phones,addresses.city")
    assert array.status_code == 200 and array.json() == comma.json()
    body = array.json()
    assert set(body) == TRUTO_FIELDS - {"remote_data", "phones"}
    assert body["addresses"] and all("city" not in a and "postal_code" in a for a in body["addresses"])
    page = (await truto_get(api, tenant, integrated_account_id=conn_id, limit="3",
                            **{"truto_exclude_fields[]": ["remote_data", "emails"]})).json()
    assert all(set(c) == TRUTO_FIELDS - {"remote_data", "emails"} for c in page["result"])
    nested = (await truto_get(api, tenant, "/2", integrated_account_id=conn_id,
                              **{"truto_exclude_fields[]": "remote_data.email"})).json()
    assert "email" not in nested["remote_data"] and "given_name" in nested["remote_data"]
    for wrong in ("email", "addresses.town", "status.x", ""):
        refused = await truto_get(api, tenant, "/2", integrated_account_id=conn_id,
                                  **{"truto_exclude_fields[]": wrong})
        assert refused.status_code == 400 and refused.json()["parameter"] == "truto_exclude_fields", wrong


async def test_custom_fields_sit_at_the_top_level(api):
    tenant, conn_id, token = await sandbox(api)
    created = await api.client.post("/field-mappings", headers={"x-api-key": tenant.api_key}, json={
        "provider": "sandbox", "object": "customer", "name": "given", "expression": "given_name",
    })
    assert created.status_code == 201, created.text
    body = (await truto_get(api, tenant, "/4", integrated_account_id=conn_id)).json()
    panora = (await api.get_customer(tenant, token, "4")).json()
    assert body["given"] == panora["field_mappings"]["given"] == body["first_name"]
    assert "field_mappings" not in body
    dropped = (await truto_get(api, tenant, "/4", integrated_account_id=conn_id,
                               **{"truto_exclude_fields[]": "given"})).json()
    assert "given" not in dropped
    page = (await truto_get(api, tenant, integrated_account_id=conn_id, limit="2")).json()
    assert all(c["given"] == c["first_name"] for c in page["result"])


# -- limit, next_cursor, remote_query, unknown parameters --------------------------------


async def test_limit_and_cursors(api):
    tenant, conn_id, _ = await sandbox(api)
    page = (await truto_get(api, tenant, integrated_account_id=conn_id, limit="3")).json()
    assert page["result_count"] == 3 and page["prev_cursor"] is None
    for limit in ("0", "101", "ten"):
        bad = await truto_get(api, tenant, integrated_account_id=conn_id, limit=limit)
        assert bad.status_code == 400 and bad.json()["parameter"] == "limit", limit
    tampered = await truto_get(api, tenant, integrated_account_id=conn_id, next_cursor=page["next_cursor"] + "x")
    assert tampered.status_code == 400 and tampered.json()["parameter"] == "next_cursor"
    other_conn, _ = await api.connection(tenant, "sandbox", {})
    foreign = await truto_get(api, tenant, integrated_account_id=other_conn, next_cursor=page["next_cursor"])
    assert foreign.status_code == 400 and "another connection" in foreign.json()["detail"]
    # Truto's client sends its query again with next_cursor, limit included.
    second = (await truto_get(api, tenant, integrated_account_id=conn_id, limit="3",
                              next_cursor=page["next_cursor"])).json()
    assert [c["id"] for c in second["result"]] == ["4", "5", "6"]
    assert second["prev_cursor"]


async def test_parameters_this_surface_does_not_read_are_refused(api):
    tenant, conn_id, _ = await sandbox(api)
    for name in ("cursor", "remote_data", "fields", "email"):
        refused = await truto_get(api, tenant, integrated_account_id=conn_id, **{name: "x"})
        assert refused.status_code == 400 and refused.json()["parameter"] == name, name
    # next_cursor belongs to lists only.
    refused = await truto_get(api, tenant, "/1", integrated_account_id=conn_id, next_cursor="x")
    assert refused.status_code == 400 and refused.json()["parameter"] == "next_cursor"
    # The sandbox has no query string to forward to.
    none = await truto_get(api, tenant, "/1", integrated_account_id=conn_id, **{"remote_query[q]": "x"})
    assert none.status_code == 400 and none.json()["parameter"] == "remote_query"


async def test_remote_query_is_forwarded_under_the_same_deny_rules(api):
    tenant = await api.tenant()
    customer = load_fixture("woocommerce", "customer.json")
    fake = WooCommerceFake([customer], prefix="")
    async with fake.serve() as origin:
        conn_id, _ = await api.connection(tenant, "woocommerce", fake.credentials, fake.settings(origin))
        one = await truto_get(api, tenant, f"/{customer['id']}", integrated_account_id=conn_id,
                              **{"remote_query[_locale]": "user"})
        page = await truto_get(api, tenant, integrated_account_id=conn_id, limit="5",
                               **{"remote_query[role]": "all", "remote_query[search]": "doe"})
        denied = await truto_get(api, tenant, integrated_account_id=conn_id, **{"remote_query[per_page]": "99"})
    assert one.status_code == 200 and one.json()["id"] == str(customer["id"])
    assert page.status_code == 200 and [c["id"] for c in page.json()["result"]] == [str(customer["id"])]
    assert denied.status_code == 400 and denied.json()["parameter"] == "remote_query[per_page]"
    single, listing = fake.requests  # the denied one never reached the store
    assert dict(single.query) == {"_locale": "user"}
    assert {k: listing.query[k] for k in ("role", "search")} == {"role": "all", "search": "doe"}


async def test_provider_errors_are_the_same_problems(api):
    tenant, conn_id, token = await sandbox(api, size=5)
    truto = await truto_get(api, tenant, "/99", integrated_account_id=conn_id)
    panora = await api.get_customer(tenant, token, "99")
    assert truto.status_code == panora.status_code == 404
    assert truto.headers["content-type"] == "application/problem+json"
    assert without_request_id(truto.json()) == without_request_id(panora.json())


async def test_a_shopify_metafield_mapping_is_asked_for_on_truto_reads(api):
    """The mapping's metafield reaches Shopify's query (only mapped metafields are asked for)."""
    customer = load_fixture("shopify", "customer.json")["data"]["customer"]
    shop = ShopifyFake([customer])
    tenant = await api.tenant()
    async with shop.serve() as origin:
        conn_id, _ = await api.connection(tenant, "shopify", shop.credentials, shop.settings(origin))
        created = await api.client.post("/field-mappings", headers={"x-api-key": tenant.api_key}, json={
            "provider": "shopify", "object": "customer", "name": "nickname",
            "expression": "metafields.nodes[?namespace=='my_fields' && key=='nickname'].value | [0]",
        })
        assert created.status_code == 201, created.text
        one = (await truto_get(api, tenant, "/544365967", integrated_account_id=conn_id)).json()
        page = (await truto_get(api, tenant, integrated_account_id=conn_id)).json()
    assert one["nickname"] == "rob" and [c["nickname"] for c in page["result"]] == ["rob"]
    assert all(json.loads(body)["variables"]["keys"] == ["my_fields.nickname"] for body in shop.bodies)


async def test_a_misspelled_excluded_field_costs_the_store_no_call(api):
    """Checked before the provider call, in every format (issue 17: the
    merchant's API budget): the store never hears of a request we refuse."""
    tenant = await api.tenant()
    customer = load_fixture("woocommerce", "customer.json")
    fake = WooCommerceFake([customer], prefix="")
    async with fake.serve() as origin:
        conn_id, _ = await api.connection(tenant, "woocommerce", fake.credentials, fake.settings(origin))
        before = len(fake.requests)
        for path, response_format in (("", "unified"), (f"/{customer['id']}", "unified"),
                                      (f"/{customer['id']}", "raw"), ("", "stream")):
            refused = await truto_get(api, tenant, path, integrated_account_id=conn_id,
                                      truto_response_format=response_format, truto_exclude_fields="emial")
            assert refused.status_code == 400 and refused.json()["parameter"] == "truto_exclude_fields"
        assert len(fake.requests) == before
