"""Query parameters a route does not read are refused (issue 12 item 7).

``?email=tim@example.com`` used to be ignored, so a client that thought it
filtered got every customer back. Every route now declares what it reads.
"""

import msgspec
import pytest
from starlette.routing import Route

from proxy import openapi
from proxy.connect.page import is_page
from tests.harness import running_app

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture
async def api(tmp_path):
    async with running_app(tmp_path, admin_token=ADMIN) as harness:
        yield harness


async def credentials(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    return tenant, token, {
        "x-api-key": tenant.api_key,
        "x-connection-token": token,
        "Authorization": f"Bearer {ADMIN}",
    }


def assert_refused(response, parameter):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["parameter"] == parameter
    assert parameter in body["detail"]
    return body


async def test_an_unsupported_filter_is_refused_not_ignored(api):
    _, _, headers = await credentials(api)
    listed = await api.client.get("/ecommerce/customers", params={"email": "tim@example.com"}, headers=headers)
    body = assert_refused(listed, "email")
    # The error says what the route does read.
    assert "limit" in body["detail"] and "remote_query[name]" in body["detail"]
    one = await api.client.get("/ecommerce/customers/3", params={"limit": "5"}, headers=headers)
    assert_refused(one, "limit")  # paging is the list's, not a single read's
    # The documented ones still work, remote_query[...] included.
    ok = await api.client.get(
        "/ecommerce/customers",
        params={"limit": "2.0", "remote_data": "true", "fields": "id,email", "remote_query[x]": "1"},
        headers=headers,
    )
    # The sandbox has nothing upstream to forward to: refused, but as such.
    assert ok.status_code == 400 and ok.json()["parameter"] == "remote_query"
    assert "forwarded" in ok.json()["detail"]
    ok = await api.client.get("/ecommerce/customers", params={"limit": "2", "remote_data": "1"}, headers=headers)
    assert ok.status_code == 200 and len(ok.json()["data"]) == 2


def app_routes(app):
    for route in app.routes:
        if isinstance(route, Route):
            for method in sorted(route.methods - {"HEAD"}):
                yield route, method


async def test_every_route_refuses_a_parameter_it_does_not_read(api):
    _, _, headers = await credentials(api)
    routes = list(app_routes(api.app))
    assert len(routes) >= 20
    for route, method in routes:
        if getattr(route.endpoint, "platform_query", False):
            continue  # an OAuth callback reads what the platform sends (params.platform_query)
        path = route.path.replace("{id}", "does-not-matter")
        response = await api.client.request(method, path, params={"bogus": "1"}, headers=headers)
        if is_page(route.path):  # the connect page's: a page for a person says it
            assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")
            assert "bogus: " in response.text
            continue
        assert_refused(response, "bogus")


async def test_declared_parameters_are_the_documented_ones(api):
    # One list per route, in the code; the document must say the same, so
    # nothing it promises (Panora's remote_data, limit, cursor...) is refused.
    document = msgspec.json.decode(openapi.document())
    for route, method in app_routes(api.app):
        declared = route.endpoint.query_parameters
        operation = document["paths"].get(route.path, {}).get(method.lower(), {})
        documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert declared == documented, (method, route.path)


async def test_fields_with_raw_format_is_explained(api):
    _, _, headers = await credentials(api)
    for name in ("fields", "exclude_fields"):
        response = await api.client.get(
            "/ecommerce/customers/3", params={name: "email", "response_format": "raw"}, headers=headers
        )
        body = assert_refused(response, name)
        assert "response_format=raw" in body["detail"] and "verbatim" in body["detail"]
    listed = await api.client.get(
        "/ecommerce/customers", params={"fields": "id", "response_format": "raw"}, headers=headers
    )
    assert_refused(listed, "fields")


async def test_credentials_in_the_query_are_pointed_at_headers_and_not_echoed(api):
    tenant, token, headers = await credentials(api)
    response = await api.client.get("/ecommerce/customers", params={"x-api-key": tenant.api_key}, headers=headers)
    body = assert_refused(response, "x-api-key")
    assert "headers" in body["detail"]
    response = await api.client.get(f"/ecommerce/customers?{token}", headers=headers)
    assert response.status_code == 400
    assert token not in response.text and tenant.api_key not in response.text
    response = await api.client.get("/ecommerce/customers", params={"a" * 5000: "1"}, headers=headers)
    assert response.status_code == 400 and len(response.json()["parameter"]) < 100


async def test_the_admin_surface_stays_hidden_while_disabled(tmp_path):
    async with running_app(tmp_path) as api:
        response = await api.client.get("/admin/tenants", params={"bogus": "1"})
        assert response.status_code == 404 and response.json()["code"] == "not_found"
