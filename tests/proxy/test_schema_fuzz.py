"""Property-based fuzz of every operation in /openapi.json (issue 8).

Schemathesis generates requests for each documented operation (its
coverage phase's boundary and invalid values, then random valid and invalid
ones), sends them to the ASGI app in process, and checks every response:
never a 5xx, a documented status code, the documented content type and
headers, and a body that validates against the documented schema.

The run is bounded (examples per operation, derandomized, no example
database) so it is reproducible and fits in CI.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Iterator

import jsonschema
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from providers import http
from proxy import openapi
from proxy.app import create_app
from proxy.connect.page import COOKIE
from tests.harness import make_config, running_app

ADMIN = "admin-token-fuzz-0123456789abcdef"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    # One app serves all of an operation's examples on purpose (the
    # fixture), and generation speed depends on the load of a shared CI box.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Customer reads without fields/exclude_fields/response_format=raw: the
# document allows a ShapedCustomer too, these must be the full model.
UNIFIED = {"/ecommerce/customers/{id}": "Customer", "/ecommerce/customers": "CustomerPage"}

# Parametrizing needs the document at collection time, before any app runs;
# test_the_fuzzed_document_is_the_served_one checks it is what /openapi.json
# serves. (schemathesis.pytest.from_fixture would fetch it from the app, but
# it sets Node._nodeid, which pytest 9.2 no longer has.)
schema = schemathesis.openapi.from_dict(msgspec.json.decode(openapi.document()))


class Target(msgspec.Struct):
    """The app under test, valid credentials for it, the ids of what the
    fixture created (keyed by the route whose {id} they fill), and the hosts
    the app tried to resolve (there must be none)."""

    app: Any
    api_key: str
    connection_token: str
    connect_cookie: str  # a connect session's, for the merchant's pages
    ids: dict[str, str]
    resolved: list[str]

    def authenticate(self, case: Any) -> None:
        """Valid credentials for every scheme the operation declares, so the
        generated requests get past authentication and reach the handlers."""
        by_scheme = {
            "ApiKey": {"x-api-key": self.api_key},
            "ConnectionToken": {"x-connection-token": self.connection_token},
            "AdminToken": {"Authorization": f"Bearer {ADMIN}"},
            "ConnectSession": {"Cookie": self.connect_cookie},
            "TrutoBearer": {"Authorization": f"Bearer {self.api_key}"},
        }
        headers = dict(case.headers or {})
        for requirement in case.operation.definition.raw.get("security", []):
            for scheme in requirement:
                headers.update(by_scheme[scheme])
        case.headers = headers

    def refer_to_existing(self, case: Any) -> None:
        """Point a generated request at objects that exist: the {id}, and a
        body's provider (sandbox, the only one that needs no network) and
        connection_id. Generated values almost never name one."""
        if case.operation.path in self.ids:
            case.path_parameters = {**(case.path_parameters or {}), "id": self.ids[case.operation.path]}
        if case.operation.path.startswith("/unified/"):  # Truto's surface names the connection by id
            case.query = {**(case.query or {}), "integrated_account_id": self.ids["/connections/{id}"]}
        if isinstance(case.body, dict):
            existing = {"provider": "sandbox", "connection_id": self.ids["/connections/{id}"]}
            case.body = {**case.body, **{k: v for k, v in existing.items() if k in case.body}}


@pytest.fixture
def target(tmp_path, monkeypatch) -> Iterator[Target]:
    """A fresh app per operation, with a tenant, an API key, a sandbox
    connection and a field mapping, created through the API itself.

    Each operation has its own app, so an example that deletes, revokes or
    rotates one of these (the credentials included) only affects later
    examples of that same operation, which then get a documented 404/401.
    Schemathesis runs the app's lifespan on its own event loop and ends it
    when the test ends (its pytest plugin's teardown)."""
    resolved: list[str] = []

    async def refuse(self: Any, host: str, *args: Any, **kwargs: Any) -> Any:
        resolved.append(host)
        raise http.BlockedAddress("the fuzz never leaves the process")

    monkeypatch.setattr(http.GuardedResolver, "resolve", refuse)
    app = create_app(make_config(tmp_path, admin_token=ADMIN))

    def create(path: str, **kwargs: Any) -> Any:
        response = schema[path]["POST"].Case(**kwargs).call(app=app)
        assert response.status_code == 201, response.text
        return response.json()

    admin = {"Authorization": f"Bearer {ADMIN}"}
    tenant = create("/admin/tenants", body={"name": "fuzz"}, headers=admin)
    key = create("/admin/tenants/{id}/api-keys", path_parameters={"id": tenant["id"]},
                 body={"name": "fuzz"}, headers=admin)
    with_key = {"x-api-key": key["api_key"]}
    connection = create("/connections", body={"provider": "sandbox", "credentials": {}}, headers=with_key)
    mapping = create("/field-mappings", headers=with_key,
                     body={"name": "fuzz", "provider": "sandbox", "expression": "given_name"})
    session = create("/connect/sessions", body={"end_user_id": "fuzz"}, headers=with_key)
    session_token = urllib.parse.parse_qs(urllib.parse.urlsplit(session["connect_url"]).query)["token"][0]
    yield Target(app, key["api_key"], connection["connection_token"], f"{COOKIE}={session_token}", {
        "/ecommerce/customers/{id}": "3",  # the sandbox store has ids 1..250
        "/unified/ecommerce/customers/{id}": "3",
        "/connections/{id}": connection["id"],
        "/connections/{id}/rotate-token": connection["id"],
        "/field-mappings/{id}": mapping["id"],
        "/admin/tenants/{id}/api-keys": tenant["id"],
        "/admin/api-keys/{id}": key["id"],
        "/connect/sessions/{id}": session["id"],
    }, resolved)


def stay_in_process(case: Any) -> None:
    """The document describes each provider's credentials, so generated
    bodies can be valid for a real platform; with verify=true the app would
    then call it. Only the sandbox answers in process: verify the others'
    bodies no further than validation (tests/proxy/test_management_api.py
    covers verification against local upstreams)."""
    provider = case.body.get("provider") if isinstance(case.body, dict) else None
    if provider not in (None, "sandbox") and case.query and "verify" in case.query:
        case.query = {k: v for k, v in case.query.items() if k != "verify"}


def exchange(case: Any, target: Target) -> None:
    target.authenticate(case)
    stay_in_process(case)
    response = case.call_and_validate(app=target.app, checks=CHECKS)
    assert not target.resolved, "the app tried to reach the network"
    if case.operation.path in UNIFIED and response.status_code == 200:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.request.url).query)
        shaped = "fields" in query or "exclude_fields" in query
        if not shaped and query.get("response_format", ["unified"]) == ["unified"]:
            assert_matches(UNIFIED[case.operation.path], response.json())


def assert_matches(component: str, body: Any) -> None:
    jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{component}", "components": schema.raw_schema["components"]}
    ).validate(body)


@schema.parametrize()
@FUZZ
def test_every_operation_answers_as_documented(case, target):
    exchange(case, target)


def _names_objects(ctx: Any) -> bool:
    operation = ctx.operation
    return "{id}" in operation.path or operation.label in (
        "POST /connections", "POST /field-mappings", "GET /unified/ecommerce/customers",
    )


@schema.include(_names_objects).parametrize()
@FUZZ
def test_operations_on_existing_objects_answer_as_documented(case, target):
    # The same fuzz, but aimed at objects that exist, so the handlers'
    # success paths (read, patch, rotate, delete, create) are fuzzed too.
    target.refer_to_existing(case)
    exchange(case, target)


async def test_the_fuzzed_document_is_the_served_one(tmp_path):
    async with running_app(tmp_path) as api:
        served = await api.client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == schema.raw_schema
