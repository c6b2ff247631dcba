"""Field mappings and response shaping on customer reads (sandbox provider)."""

import pytest

from tests.harness import running_app


@pytest.fixture
async def api(tmp_path):
    async with running_app(tmp_path) as harness:
        yield harness


def h(tenant):
    return {"x-api-key": tenant.api_key}


async def mapping(api, tenant, **body):
    payload = {"provider": "sandbox", "object": "customer"}
    payload.update(body)
    return await api.client.post("/field-mappings", json=payload, headers=h(tenant))


async def test_tenant_mapping_and_connection_override(api):
    tenant = await api.tenant()
    conn_a, token_a = await api.connection(tenant, "sandbox", {})
    _, token_b = await api.connection(tenant, "sandbox", {})
    assert (await mapping(api, tenant, name="fav_city", expression="addresses[0].city")).status_code == 201
    assert (await mapping(api, tenant, name="nothing", expression="no.such.path")).status_code == 201
    override = await mapping(
        api, tenant, name="fav_city", expression="addresses[0].postcode", connection_id=conn_a
    )
    assert override.status_code == 201
    a = (await api.get_customer(tenant, token_a, "5", remote_data="true")).json()
    b = (await api.get_customer(tenant, token_b, "5", remote_data="true")).json()
    raw = a["remote_data"]
    assert a["field_mappings"] == {"fav_city": raw["addresses"][0]["postcode"], "nothing": None}
    assert b["field_mappings"] == {"fav_city": raw["addresses"][0]["city"], "nothing": None}
    # Deleting the override falls back to the tenant-wide definition.
    await api.client.delete(f"/field-mappings/{override.json()['id']}", headers=h(tenant))
    a = (await api.get_customer(tenant, token_a, "5")).json()
    assert a["field_mappings"]["fav_city"] == raw["addresses"][0]["city"]


async def test_mappings_for_other_providers_do_not_apply(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    # Valid definition for another provider name is not evaluated on sandbox payloads.
    response = await api.client.post(
        "/field-mappings",
        json={"name": "tags", "provider": "sandbox", "expression": "tags"},
        headers=h(tenant),
    )
    assert response.status_code == 201
    body = (await api.get_customer(tenant, token, "11")).json()
    assert body["field_mappings"] == {"tags": ["vip"]}


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"name": "x", "expression": "a[?"}, "not valid JMESPath"),
        ({"name": "Bad Name", "expression": "a"}, "slug"),
        ({"name": "x", "expression": ""}, "expression"),
        ({"name": "x", "expression": "a", "object": "order"}, "object"),
        ({"name": "x", "expression": "a", "provider": "acme_shop"}, "provider"),
        ({"name": "x", "expression": "a" * 2000}, "at most"),
    ],
)
async def test_bad_mappings_are_400_and_not_stored(api, payload, fragment):
    tenant = await api.tenant()
    response = await mapping(api, tenant, **payload)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["detail"]
    assert (await api.client.get("/field-mappings", headers=h(tenant))).json()["data"] == []


async def test_duplicate_mapping_is_409(api):
    tenant = await api.tenant()
    assert (await mapping(api, tenant, name="x", expression="a")).status_code == 201
    again = await mapping(api, tenant, name="x", expression="b")
    assert again.status_code == 409 and again.json()["code"] == "conflict"


async def test_fields_and_exclude_fields(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    body = (await api.get_customer(tenant, token, "3", fields="id,email,addresses.city")).json()
    assert set(body) == {"id", "email", "addresses"}
    assert all(set(a) == {"city"} for a in body["addresses"])
    body = (await api.get_customer(
        tenant, token, "3", exclude_fields="remote_data,addresses.owner_type", remote_data="true"
    )).json()
    assert "remote_data" not in body and "email" in body
    assert all("owner_type" not in a and "city" in a for a in body["addresses"])
    body = (await api.get_customer(tenant, token, "3", fields="remote_data.given_name", remote_data="1")).json()
    assert set(body) == {"remote_data"} and set(body["remote_data"]) == {"given_name"}


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"fields": "nope"}, "fields"),
        ({"fields": "addresses.nope"}, "fields"),
        ({"fields": "email.domain"}, "fields"),
        ({"fields": ","}, "fields"),
        ({"exclude_fields": "id,,email"}, "exclude_fields"),
        ({"response_format": "xml"}, "response_format"),
        ({"remote_query[foo]": "bar"}, "remote_query"),
    ],
)
async def test_malformed_shaping_is_400_naming_the_parameter(api, params, parameter):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    response = await api.get_customer(tenant, token, "3", **params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["parameter"] == parameter


async def test_raw_response_format(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    raw = await api.get_customer(tenant, token, "4", response_format="raw")
    assert raw.status_code == 200
    assert raw.json()["customer_id"] == 4 and "remote_id" not in raw.json()
    assert raw.headers["x-request-id"]
