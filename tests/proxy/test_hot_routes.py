"""The customer reads are answered by HotRoutes ahead of Starlette's layers
(issue 17): the same request context, errors, 500s, log line and metrics as
every other route, and the routes it does not take still reach Starlette."""

import httpx
import pytest

from proxy import app as app_module
from proxy.routes import customers
from tests.harness import running_app
from tests.logtrap import trap  # noqa: F401 - the fixture


@pytest.fixture
async def api(tmp_path):
    async with running_app(tmp_path) as harness:
        yield harness


async def test_the_customer_reads_take_the_hot_path(api, monkeypatch):
    taken = []
    serve = api.app.hot.serve

    async def counting(*args, **kwargs):
        taken.append(args[1].path)
        await serve(*args, **kwargs)

    monkeypatch.setattr(api.app.hot, "serve", counting)
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    assert (await api.get_customer(tenant, token, "1")).status_code == 200
    headers = {"x-api-key": tenant.api_key, "x-connection-token": token}
    assert (await api.client.get("/ecommerce/customers", headers=headers)).status_code == 200
    assert (await api.client.get("/health")).status_code == 200
    assert (await api.client.head("/ecommerce/customers/1", headers=headers)).status_code == 200
    assert (await api.client.get("/ecommerce/customers/", headers=headers)).status_code == 404
    # /health, HEAD and the trailing slash went to Starlette.
    assert taken == ["/ecommerce/customers/{id}", "/ecommerce/customers"]


async def test_head_through_starlette_answers_as_get_without_a_body(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    headers = {"x-api-key": tenant.api_key, "x-connection-token": token}
    get = await api.client.get("/ecommerce/customers/1", headers=headers)
    head = await api.client.head("/ecommerce/customers/1", headers=headers)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["x-request-id"] != get.headers["x-request-id"]


async def test_a_bug_on_the_hot_path_is_a_problem_500_logged_with_its_request_id(api, monkeypatch, trap):  # noqa: F811
    def broken(request, live):
        raise RuntimeError("a bug")

    monkeypatch.setattr(customers, "read_shape", broken)
    monkeypatch.setattr(app_module.Shoprelay.__mro__[1], "__call__", None)  # Starlette's own path is not taken
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    response = await api.get_customer(tenant, token, "1")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "internal_error" and "a bug" not in response.text
    request_id = response.headers["x-request-id"]
    assert problem["request_id"] == request_id
    errors = [r for r in trap.records if r.name == "shoprelay.error"]
    assert [r.request_id for r in errors] == [request_id] and errors[0].exc_info
    [line] = trap.access()
    assert (line.status, line.route, line.tenant_id) == (500, "/ecommerce/customers/{id}", tenant.id)
    metrics = api.runtime.metrics.render().decode()
    assert 'shoprelay_http_requests_total{code="500",method="GET",route="/ecommerce/customers/{id}"} 1.0' in metrics


async def test_errors_keep_their_handlers_and_headers_on_the_hot_path(api, trap):  # noqa: F811
    tenant = await api.tenant()
    missing = await api.client.get("/ecommerce/customers/1", headers={"x-api-key": tenant.api_key})
    assert missing.status_code == 401
    assert missing.json()["code"] == "missing_connection_token"
    assert missing.json()["request_id"] == missing.headers["x-request-id"]
    # One x-request-id, the one the log line has.
    assert missing.headers.get_list("x-request-id") == [missing.headers["x-request-id"]]
    [line] = trap.access()
    assert (line.status, line.error_code, line.request_id) == (401, "missing_connection_token", missing.headers["x-request-id"])
    too_long = await api.client.get("/ecommerce/customers/" + "1" * 3000, headers={"x-api-key": tenant.api_key})
    assert too_long.status_code == 414 and too_long.json()["code"] == "invalid_request"


async def test_a_client_request_id_is_kept_on_the_hot_path(api):
    tenant = await api.tenant()
    _, token = await api.connection(tenant, "sandbox", {})
    response = await api.client.get(
        "/ecommerce/customers/1",
        headers={"x-api-key": tenant.api_key, "x-connection-token": token, "x-request-id": "client-chosen-42"},
    )
    assert response.status_code == 200 and response.headers["x-request-id"] == "client-chosen-42"


async def test_a_root_path_goes_through_starlette(tmp_path):
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})
        transport = httpx.ASGITransport(app=api.app, root_path="/api")
        async with httpx.AsyncClient(transport=transport, base_url="http://shoprelay.test") as client:
            response = await client.get(
                "/api/ecommerce/customers/1", headers={"x-api-key": tenant.api_key, "x-connection-token": token}
            )
        assert response.status_code == 200 and response.json()["id"] == "1"


def test_a_root_path_is_never_matched_by_the_hot_routes(tmp_path):
    from tests.harness import make_config

    app = app_module.create_app(make_config(tmp_path))
    scope = {"type": "http", "method": "GET", "path": "/ecommerce/customers/1", "root_path": ""}
    assert app.hot.match(scope) is not None
    assert app.hot.match({**scope, "root_path": "/ecommerce"}) is None
    assert app.hot.match({**scope, "method": "HEAD"}) is None


async def test_a_414_is_refused_before_routing_as_on_every_route(api, trap):  # noqa: F811
    tenant = await api.tenant()
    for path in ("/ecommerce/customers/" + "1" * 3000, "/tenant?" + "a" * 9000):
        response = await api.client.get(path, headers={"x-api-key": tenant.api_key})
        assert response.status_code == 414
    assert [(line.status, line.route) for line in trap.access()] == [(414, None), (414, None)]
    metrics = (await api.client.get("/metrics")).text
    assert 'shoprelay_http_requests_total{code="414",method="GET",route="unmatched"} 2.0' in metrics


def test_the_app_is_still_a_starlette_app(tmp_path):
    from starlette.applications import Starlette

    from tests.harness import make_config

    app = app_module.create_app(make_config(tmp_path))
    assert isinstance(app, Starlette)
    hot = {route.path for route in app.hot.routes}
    assert hot == {
        "/ecommerce/customers/{id}", "/ecommerce/customers",
        "/unified/ecommerce/customers/{id}", "/unified/ecommerce/customers",
    }
    # Starlette keeps them too (HEAD, and the OpenAPI check of the route table).
    assert hot <= {getattr(route, "path", None) for route in app.routes}
