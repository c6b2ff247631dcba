"""GET /ecommerce/customers: cursor paging, end to end on the sandbox."""

import asyncio

import pytest
from panora_sdk import Panora

from tests.harness import running_app, served_over_http


@pytest.fixture
async def api(tmp_path):
    async with running_app(tmp_path) as harness:
        yield harness


async def list_page(api, tenant, token, **params):
    return await api.client.get(
        "/ecommerce/customers",
        params=params,
        headers={"x-api-key": tenant.api_key, "x-connection-token": token},
    )


async def walk(api, tenant, token, limit):
    seen, pages, cursor = [], [], None
    while True:
        params = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        response = await list_page(api, tenant, token, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        seen += [c["id"] for c in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("limit", [1, 7, 50, 100])
async def test_walk_yields_every_customer_once(api, limit):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {}, {"size": 123})
    seen, pages = await walk(api, tenant, token, limit)
    assert seen == [str(n) for n in range(1, 124)]
    assert pages[0]["prev_cursor"] is None
    assert all(len(p["data"]) == limit for p in pages[:-1])
    assert pages[-1]["next_cursor"] is None and pages[-1]["data"]


async def test_prev_cursor_goes_back_one_page(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {}, {"size": 30})
    first = (await list_page(api, tenant, token, limit=10)).json()
    second = (await list_page(api, tenant, token, limit=10, cursor=first["next_cursor"])).json()
    back = (await list_page(api, tenant, token, limit=10, cursor=second["prev_cursor"])).json()
    assert [c["id"] for c in back["data"]] == [c["id"] for c in first["data"]]


async def test_default_limit_and_default_shape(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {}, {"size": 80})
    body = (await list_page(api, tenant, token)).json()
    assert set(body) == {"prev_cursor", "next_cursor", "data"}
    assert len(body["data"]) == 50
    assert body["data"][0]["remote_data"] is None and body["data"][0]["field_mappings"] == {}
    with_remote = (await list_page(api, tenant, token, limit=2, remote_data="true", fields="id,remote_data")).json()
    assert [set(c) for c in with_remote["data"]] == [{"id", "remote_data"}] * 2


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
async def test_bad_limits(api, limit):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    response = await list_page(api, tenant, token, limit=limit)
    assert response.status_code == 400 and response.json()["parameter"] == "limit"


# Non-ASCII digits that int() and \d accept: Arabic-Indic, Devanagari,
# fullwidth, and a mix.
@pytest.mark.parametrize("limit", ["\u0661\u0660", "\u0967\u0966", "\uff11\uff10", "1\u0660"])
async def test_non_ascii_digits_in_limit_are_400(api, limit):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {}, {"size": 30})
    response = await list_page(api, tenant, token, limit=limit)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_parameter" and response.json()["parameter"] == "limit"
    connections = await api.client.get(
        "/connections", params={"limit": limit}, headers={"x-api-key": tenant.api_key}
    )
    assert connections.status_code == 400 and connections.json()["parameter"] == "limit"


@pytest.mark.parametrize("name", ["cursor", "limit"])
async def test_a_repeated_cursor_or_limit_is_400(api, name):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {}, {"size": 30})
    cursor = (await list_page(api, tenant, token, limit=5)).json()["next_cursor"]
    value = cursor if name == "cursor" else "5"
    query = [(name, value), (name, value)]
    for path, headers in (
        ("/ecommerce/customers", {"x-api-key": tenant.api_key, "x-connection-token": token}),
        ("/connections", {"x-api-key": tenant.api_key}),
    ):
        if name == "cursor" and path == "/connections":
            query = [("cursor", "bm90LXVzZWQ"), ("cursor", "bm90LXVzZWQ")]
        response = await api.client.get(path, params=query, headers=headers)
        assert response.status_code == 400, (path, response.text)
        problem = response.json()
        assert problem["code"] == "invalid_parameter" and problem["parameter"] == name
        assert "once" in problem["detail"]


async def test_tampered_and_foreign_cursors_are_400(api):
    tenant, other = await api.tenant("a"), await api.tenant("b")
    _, token = await api.connection(tenant, "sandbox", {}, {"size": 30})
    _, token2 = await api.connection(tenant, "sandbox", {}, {"size": 30})
    _, other_token = await api.connection(other, "sandbox", {}, {"size": 30})
    cursor = (await list_page(api, tenant, token, limit=5)).json()["next_cursor"]
    body, mac = cursor.split(".")
    for bad in [cursor[:-2] + "AA", body + "x." + mac, "garbage", "a.b", cursor + cursor]:
        response = await list_page(api, tenant, token, cursor=bad)
        assert response.status_code == 400 and response.json()["parameter"] == "cursor", bad
    # The same tenant's other connection, and another tenant's connection.
    for t, tok in ((tenant, token2), (other, other_token)):
        response = await list_page(api, t, tok, cursor=cursor)
        assert response.status_code == 400
        assert "another connection" in response.json()["detail"]


async def test_panora_client_walks_the_whole_set_with_next(tmp_path):
    async with served_over_http(tmp_path) as (api, base_url):
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {}, {"size": 57})

        def walk_with_sdk():
            client = Panora(api_key=tenant.api_key, server_url=base_url)
            page = client.ecommerce.customers.list(x_connection_token=token, limit=10)
            ids = []
            while True:
                ids += [c.id for c in page.result.data]
                # Panora's next() re-requests without a cursor when next_cursor
                # is null, so the client stops on a null next_cursor itself.
                if page.result.next_cursor is None:
                    return ids
                page = page.next()

        ids = await asyncio.to_thread(walk_with_sdk)
        assert ids == [str(n) for n in range(1, 58)]
