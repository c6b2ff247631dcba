"""``/openapi.json`` (OpenAPI 3.1), generated from the msgspec models the
handlers encode, and ``/docs``, a self-contained reference page.

Schemas come from the Structs (``msgspec.json.schema_components``); this
module only declares, per route, which parameters and models it uses.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import msgspec

from providers.models import Customer, CustomerPage
from providers.registry import names as provider_names

from .bodies import ApiKeyCreate, ConnectionCreate, ConnectionPatch, FieldMappingCreate, TenantCreate
from .paging import DEFAULT_LIMIT, MAX_LIMIT
from .store.records import FieldMapping, Tenant
from .views import (
    ApiKeyWithSecret,
    ConnectionList,
    ConnectionView,
    ConnectionWithToken,
    FieldMappingList,
    Health,
    Problem,
    TenantList,
)

VERSION = "0.1.0"
_REF = "#/components/schemas/{name}"
_MODELS = [
    Customer, CustomerPage, Problem, Health, ConnectionView, ConnectionWithToken, ConnectionList,
    FieldMapping, FieldMappingList, Tenant, TenantList, ApiKeyWithSecret,
    ConnectionCreate, ConnectionPatch, FieldMappingCreate, TenantCreate, ApiKeyCreate,
]
_INPUTS = {ConnectionCreate, ConnectionPatch, FieldMappingCreate, TenantCreate, ApiKeyCreate}

TENANT = [{"ApiKey": []}]
CONNECTION = [{"ApiKey": [], "ConnectionToken": []}]
ADMIN = [{"AdminToken": []}]


def ref(model: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=model.__name__)}


def _param(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


_STRING = {"type": "string"}
_ID = _param("id", "path", _STRING, "The identifier.", True)
_REMOTE_DATA = _param("remote_data", "query", {"type": "boolean"},
                      "Include the provider's raw payload (true/false/1/0, any case).")
_SHAPING = [
    _param("fields", "query", _STRING, "Comma-separated dot paths to keep, e.g. id,email,addresses.city."),
    _param("exclude_fields", "query", _STRING, "Comma-separated dot paths to drop."),
    _param("response_format", "query", {"type": "string", "enum": ["unified", "raw"]},
           "unified (default) or raw: the provider's payload verbatim (so not with fields or "
           "exclude_fields, which name unified fields: 400)."),
]
_REMOTE_QUERY = {
    "name": "remote_query", "in": "query", "style": "deepObject", "explode": True,
    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
    "description": "remote_query[name]=value is forwarded to the provider's query string, except "
                   "names that touch auth, ids, paging or the tenant (400), checked as the "
                   "platform reads them; WooCommerce takes only search, email, role and _locale.",
}
_TOKEN_HEADER = _param("x-connection-token", "header", _STRING, "The connection token (ct_...).", True)

_PROBLEM = {"application/problem+json": {"schema": ref(Problem)}}
_ERRORS = {
    "400": "Invalid parameter or body (`invalid_parameter`, `invalid_request`); a query parameter "
           "the operation does not list is refused too.",
    "401": "Missing or invalid credentials (`missing_api_key`, `invalid_api_key`, "
           "`missing_connection_token`, `invalid_connection_token`, `invalid_admin_token`).",
    "404": "Not found (`customer_not_found`, `not_found`).",
    "409": "Conflict (`conflict`).",
    "413": "Body too large.",
    "422": "The provider rejected the credentials being verified (`verification_failed`).",
    "429": "Rate limited (`rate_limited`, `provider_rate_limited`); see Retry-After.",
    "502": "Provider failure (`provider_auth_failed`, `provider_unavailable`, `provider_bad_response`).",
    "503": "The store does not answer (`store_unavailable`), or this server cannot decrypt the"
           " connection's stored credentials (`credentials_unreadable`).",
    "504": "The provider did not answer in time (`provider_timeout`).",
}


def _op(
    op_id: str, summary: str, security: list[dict[str, list[str]]] | None, ok: tuple[str, Any],
    errors: list[str], params: list[dict[str, Any]] = (), body: type | None = None,  # type: ignore[assignment]
    tags: list[str] | None = None,
) -> dict[str, Any]:
    status, model = ok
    responses: dict[str, Any] = {}
    if model is None:
        responses[status] = {"description": "Done."}
    else:
        schema = model if isinstance(model, dict) else ref(model)
        responses[status] = {"description": "OK.", "content": {"application/json": {"schema": schema}}}
    for code in errors:
        responses[code] = {"description": _ERRORS[code], "content": _PROBLEM}
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary, "tags": tags or [], "parameters": list(params),
        "responses": responses,
    }
    if security is not None:
        operation["security"] = security
    if body is not None:
        operation["requestBody"] = {
            "required": True, "content": {"application/json": {"schema": ref(body)}},
        }
    return operation


_READ_ERRORS = ["400", "401", "404", "429", "502", "503", "504"]
_MGMT = ["400", "401", "429", "503"]

# fields/exclude_fields keep a subset of Customer's properties, and
# response_format=raw returns the provider's record verbatim: neither is a
# full Customer, so a read's 200 is one of these or the unified model.
_SHAPED = {
    "ShapedCustomer": {
        "title": "ShapedCustomer", "type": "object",
        "description": "A customer read with fields or exclude_fields (the chosen Customer properties only) "
                       "or with response_format=raw (the provider's record, verbatim).",
    },
    "ShapedCustomerPage": {
        "title": "ShapedCustomerPage", "type": "object",
        "description": "A page of shaped or raw customers.",
        "properties": {
            "prev_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "data": {"type": "array", "items": {"$ref": _REF.format(name="ShapedCustomer")}},
        },
        "required": ["prev_cursor", "next_cursor", "data"],
    },
}


def _read(model: type) -> tuple[str, dict[str, Any]]:
    shaped = {"$ref": _REF.format(name=f"Shaped{model.__name__}")}
    return "200", {"anyOf": [ref(model), shaped]}


def _paths() -> dict[str, Any]:
    c = ["ecommerce/customers"]
    m = ["connections"]
    f = ["field-mappings"]
    a = ["admin"]
    return {
        "/ecommerce/customers": {"get": _op(
            "listEcommerceCustomers", "List customers, live from the store", CONNECTION,
            _read(CustomerPage), _READ_ERRORS,
            [_TOKEN_HEADER, _REMOTE_DATA,
             _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}, "Page size."),
             _param("cursor", "query", _STRING, "An opaque cursor from next_cursor or prev_cursor."),
             *_SHAPING, _REMOTE_QUERY], tags=c)},
        "/ecommerce/customers/{id}": {"get": _op(
            "retrieveEcommerceCustomer", "Retrieve a customer, live from the store", CONNECTION,
            _read(Customer), _READ_ERRORS,
            [_TOKEN_HEADER, _param("id", "path", _STRING, "The provider's customer id.", True),
             _REMOTE_DATA, *_SHAPING, _REMOTE_QUERY], tags=c)},
        "/connections": {
            "post": _op("createConnection", "Link a store", TENANT, ("201", ConnectionWithToken),
                        [*_MGMT, "413", "422", "502", "504"],
                        [_param("verify", "query", {"type": "boolean"}, "Make one cheap live call first.")],
                        ConnectionCreate, m),
            "get": _op("listConnections", "List connections", TENANT, ("200", ConnectionList), _MGMT,
                       [_param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, "Page size."),
                        _param("cursor", "query", _STRING, "From next_cursor.")], tags=m),
        },
        "/connections/{id}": {
            "get": _op("getConnection", "A connection", TENANT, ("200", ConnectionView), [*_MGMT, "404"], [_ID], tags=m),
            "patch": _op("updateConnection", "Replace credentials and/or settings", TENANT, ("200", ConnectionView),
                         [*_MGMT, "404", "413", "422", "502", "504"],
                         [_ID, _param("verify", "query", {"type": "boolean"}, "Make one cheap live call first.")],
                         ConnectionPatch, m),
            "delete": _op("deleteConnection", "Delete a connection; its token fails at once", TENANT,
                          ("204", None), [*_MGMT, "404"], [_ID], tags=m),
        },
        "/connections/{id}/rotate-token": {"post": _op(
            "rotateConnectionToken", "New token; the old one fails at once", TENANT,
            ("200", ConnectionWithToken), [*_MGMT, "404"], [_ID], tags=m)},
        "/field-mappings": {
            "post": _op("createFieldMapping", "Define a custom field", TENANT, ("201", FieldMapping),
                        [*_MGMT, "404", "409", "413"], body=FieldMappingCreate, tags=f),
            "get": _op("listFieldMappings", "List custom fields", TENANT, ("200", FieldMappingList), _MGMT,
                       [_param("connection_id", "query", _STRING, "Only this connection's overrides.")], tags=f),
        },
        "/field-mappings/{id}": {"delete": _op(
            "deleteFieldMapping", "Delete a custom field", TENANT, ("204", None), [*_MGMT, "404"], [_ID], tags=f)},
        "/admin/tenants": {
            "post": _op("createTenant", "Create a tenant", ADMIN, ("201", Tenant), ["400", "401", "404", "413", "503"],
                        body=TenantCreate, tags=a),
            "get": _op("listTenants", "List tenants", ADMIN, ("200", TenantList), ["400", "401", "404", "503"], tags=a),
        },
        "/admin/tenants/{id}/api-keys": {"post": _op(
            "createApiKey", "Create an API key (shown once)", ADMIN, ("201", ApiKeyWithSecret),
            ["400", "401", "404", "413", "503"], [_ID], ApiKeyCreate, a)},
        "/admin/api-keys/{id}": {"delete": _op(
            "revokeApiKey", "Revoke an API key", ADMIN, ("204", None), ["400", "401", "404", "503"], [_ID], tags=a)},
        "/health": {"get": _op("health", "Liveness", [], ("200", Health), ["400"], tags=["operations"])},
        "/ready": {"get": _op("ready", "Readiness: the store answers and can write", [], ("200", Health), ["400", "503"], tags=["operations"])},
        "/metrics": {"get": {
            "operationId": "metrics", "summary": "Prometheus metrics (admin token if "
            "SHOPRELAY_METRICS_REQUIRE_ADMIN=true)", "tags": ["operations"], "parameters": [],
            "security": [{}, {"AdminToken": []}],
            "responses": {
                "200": {"description": "Prometheus text format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}}},
                "400": {"description": _ERRORS["400"], "content": _PROBLEM},
                "401": {"description": _ERRORS["401"], "content": _PROBLEM},
            },
        }},
    }


def _components() -> dict[str, Any]:
    _, schemas = msgspec.json.schema_components(_MODELS, ref_template=_REF)
    for name, schema in schemas.items():
        model = next((m for m in _MODELS if m.__name__ == name), None)
        omits = model is not None and model.__struct_config__.omit_defaults
        # Output Structs encode every field, null included: say so.
        if "properties" in schema and model not in _INPUTS and not omits:
            schema["required"] = list(schema["properties"])
    return {**schemas, **_SHAPED}


@lru_cache(maxsize=1)
def document() -> bytes:
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "shoprelay",
            "version": VERSION,
            "description": "Unified, live e-commerce API, compatible with Panora's e-commerce customers API. "
                           f"Providers: {', '.join(provider_names())}.",
        },
        "paths": _paths(),
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "ConnectionToken": {"type": "apiKey", "in": "header", "name": "x-connection-token"},
                "AdminToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }
    return msgspec.json.encode(doc)


@lru_cache(maxsize=1)
def docs_page() -> bytes:
    """A readable reference rendered from the same document: no scripts, no CDN."""
    doc = msgspec.json.decode(document())
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>shoprelay API</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "code,pre{background:#f4f4f4;padding:.1rem .3rem}h3{margin-top:2rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}"
        ".m{font-weight:bold;text-transform:uppercase}</style></head><body>",
        f"<h1>shoprelay API <small>{html.escape(doc['info']['version'])}</small></h1>",
        f"<p>{html.escape(doc['info']['description'])}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            parts.append(f"<h3><span class=m>{method}</span> <code>{html.escape(path)}</code></h3>")
            parts.append(f"<p>{html.escape(op['summary'])}</p>")
            if op["parameters"]:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>description</th></tr>")
                for p in op["parameters"]:
                    parts.append(
                        f"<tr><td><code>{html.escape(p['name'])}</code>{' *' if p.get('required') else ''}</td>"
                        f"<td>{p['in']}</td><td>{html.escape(p.get('description', ''))}</td></tr>"
                    )
                parts.append("</table>")
            parts.append("<ul>")
            for status, response in op["responses"].items():
                parts.append(f"<li><code>{status}</code> {html.escape(response['description'])}</li>")
            parts.append("</ul>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        fields = ", ".join(f"<code>{html.escape(k)}</code>" for k in schema.get("properties", {}))
        parts.append(f"<h4 id='{html.escape(name)}'>{html.escape(name)}</h4><p>{fields}</p>")
    parts.append("</body></html>")
    return "".join(parts).encode()
