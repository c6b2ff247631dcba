"""/openapi.json is valid OpenAPI 3.1, and real responses validate against it."""

import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.harness import running_app

ADMIN = "admin-token-openapi-0123456789"


@pytest.fixture
async def api(tmp_path):
    async with running_app(tmp_path, admin_token=ADMIN) as harness:
        yield harness


def response_schema(doc, path, method, status):
    response = doc["paths"][path][method]["responses"][str(status)]
    content = response["content"]
    schema = next(iter(content.values()))["schema"]
    return {**schema, "components": doc["components"]}


def check(doc, path, method, response):
    assert str(response.status_code) in doc["paths"][path][method]["responses"], (path, response.status_code)
    if response.status_code == 204:
        return
    # The schema carries the document's components, so "#/components/..." resolves.
    schema = response_schema(doc, path, method, response.status_code)
    jsonschema.Draft202012Validator(schema).validate(response.json())


async def test_document_is_valid_openapi_31(api):
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"]["name"] == "x-api-key"
    assert schemes["ConnectionToken"]["name"] == "x-connection-token"
    assert schemes["AdminToken"]["scheme"] == "bearer"
    routes = {
        (r.path, m.lower()) for r in api.app.routes for m in (r.methods or [])
        if m != "HEAD" and r.path not in ("/openapi.json", "/docs")
    }
    documented = {(p, m) for p, item in doc["paths"].items() for m in item}
    assert routes == documented, "every route is described, and nothing else"


async def test_docs_page_is_self_contained(api):
    page = await api.client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/ecommerce/customers/{id}" in page.text
    assert "<script" not in page.text and "http://" not in page.text.replace("http://127", "")


async def test_real_responses_validate(api):
    doc = (await api.client.get("/openapi.json")).json()
    tenant = await api.tenant()
    h = {"x-api-key": tenant.api_key}
    created = await api.client.post("/connections", json={"provider": "sandbox", "credentials": {}}, headers=h)
    check(doc, "/connections", "post", created)
    token = created.json()["connection_token"]
    both = {**h, "x-connection-token": token}
    check(doc, "/ecommerce/customers/{id}", "get",
          await api.client.get("/ecommerce/customers/3?remote_data=true", headers=both))
    check(doc, "/ecommerce/customers/{id}", "get", await api.client.get("/ecommerce/customers/99999", headers=both))
    check(doc, "/ecommerce/customers/{id}", "get", await api.client.get("/ecommerce/customers/1"))
    check(doc, "/ecommerce/customers/{id}", "get",
          await api.client.get("/ecommerce/customers/1?remote_data=maybe", headers=both))
    page = await api.client.get("/ecommerce/customers?limit=3", headers=both)
    check(doc, "/ecommerce/customers", "get", page)
    check(doc, "/connections", "get", await api.client.get("/connections", headers=h))
    check(doc, "/connections/{id}", "get", await api.client.get(f"/connections/{created.json()['id']}", headers=h))
    mapping = await api.client.post(
        "/field-mappings", json={"name": "n", "provider": "sandbox", "expression": "given_name"}, headers=h
    )
    check(doc, "/field-mappings", "post", mapping)
    check(doc, "/field-mappings", "get", await api.client.get("/field-mappings", headers=h))
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tenant2 = await api.client.post("/admin/tenants", json={"name": "x"}, headers=admin)
    check(doc, "/admin/tenants", "post", tenant2)
    check(doc, "/admin/tenants", "get", await api.client.get("/admin/tenants", headers=admin))
    check(doc, "/admin/tenants/{id}/api-keys", "post",
          await api.client.post(f"/admin/tenants/{tenant2.json()['id']}/api-keys", headers=admin))
    check(doc, "/health", "get", await api.client.get("/health"))
    check(doc, "/ready", "get", await api.client.get("/ready"))
