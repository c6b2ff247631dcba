"""``/openapi.json`` (OpenAPI 3.1), generated from the msgspec models the
handlers encode and the providers declare; ``/docs`` renders it (Swagger UI,
see routes/reference.py).

Schemas come from the Structs (``msgspec.json.schema_components``): the API's
own models, and each installed provider's credentials and settings. This
module only adds what a Struct cannot say: which route takes and answers
which model, which errors each route can really answer, the descriptions of
the API's own properties, and examples. Descriptions are CommonMark (Swagger
UI renders them): inline code in single backticks.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import msgspec

from providers import registry
from providers.models import Customer, CustomerPage
from providers.registry import names as provider_names
from providers.sandbox import SandboxProvider, generate

from .connect.exchange import ConnectExchange, ConnectExchanged
from .connect.page import COOKIE as CONNECT_COOKIE, MAX_ATTEMPTS as CONNECT_MAX_ATTEMPTS
from .connect.sessions import ConnectSessionCreate, ConnectSessionCreated, ConnectSessionView
from .bodies import (
    MAX_BODY_BYTES, ApiKeyCreate, ConnectionCreate, ConnectionPatch, FieldMappingCreate, ProviderAppPut, TenantCreate,
    TenantPatch,
)
from . import provider_apps
from .middleware import MAX_PATH_BYTES, MAX_QUERY_BYTES
from .paging import DEFAULT_LIMIT, MAX_LIMIT
from .shaping import MAX_REMOTE_QUERY_LENGTH, MAX_REMOTE_QUERY_PARAMS
from .tenant_settings import MAX_RETURN_URLS, MAX_URL_LENGTH
from .store.records import FieldMapping, Tenant
from .webhooks import events
from .webhooks.events import WebhookEventBody, WebhookEventData
from .views import (
    ApiKeyWithSecret,
    ConnectionList,
    ConnectionView,
    ConnectionWithToken,
    FieldMappingList,
    Health,
    Problem,
    ProviderAppList,
    ProviderAppView,
    TenantList,
    TenantSettings,
    TenantSettingsWithSecret,
    WebhookDelivery,
    WebhookDeliveryList,
)

VERSION = "0.1.0"
_REF = "#/components/schemas/{name}"
_MODELS = [
    Customer, CustomerPage, Problem, Health, ConnectionView, ConnectionWithToken, ConnectionList,
    FieldMapping, FieldMappingList, Tenant, TenantList, ApiKeyWithSecret,
    FieldMappingCreate, TenantCreate, ApiKeyCreate, TenantSettings, TenantSettingsWithSecret, TenantPatch,
    ConnectSessionCreate, ConnectSessionCreated, ConnectSessionView, ConnectExchange, ConnectExchanged,
    WebhookDelivery, WebhookDeliveryList, WebhookEventBody, WebhookEventData,
    ProviderAppPut, ProviderAppView, ProviderAppList,
]
_INPUTS = {
    FieldMappingCreate, TenantCreate, ApiKeyCreate, TenantPatch, ConnectSessionCreate, ConnectExchange, ProviderAppPut,
}

TENANT = [{"ApiKey": []}]
CONNECTION = [{"ApiKey": [], "ConnectionToken": []}]
ADMIN = [{"AdminToken": []}]
CONNECT_PAGE = [{"ConnectSession": []}]


def ref(model: type | str) -> dict[str, str]:
    return {"$ref": _REF.format(name=model if isinstance(model, str) else model.__name__)}


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, required: bool = False, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description, **extra}


_STRING = {"type": "string"}
_ID = _param("id", "path", _STRING, "The identifier.", True)
_REMOTE_DATA = _param("remote_data", "query", {"type": "boolean"},
                      "Include the provider's raw payload in `remote_data` (`true`/`false`/`1`/`0`, any case).",
                      example=True)
_SHAPING = [
    _param("fields", "query", _STRING, "Comma-separated dot paths to keep, e.g. `id,email,addresses.city`. "
           "Unknown names are refused.", example="id,email,addresses.city"),
    _param("exclude_fields", "query", _STRING, "Comma-separated dot paths to drop, e.g. `remote_data,phones`."),
    _param("response_format", "query", {"type": "string", "enum": ["unified", "raw"]},
           "`unified` (default), or `raw`: the provider's record verbatim. `raw` cannot be combined with "
           "`fields` or `exclude_fields`, which name unified properties."),
]
_REMOTE_QUERY = {
    "name": "remote_query", "in": "query", "style": "deepObject", "explode": True,
    "schema": {"type": "object", "additionalProperties": {"type": "string", "maxLength": MAX_REMOTE_QUERY_LENGTH}},
    "description": f"`remote_query[name]=value` is forwarded to the provider's query string (at most "
                   f"{MAX_REMOTE_QUERY_PARAMS}), except names that touch auth, ids, paging or the tenant "
                   "(`400 invalid_parameter`), checked as the platform reads them; WooCommerce takes only "
                   "`search`, `email`, `role` and `_locale`. Providers without a query string (Shopify's "
                   "GraphQL, the sandbox) take none.",
}
_TOKEN_HEADER = _param(
    "x-connection-token", "header", _STRING,
    "The connection token (`ct_...`) of the store to read: the same value as the `ConnectionToken` "
    "scheme (Authorize).", True,
)
_VERIFY = _param("verify", "query", {"type": "boolean"},
                 "Make one cheap live call to the store with these credentials before storing anything.")


# -- errors: each route lists the ones it can really answer ----------------------


class Err(NamedTuple):
    status: int
    code: str
    text: str


# Every route refuses a query parameter it does not read (params.accepts),
# so every operation lists this one.
INVALID_PARAMETER = Err(400, "invalid_parameter", "A query parameter is malformed, repeated, out of range, or "
                        "one this operation does not read; `parameter` names it.")
INVALID_BODY = Err(400, "invalid_request", "The body is not a JSON object of this operation's shape, or a value "
                   "in it is refused; `detail` says which.")
URI_TOO_LONG = Err(414, "invalid_request", f"The path exceeds {MAX_PATH_BYTES} bytes or the query string "
                   f"{MAX_QUERY_BYTES} bytes.")
BODY_TOO_LARGE = Err(413, "invalid_request", f"The body exceeds {MAX_BODY_BYTES // 1024} KiB.")
MISSING_API_KEY = Err(401, "missing_api_key", "No `x-api-key` header.")
INVALID_API_KEY = Err(401, "invalid_api_key", "The `x-api-key` is unknown or revoked.")
MISSING_TOKEN = Err(401, "missing_connection_token", "No `x-connection-token` header.")
INVALID_TOKEN = Err(401, "invalid_connection_token", "The `x-connection-token` is unknown, rotated, deleted, or "
                    "another tenant's (all answer alike).")
RATE_LIMITED = Err(429, "rate_limited", "Too many requests for this tenant or connection, or too many failed "
                   "authentications from this address; wait `Retry-After` seconds.")
STORE_UNAVAILABLE = Err(503, "store_unavailable", "The database does not answer; retry shortly.")
CREDENTIALS_UNREADABLE = Err(503, "credentials_unreadable", "This server cannot decrypt the connection's stored "
                             "credentials (its keyring lacks the key id named); the operator must restore the key.")
CUSTOMER_NOT_FOUND = Err(404, "customer_not_found", "The id is malformed for this provider, or the store has no "
                         "such customer.")
TENANT_CALLS_BUSY = Err(429, "rate_limited", "The tenant already has `SHOPRELAY_TENANT_CONCURRENCY` provider "
                        "calls in flight; retry when some have answered.")
PROVIDER_RATE_LIMITED = Err(429, "provider_rate_limited", "The store's platform kept rate-limiting after bounded "
                            "retries; wait `Retry-After` seconds.")
PROVIDER_AUTH_FAILED = Err(502, "provider_auth_failed", "The platform rejects the connection's credentials (or "
                           "refused to renew them): update them with `PATCH /connections/{id}`.")
PROVIDER_UNAVAILABLE = Err(502, "provider_unavailable", "The platform answered 5xx or could not be reached.")
PROVIDER_BAD_RESPONSE = Err(502, "provider_bad_response", "The platform's answer is not JSON of the expected "
                            "shape.")
PROVIDER_TIMEOUT = Err(504, "provider_timeout", "The platform did not answer in time.")
VERIFICATION_FAILED = Err(422, "verification_failed", "With `verify=true`: the platform rejected these "
                          "credentials; nothing was stored.")
CONNECTION_NOT_FOUND = Err(404, "not_found", "No connection of this tenant has that id.")
MAPPING_NOT_FOUND = Err(404, "not_found", "No field mapping of this tenant has that id.")
MAPPING_CONNECTION_NOT_FOUND = Err(404, "not_found", "`connection_id` names no connection of this tenant.")
MAPPING_CONFLICT = Err(
    409, "conflict", "A mapping with that name already exists in that scope, or the tenant already has 100 mappings."
)
INVALID_ADMIN_TOKEN = Err(401, "invalid_admin_token", "No `Authorization: Bearer` header, or not the admin token.")
ADMIN_THROTTLED = Err(429, "rate_limited", "Too many failed authentications from this address (wrong admin "
                      "tokens and API keys count together); wait `Retry-After` seconds.")
ADMIN_OFF = Err(404, "not_found", "The admin API is off: `SHOPRELAY_ADMIN_TOKEN` is not set.")
TENANT_NOT_FOUND = Err(404, "not_found", "No tenant has that id.")
NO_WEBHOOK_URL = Err(409, "conflict", "The tenant has no `webhook_url`: set one first (`PATCH /tenant`).")
API_KEY_NOT_FOUND = Err(404, "not_found", "No API key has that id.")
# A path id holding a character the database cannot store (NUL) is refused.
INVALID_ID = Err(400, "invalid_request", "The id holds a character the database cannot store.")

_TENANT_AUTH = [MISSING_API_KEY, INVALID_API_KEY, RATE_LIMITED, STORE_UNAVAILABLE]
_CONNECTION_AUTH = [*_TENANT_AUTH, MISSING_TOKEN, INVALID_TOKEN]
_ADMIN_AUTH = [INVALID_ADMIN_TOKEN, ADMIN_OFF, ADMIN_THROTTLED, STORE_UNAVAILABLE]
_PROVIDER_CALL = [TENANT_CALLS_BUSY, PROVIDER_RATE_LIMITED, PROVIDER_AUTH_FAILED, PROVIDER_UNAVAILABLE, PROVIDER_BAD_RESPONSE,
                  PROVIDER_TIMEOUT]
_VERIFY_CALL = [VERIFICATION_FAILED, TENANT_CALLS_BUSY, PROVIDER_RATE_LIMITED, PROVIDER_UNAVAILABLE, PROVIDER_BAD_RESPONSE,
                PROVIDER_TIMEOUT]
_BODY = [INVALID_BODY, BODY_TOO_LARGE]

_PROBLEM = {"application/problem+json": {"schema": ref(Problem)}}


def _error_responses(errors: list[Err]) -> dict[str, Any]:
    by_status: dict[int, list[Err]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    responses = {}
    for status in sorted(by_status):
        lines = [f"- `{e.code}`: {e.text}" for e in by_status[status]]
        responses[str(status)] = {"description": "\n".join(lines), "content": _PROBLEM}
    return responses


# -- examples: built from the models, so they are what the API sends --------------

_TOKEN = "ct_EXAMPLEexampleEXAMPLEexampleEXAMPLEexample"
_KEY = "sk_EXAMPLEexampleEXAMPLEexampleEXAMPLEexample"
_TENANT_ID = "9b2f3c1e-4d5a-4f6b-8c7d-0e1f2a3b4c5d"
_CONNECTION_ID = "3f6c2a9e-1b7d-4e8f-9a0b-5c4d3e2f1a0b"
_WHEN = "2026-01-15T09:30:00.000Z"
_WEBHOOK_SECRET = "whsec_RVhBTVBMRWV4YW1wbGVFWEFNUExFZXhhbXBsZUVYQU0="


def _customer(number: int, remote_data: bool = False) -> dict[str, Any]:
    raw = generate(number, "shoprelay")
    customer = msgspec.to_builtins(SandboxProvider.map_customer(raw))
    customer["remote_data"] = raw if remote_data else None
    return customer


def _examples() -> dict[str, dict[str, Any]]:
    connection = ConnectionView(
        id=_CONNECTION_ID, provider="shopify", status="active", token_prefix=_TOKEN[:11],
        settings={"base_url": None, "shop": "my-store", "api_version": "2026-10"},
        end_user_id="merchant-42", tags={"plan": "pro"}, created_at=_WHEN, updated_at=_WHEN,
    )
    mapping = FieldMapping(
        id="5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716", tenant_id=_TENANT_ID, connection_id=None, object="customer",
        provider="sandbox", name="company", expression="company", created_at=_WHEN,
    )
    tenant = Tenant(id=_TENANT_ID, name="Acme", created_at=_WHEN)
    settings = TenantSettings(id=_TENANT_ID, name="Acme", return_urls=["https://app.example.com/connected"],
                              webhook_url="https://app.example.com/hooks/shoprelay")
    return {
        "Customer": _customer(7),
        "CustomerPage": {"prev_cursor": None, "next_cursor": "eyJ2IjoxLCJjIjoiLi4uIn0",
                         "data": [_customer(1), _customer(2)]},
        "ShapedCustomer": {"id": "7", "email": "katherine.perlman7@example.com"},
        "ShapedCustomerPage": {"prev_cursor": None, "next_cursor": "eyJ2IjoxLCJjIjoiLi4uIn0",
                               "data": [{"id": "1", "email": _customer(1)["email"]}]},
        "ConnectionView": msgspec.to_builtins(connection),
        "ConnectionWithToken": {**msgspec.to_builtins(connection), "connection_token": _TOKEN},
        "ConnectionList": {"data": [msgspec.to_builtins(connection)], "next_cursor": None},
        "FieldMapping": msgspec.to_builtins(mapping),
        "FieldMappingList": {"data": [msgspec.to_builtins(mapping)]},
        "Tenant": msgspec.to_builtins(tenant),
        "TenantList": {"data": [msgspec.to_builtins(tenant)]},
        "TenantSettings": msgspec.to_builtins(settings),
        "TenantSettingsWithSecret": {**msgspec.to_builtins(settings), "webhook_secret": _WEBHOOK_SECRET},
        "ApiKeyWithSecret": msgspec.to_builtins(ApiKeyWithSecret(
            id="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", tenant_id=_TENANT_ID, name="production",
            prefix=_KEY[:11], created_at=_WHEN, api_key=_KEY,
        )),
        "Health": {"status": "ok"},
        **_connect_examples(),
        **_provider_app_examples(),
        "WebhookDeliveryList": {"data": [
            msgspec.to_builtins(WebhookDelivery(
                event_id="evt_4f1c9a2b7d3e4c5f8a9b0c1d2e3f4a5b", type="connection.deleted", status="pending",
                attempts=2, last_status=503, last_error="the endpoint answered 503",
                next_attempt_at="2026-01-15T10:05:41.000Z", created_at="2026-01-15T10:00:00.000Z",
                delivered_at=None,
            )),
            msgspec.to_builtins(WebhookDelivery(
                event_id="evt_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d", type="connection.created", status="delivered",
                attempts=1, last_status=200, last_error=None, next_attempt_at=None, created_at=_WHEN,
                delivered_at=_WHEN,
            )),
        ]},
    }


# What a connection takes, per built-in provider (third-party providers are
# described by their schemas alone). Each one creates a connection as is.
_CONNECTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "sandbox": {"credentials": {}, "settings": {"size": 250}},
    "shopify": {"credentials": {"access_token": "shpat_0123456789abcdef"}, "settings": {"shop": "my-store"}},
    "bigcommerce": {"credentials": {"access_token": "abc123token"}, "settings": {"store_hash": "abc123"}},
    "woocommerce": {"credentials": {"consumer_key": "ck_0123456789abcdef", "consumer_secret": "cs_0123456789abcdef"},
                    "settings": {"store_url": "https://shop.example.com"}},
    "wix": {"credentials": {"api_key": "IST.example"},
            "settings": {"site_id": "1a2b3c4d-0000-4000-8000-123456789abc"}},
    "commerce7": {"credentials": {"app_id": "my-app", "app_secret": "example-secret"},
                  "settings": {"tenant": "spectrawinery"}},
    "zoho_inventory": {"credentials": {"client_id": "1000.EXAMPLE", "client_secret": "example-secret",
                                       "refresh_token": "1000.example.refresh"},
                       "settings": {"organization_id": "10234695", "data_center": "com"}},
    "magento": {"credentials": {"access_token": "example-admin-or-integration-token"},
                "settings": {"store_url": "https://shop.example.com", "store_code": "default"}},
    "prestashop": {"credentials": {"api_key": "ZQ88PRJX5VWQHCWE4EE7SQ7HPNX00RAJ"},
                   "settings": {"store_url": "https://shop.example.com", "timezone": "Europe/Paris"}},
    "shopware": {"credentials": {"client_id": "SWIAEXAMPLEACCESSKEYID", "client_secret": "example-secret"},
                 "settings": {"store_url": "https://shop.example.com"}},
    "ecwid": {"credentials": {"access_token": "secret_ab12cd34"}, "settings": {"store_id": "1003"}},
    "squarespace": {"credentials": {"api_key": "example-api-key"}, "settings": {}},
    "square": {"credentials": {"access_token": "EAAAexample"}, "settings": {"environment": "sandbox"}},
}


def _json(schema: dict[str, Any], examples: dict[str, Any] | None = None, example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if examples:
        media["examples"] = examples
    elif example is not None:
        media["example"] = example
    return {"application/json": media}


def _op(
    op_id: str, summary: str, security: list[dict[str, list[str]]] | None, ok: tuple[str, Any],
    errors: list[Err], params: list[dict[str, Any]] = (), body: dict[str, Any] | None = None,  # type: ignore[assignment]
    tags: list[str] | None = None, description: str | None = None,
) -> dict[str, Any]:
    status, model = ok
    if INVALID_PARAMETER not in errors:
        errors = [INVALID_PARAMETER, *errors]
    responses: dict[str, Any] = {}
    if model is None:
        responses[status] = {"description": "Done; no body."}
    else:
        schema, example = model
        responses[status] = {"description": "OK.", "content": _json(schema, example=example)}
    responses.update(_error_responses(errors))
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary, "tags": tags or [], "parameters": list(params),
        "responses": responses,
    }
    if description:
        operation["description"] = description
    if security is not None:
        operation["security"] = security
    if body is not None:
        operation["requestBody"] = body
    return operation


def _model(model: type, examples: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    return ref(model), examples[model.__name__]


def _read(model: type, examples: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    # fields/exclude_fields keep a subset of the properties, and
    # response_format=raw returns the provider's record: neither is the full
    # model, so a read's 200 is the unified model or its shaped form.
    shaped = f"Shaped{model.__name__}"
    return {"anyOf": [ref(model), ref(shaped)]}, examples[model.__name__]


def _body(schema: dict[str, Any], examples: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": _json(schema, {
        name: {"summary": name, "value": value} for name, value in examples.items()
    })}


def _paths() -> dict[str, Any]:
    ex = _examples()
    c = ["ecommerce/customers"]
    m = ["connections"]
    f = ["field-mappings"]
    t = ["tenant"]
    a = ["admin"]
    reads = [INVALID_PARAMETER, URI_TOO_LONG, *_CONNECTION_AUTH, CUSTOMER_NOT_FOUND, *_PROVIDER_CALL, CREDENTIALS_UNREADABLE]
    connection_examples = {
        name: {"provider": name, **value} for name, value in _CONNECTION_EXAMPLES.items() if name in provider_names()
    }
    return {
        "/ecommerce/customers": {"get": _op(
            "listEcommerceCustomers", "List customers, live from the store", CONNECTION,
            ("200", _read(CustomerPage, ex)),
            [e for e in reads if e is not CUSTOMER_NOT_FOUND],
            [_TOKEN_HEADER, _REMOTE_DATA,
             _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                    "Page size.", example=10),
             _param("cursor", "query", _STRING, "An opaque cursor from `next_cursor` or `prev_cursor`; it is "
                    "bound to the connection and keeps the page size."),
             *_SHAPING, _REMOTE_QUERY], tags=c,
            description="Reads one page of the store's customers from the platform at request time "
                        "(nothing is cached), mapped to the unified `Customer`. Follow `next_cursor` for more; "
                        "`prev_cursor` is null where the platform cannot go back.")},
        "/ecommerce/customers/{id}": {"get": _op(
            "retrieveEcommerceCustomer", "Retrieve a customer, live from the store", CONNECTION,
            ("200", _read(Customer, ex)), reads,
            [_TOKEN_HEADER, _param("id", "path", _STRING, "The provider's customer id, as in `remote_id`.", True,
                                   example="7"),
             _REMOTE_DATA, *_SHAPING, _REMOTE_QUERY], tags=c,
            description="Fetches the customer from the platform at request time and maps it to the unified "
                        "`Customer`; the tenant's field mappings fill `field_mappings`.")},
        "/connections": {
            "post": _op("createConnection", "Link a store", TENANT, ("201", _model(ConnectionWithToken, ex)),
                        [*_BODY, *_TENANT_AUTH, INVALID_PARAMETER, *_VERIFY_CALL], [_VERIFY],
                        _body(ref("ConnectionCreate"), connection_examples), m,
                        description="Stores the credentials encrypted and answers the connection token, shown "
                                    "this once. `credentials` and `settings` take the provider's shape (see the "
                                    "`...Credentials` and `...Settings` schemas); a typo fails here with 400."),
            "get": _op("listConnections", "List connections", TENANT, ("200", _model(ConnectionList, ex)),
                       [INVALID_PARAMETER, *_TENANT_AUTH],
                       [_param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                               "Page size."),
                        _param("cursor", "query", _STRING, "From `next_cursor`; send the same `end_user_id` "
                               "with it."),
                        _param("end_user_id", "query", {"type": "string", "minLength": 1, "maxLength": 200},
                               "Only the connections of this end user (the `end_user_id` of the connect session "
                               "that made them).", example="merchant-42")], tags=m),
        },
        "/connections/{id}": {
            "get": _op("getConnection", "A connection", TENANT, ("200", _model(ConnectionView, ex)),
                       [INVALID_ID, *_TENANT_AUTH, CONNECTION_NOT_FOUND], [_ID], tags=m),
            "patch": _op("updateConnection", "Replace credentials and/or settings", TENANT,
                         ("200", _model(ConnectionView, ex)),
                         [*_BODY, INVALID_PARAMETER, *_TENANT_AUTH, CONNECTION_NOT_FOUND, *_VERIFY_CALL, CREDENTIALS_UNREADABLE],
                         [_ID, _VERIFY],
                         _body(ref("ConnectionPatch"), {
                             "new credentials": {"credentials": {"access_token": "shpat_fedcba9876543210"}},
                             "another store": {"credentials": {"access_token": "shpat_fedcba9876543210"},
                                               "settings": {"shop": "my-other-store"}},
                         }), m,
                         description="Each given object replaces the stored one whole, in the connection's "
                                     "provider's shape; the token stays. A settings change of where the "
                                     "credentials are sent (the store, `base_url`, `auth_url`) needs the "
                                     "credentials in the same request. A connection whose access was refused "
                                     "becomes active again."),
            "delete": _op("deleteConnection", "Delete a connection; its token fails at once", TENANT,
                          ("204", None), [INVALID_ID, *_TENANT_AUTH, CONNECTION_NOT_FOUND], [_ID], tags=m),
        },
        "/connections/{id}/rotate-token": {"post": _op(
            "rotateConnectionToken", "New token; the old one fails at once", TENANT,
            ("200", _model(ConnectionWithToken, ex)), [INVALID_ID, *_TENANT_AUTH, CONNECTION_NOT_FOUND], [_ID],
            tags=m)},
        "/field-mappings": {
            "post": _op("createFieldMapping", "Define a custom field", TENANT, ("201", _model(FieldMapping, ex)),
                        [*_BODY, *_TENANT_AUTH, MAPPING_CONNECTION_NOT_FOUND, MAPPING_CONFLICT],
                        body=_body(ref(FieldMappingCreate), {
                            "tenant-wide": {"name": "company", "provider": "sandbox", "expression": "company"},
                            "one connection": {"name": "vip", "provider": "shopify", "expression": "tags",
                                               "connection_id": _CONNECTION_ID},
                        }), tags=f,
                        description="Reads of that provider's customers gain `field_mappings.<name>`: the "
                                    "JMESPath `expression` evaluated on the provider's raw record. A mapping "
                                    "with a `connection_id` overrides the tenant-wide one of the same name."),
            "get": _op("listFieldMappings", "List custom fields", TENANT, ("200", _model(FieldMappingList, ex)),
                       _TENANT_AUTH,
                       [_param("connection_id", "query", _STRING, "Only this connection's overrides.")], tags=f),
        },
        "/field-mappings/{id}": {"delete": _op(
            "deleteFieldMapping", "Delete a custom field", TENANT, ("204", None),
            [INVALID_ID, *_TENANT_AUTH, MAPPING_NOT_FOUND], [_ID], tags=f)},
        "/tenant": {
            "get": _op("getTenant", "The tenant's own settings", TENANT, ("200", _model(TenantSettings, ex)),
                       _TENANT_AUTH, tags=t),
            "patch": _op("updateTenant", "Set return URLs, the webhook URL or the name", TENANT,
                         ("200", ({"anyOf": [ref(TenantSettingsWithSecret), ref(TenantSettings)]},
                                  ex["TenantSettingsWithSecret"])),
                         [*_BODY, *_TENANT_AUTH],
                         body=_body(ref(TenantPatch), {
                             "connect return URLs": {"return_urls": ["https://app.example.com/connected",
                                                                     "http://localhost:3000/connected"]},
                             "webhooks": {"webhook_url": "https://app.example.com/hooks/shoprelay"},
                             "no webhooks": {"webhook_url": None},
                         }), tags=t,
                         description="What is given replaces what is stored. `return_urls` is the allow-list a "
                                     "connect session's `return_url` must be in (exact match): at most "
                                     f"{MAX_RETURN_URLS} absolute URLs of at most {MAX_URL_LENGTH} characters, "
                                     "`https` (or `http` on `localhost` or a loopback address), without "
                                     "fragment, user info, spaces or backslashes. `webhook_url` passes the "
                                     "same guard as a store's address (`https` and a public address). The "
                                     "first `webhook_url` set answers `webhook_secret`, shown this once; a "
                                     "new URL keeps the secret, `null` stops events and drops it."),
        },
        "/tenant/webhook-secret/rotate": {"post": _op(
            "rotateWebhookSecret", "New webhook secret; the old one stops signing at once", TENANT,
            ("200", _model(TenantSettingsWithSecret, ex)), [*_TENANT_AUTH, NO_WEBHOOK_URL], tags=t)},
        "/webhook-deliveries": {"get": _op(
            "listWebhookDeliveries", "Recent webhook events and their delivery", TENANT,
            ("200", _model(WebhookDeliveryList, ex)), [INVALID_PARAMETER, *_TENANT_AUTH],
            [_param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                    "How many, newest first.")], tags=["webhooks"],
            description="The tenant's webhook events (`connection.created`, `connection.updated`, "
                        "`connection.auth_failed`, `connection.deleted`), newest first, with how their delivery "
                        "to `webhook_url` went. A failed attempt is retried with backoff for about three days "
                        "(ten attempts) before the event is `failed`. The bodies are not repeated here.")},
        "/admin/tenants": {
            "post": _op("createTenant", "Create a tenant", ADMIN, ("201", _model(Tenant, ex)),
                        [*_BODY, *_ADMIN_AUTH], body=_body(ref(TenantCreate), {"tenant": {"name": "Acme"}}),
                        tags=a),
            "get": _op("listTenants", "List tenants", ADMIN, ("200", _model(TenantList, ex)), _ADMIN_AUTH, tags=a),
        },
        "/admin/tenants/{id}/api-keys": {"post": _op(
            "createApiKey", "Create an API key (shown once)", ADMIN, ("201", _model(ApiKeyWithSecret, ex)),
            [*_BODY, *_ADMIN_AUTH, TENANT_NOT_FOUND], [_ID],
            _body(ref(ApiKeyCreate), {"named": {"name": "production"}, "unnamed": {}}, required=False), a)},
        "/admin/api-keys/{id}": {"delete": _op(
            "revokeApiKey", "Revoke an API key", ADMIN, ("204", None), [INVALID_ID, *_ADMIN_AUTH, API_KEY_NOT_FOUND], [_ID],
            tags=a)},
        **_connect_paths(ex),
        **_oauth_paths(),
        **_provider_app_paths(ex),
        **_bigcommerce_woocommerce_paths(),
        "/health": {"get": _op("health", "Liveness", [], ("200", _model(Health, ex)), [], tags=["operations"])},
        "/ready": {"get": _op("ready", "Readiness: the store answers and can write", [],
                              ("200", (ref(Health), {"status": "ready"})), [STORE_UNAVAILABLE],
                              tags=["operations"])},
        "/metrics": {"get": {
            "operationId": "metrics", "summary": "Prometheus metrics",
            "description": "Needs the admin token when `SHOPRELAY_METRICS_REQUIRE_ADMIN=true`.",
            "tags": ["operations"], "parameters": [],
            "security": [{}, {"AdminToken": []}],
            "responses": {
                "200": {"description": "Prometheus text format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}}},
                **_error_responses([INVALID_PARAMETER, INVALID_ADMIN_TOKEN, ADMIN_THROTTLED]),
            },
        }},
    }


_WEBHOOK_HEADERS = [
    _param("webhook-id", "header", _STRING, "The event's id (`evt_...`), the same on every attempt: drop "
           "an id already processed.", True),
    _param("webhook-timestamp", "header", _STRING, "This attempt's time, in Unix seconds: refuse one far from "
           "your clock (libraries allow 5 minutes).", True),
    _param("webhook-signature", "header", _STRING, "`v1,` and the base64 HMAC-SHA256, keyed with the "
           "base64-decoded part of the `whsec_` secret, of `{webhook-id}.{webhook-timestamp}.{body}` (the raw "
           "body). Any Standard Webhooks library checks it.", True),
]


def _webhooks() -> dict[str, Any]:
    """The events POSTed to ``webhook_url`` (OpenAPI 3.1 ``webhooks``)."""
    texts = {
        events.CREATED: "A connection was made (through the connect page, `POST /connections` or the CLI).",
        events.UPDATED: "A connection's credentials or settings were replaced: a reconnect, "
                        "`PATCH /connections/{id}` or `connections update`.",
        events.AUTH_FAILED: "The platform refused to renew the connection's access for good: it is "
                            "`needs_reauth` until reconnected.",
        events.DELETED: "A connection was deleted (`DELETE /connections/{id}` or the CLI); its token fails.",
    }
    out = {}
    for type, text in texts.items():
        example = {"type": type, "id": "evt_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d", "created_at": _WHEN,
                   "data": {"connection_id": _CONNECTION_ID, "provider": "woocommerce",
                            "end_user_id": "merchant-42", "tags": {"plan": "pro"},
                            "session_id": "cs_3c2b1a09f8e7d6c5" if type == events.CREATED else None}}
        out[type] = {"post": {
            "operationId": type.replace(".", "_"), "summary": text, "tags": ["webhooks"],
            "description": text + " Answer 2xx within `SHOPRELAY_WEBHOOK_TIMEOUT` (15 s); anything else is "
                                  "retried with backoff for about three days. 410 stops the retries.",
            "parameters": _WEBHOOK_HEADERS,
            "requestBody": {"required": True, "content": _json(ref(WebhookEventBody), example=example)},
            "responses": {"2XX": {"description": "Received; not sent again."}},
        }}
    return out


# -- schemas ---------------------------------------------------------------------

# The API's own properties, described here rather than in the Structs so the
# models stay plain; tests/proxy/test_openapi.py fails on any property left
# without a description. Providers describe their own fields (msgspec.Meta).
_PROPERTIES: dict[str, dict[str, str]] = {
    "Customer": {
        "id": "The customer's id at the provider (the one to retrieve it by); equal to `remote_id`.",
        "remote_id": "The customer's id at the provider.",
        "email": "The primary email address.",
        "first_name": "Given name.",
        "last_name": "Family name.",
        "name": "The display name, as the provider gives it or first and last name joined.",
        "company_name": "The customer's company, if any.",
        "phone_number": "The primary phone number.",
        "status": "`active` or `inactive` where the platform's meaning is clear, else the platform's own value "
                  "(Truto's rule); null where it has none. Shopify and Commerce7 report the customer's login "
                  "account (see the README's providers).",
        "currency": "The customer's currency (ISO 4217), where the provider tracks one.",
        "emails": "Every email address the provider knows.",
        "phones": "Every phone number the provider knows.",
        "addresses": "The customer's addresses.",
        "field_mappings": "The tenant's custom fields (`POST /field-mappings`), by name.",
        "remote_data": "The provider's record verbatim with `remote_data=true`, else null.",
        "created_at": "When the customer was created at the provider (UTC, ISO 8601, `Z`).",
        "modified_at": "When the customer was last changed at the provider (UTC, ISO 8601, `Z`).",
    },
    "Address": {
        "id": "The address's id at the provider.",
        "street_1": "First street line.",
        "street_2": "Second street line.",
        "city": "City.",
        "state": "State, province or region.",
        "postal_code": "Postal code.",
        "country": "Country, as the provider gives it (mostly ISO 3166-1 alpha-2).",
        "address_type": "`billing`, `shipping` or the provider's own kind.",
        "owner_type": "Always `customer` (Panora's field).",
    },
    "Email": {
        "email": "The address.",
        "type": "The provider's kind of address, if it has one.",
        "is_primary": "Whether this is the customer's primary address (`email`).",
    },
    "Phone": {
        "number": "The number, as the provider gives it.",
        "extension": "An extension, if any.",
        "type": "The provider's kind of number (mobile, home...), if it has one.",
        "is_primary": "Whether this is the customer's primary number (`phone_number`).",
    },
    "CustomerPage": {
        "prev_cursor": "Pass as `cursor` for the page before; null on the first page or where the platform "
                       "cannot go back.",
        "next_cursor": "Pass as `cursor` for the next page; null on the last page.",
        "data": "The customers of this page, in the provider's stable order.",
    },
    "Problem": {
        "type": "`urn:shoprelay:problem:<code>`.",
        "title": "A short summary of the kind of problem.",
        "status": "The HTTP status.",
        "detail": "What went wrong this time, and what to do; never a secret.",
        "code": "The stable identifier to switch on (snake_case).",
        "request_id": "Quote it when reporting a problem (also the `x-request-id` header).",
        "provider": "The provider involved, for errors that come from a store.",
        "remote_status": "The status the platform answered, for errors that come from a store (null if none).",
        "parameter": "The query parameter at fault, for `invalid_parameter`.",
    },
    "Health": {"status": "`ok` from `/health`, `ready` from `/ready`."},
    "ConnectionView": {
        "id": "The connection's id.",
        "provider": "The provider's name, e.g. `shopify`.",
        "status": "`active`, or `needs_reauth` when the platform refused to renew its access (update the "
                  "credentials).",
        "token_prefix": "The first characters of the connection token, to recognise it; the token itself is "
                        "shown once.",
        "settings": "The provider settings, as validated (defaults filled in). Credentials are never returned.",
        "end_user_id": "Your own id of the merchant who linked the store (from the connect session); null for "
                       "a connection made with the API or the CLI.",
        "tags": "Your labels, from the connect session (string to string); `{}` if none.",
        "created_at": "When it was created (UTC, ISO 8601).",
        "updated_at": "When its credentials, settings or token last changed (UTC, ISO 8601).",
    },
    "ConnectionList": {
        "data": "The tenant's connections, oldest first.",
        "next_cursor": "Pass as `cursor` for the next page; null on the last page.",
    },
    "FieldMapping": {
        "id": "The mapping's id.",
        "tenant_id": "The tenant it belongs to.",
        "connection_id": "The connection it applies to; null for every connection of `provider`.",
        "object": "The unified object it extends: `customer`.",
        "provider": "The provider whose raw records `expression` reads.",
        "name": "The key under `field_mappings`.",
        "expression": "A JMESPath expression over the provider's raw record.",
        "created_at": "When it was created (UTC, ISO 8601).",
    },
    "FieldMappingList": {"data": "The tenant's field mappings."},
    "Tenant": {
        "id": "The tenant's id.",
        "name": "The tenant's name.",
        "created_at": "When it was created (UTC, ISO 8601).",
        "return_urls": "Where a connect session may send the merchant back: exact URLs (`https`, or `http` on "
                       "a loopback host only).",
        "webhook_url": "Where connection events are POSTed (Standard Webhooks); null: none are sent.",
    },
    "TenantList": {"data": "Every tenant."},
    "ApiKeyWithSecret": {
        "id": "The key's id (to revoke it).",
        "tenant_id": "The tenant the key acts for.",
        "name": "The name given at creation, if any.",
        "prefix": "The first characters of the key, to recognise it later.",
        "created_at": "When it was created (UTC, ISO 8601).",
        "revoked_at": "When it was revoked; null while active.",
        "last_used_at": "When it was last used, to the minute or so; null if never.",
        "api_key": "The key itself (`sk_...`), shown this once: send it as `x-api-key`.",
    },
    "FieldMappingCreate": {
        "name": "The key under `field_mappings`: lower-case letters, digits and `_`, starting with a letter.",
        "provider": "The provider whose raw records `expression` reads.",
        "expression": "A JMESPath expression over the provider's raw record, e.g. `tags` or `addresses[0].city`.",
        "object": "The unified object to extend: `customer`.",
        "connection_id": "Apply to this connection only, overriding a tenant-wide mapping of the same name.",
    },
    "TenantCreate": {"name": "The tenant's name."},
    "WebhookDelivery": {
        "event_id": "The event's id (`evt_...`): the `webhook-id` header and the body's `id`, the same on every "
                    "attempt (use it to drop duplicates).",
        "type": "`connection.created`, `connection.updated`, `connection.auth_failed` or `connection.deleted`.",
        "status": "`pending` (not delivered yet, retried at `next_attempt_at`), `delivered` (a 2xx answer), or "
                  "`failed` (given up: the schedule ran out, the endpoint answered 410, or there was no "
                  "`webhook_url`).",
        "attempts": "How many times it was sent.",
        "last_status": "The HTTP status of the last attempt; null if it got no answer (refused, timed out).",
        "last_error": "Why the last attempt failed; null once delivered or before any attempt.",
        "next_attempt_at": "When it is sent next (UTC, ISO 8601); null unless `pending`.",
        "created_at": "When the change it announces happened (UTC, ISO 8601).",
        "delivered_at": "When a 2xx answer came (UTC, ISO 8601); null until then.",
    },
    "WebhookDeliveryList": {"data": "The tenant's most recent events, newest first."},
    "WebhookEventBody": {
        "type": "`connection.created`, `connection.updated`, `connection.auth_failed` or `connection.deleted`.",
        "id": "The event's id, also the `webhook-id` header.",
        "created_at": "When the change happened (UTC, ISO 8601); not the attempt's time.",
        "data": "The connection concerned. Never a token or a credential: read it with the API.",
    },
    "WebhookEventData": {
        "connection_id": "The connection's id.",
        "provider": "The provider's name, e.g. `woocommerce`.",
        "end_user_id": "Your user the connection belongs to, as given to `POST /connect/sessions`; null if "
                       "none was given.",
        "tags": "Your labels on the connection (string to string).",
        "session_id": "The connect session that made or reconnected it; null for other changes.",
    },
    "TenantSettings": {
        "id": "The tenant's id.",
        "name": "The tenant's name, shown at the top of the connect page.",
        "return_urls": "Where a connect session may send the merchant back: exact URLs.",
        "webhook_url": "Where connection events are POSTed (Standard Webhooks); null: none are sent.",
    },
    "TenantPatch": {
        "name": "A new name (printable, at most 200 characters).",
        "return_urls": "The whole allow-list of return URLs, replacing the stored one (`[]` empties it).",
        "webhook_url": "Where to POST connection events; `null` stops them and drops the secret.",
    },
    "ApiKeyCreate": {"name": "A name to tell keys apart, e.g. `production`."},
}
_PROPERTIES.update({
    "ConnectSessionCreate": {
        "end_user_id": "Your id for the merchant (1 to 200 characters); stored on the connection.",
        "end_user_email": "The merchant's email, for your records.",
        "end_user_name": "The merchant's name, for your records.",
        "providers": "The platforms to offer, by provider name; all installed ones when left out. One skips "
                     "the choice.",
        "return_url": "Where the merchant's browser goes when done, with `connect_code` and `session_id` added "
                      "to its query; one of the tenant's `return_urls`, exactly. Without it the page posts the "
                      "code to `window.opener`.",
        "connection_id": "Reconnect this connection of yours: its credentials are replaced, its id and token "
                         "kept.",
        "tags": "Your own labels (at most 20, string to string); stored on the connection and sent in webhooks.",
    },
    "ConnectSessionCreated": {
        "id": "The session's id.",
        "connect_url": "The link to send the merchant to, on `SHOPRELAY_PUBLIC_URL`; it carries a one-time "
                       "token (only its digest is stored) and is good until the session completes or expires.",
        "expires_at": "When the link stops working (UTC, ISO 8601); `SHOPRELAY_CONNECT_SESSION_TTL` after "
                      "creation.",
    },
    "ConnectSessionView": {
        "id": "The session's id.",
        "status": "`pending`, `completed`, `failed` or `expired`.",
        "end_user_id": "The merchant's id, as given.",
        "provider": "The platform connected; null until completed.",
        "connection_id": "The connection made or reconnected; null until completed.",
        "error": f"Why it failed: `too_many_attempts` (more than {CONNECT_MAX_ATTEMPTS} submissions), "
                 "`store_failed`, or the platform's refusal of an OAuth install (`access_denied`: the merchant "
                 "declined; `invalid_code`, `insufficient_scope`, or the platform's own error code); else null.",
    },
    "ConnectExchange": {"code": "The `connect_code` the merchant's browser brought back (`cc_...`)."},
    "ConnectExchanged": {
        "connection_id": "The connection's id.",
        "connection_token": "The connection token (`ct_...`), minted now and shown this once; null for a "
                            "reconnect (the connection keeps its token).",
        "provider": "The platform connected.",
        "end_user_id": "The merchant's id, as given to the session.",
        "session_id": "The connect session's id.",
    },
})
_PROPERTIES.update({
    "ProviderAppPut": {
        "client_id": "The app's client id (API key, App ID) as the platform shows it: 1 to 256 printable "
                     "characters, no spaces.",
        "client_secret": "The app's client secret (1 to 1024 characters): stored encrypted, never returned.",
        "scopes": "The scopes to ask the merchant for (at most 20, each 1 to 128 characters, no spaces); left "
                  "out: the least a customer read needs on that platform (e.g. Shopify `read_customers`).",
        "settings": "Only `auth_url` (replaces the origin of the platform's authorization and token endpoints) "
                    "and `base_url` (its API origin): origins like `https://host[:port]`, `https` and a public "
                    "address unless the server allows private networks.",
    },
    "ProviderAppView": {
        "provider": "The platform, by provider name.",
        "client_id": "The app's client id.",
        "scopes": "The scopes asked for.",
        "settings": "`auth_url` and/or `base_url`, if set.",
        "owner": "`tenant`: the tenant's own app (this API only ever shows those).",
        "created_at": "When the app was first set (UTC, ISO 8601).",
        "updated_at": "When it was last replaced (UTC, ISO 8601).",
        "callback_url": "The redirect (callback) URL to register in the app's settings on the platform.",
    },
    "ProviderAppList": {"data": "The tenant's apps, by provider."},
})
_PROPERTIES["TenantSettingsWithSecret"] = {
    **_PROPERTIES["TenantSettings"],
    "webhook_secret": "The secret signing the webhooks (`whsec_` + base64, the Standard Webhooks form): shown "
                      "this once, stored encrypted. Verify `webhook-signature` with it.",
}
_PROPERTIES["ConnectionWithToken"] = {
    **_PROPERTIES["ConnectionView"],
    "connection_token": "The connection token (`ct_...`) for `x-connection-token`: shown this once, stored "
                        "only as a digest.",
}

# Schema-level text where the Struct's docstring speaks Python, or has none.
_SCHEMA_TEXT = {
    "Customer": "A customer in the unified shape (Panora's `UnifiedEcommerceCustomerOutput` plus `name`, "
                "`company_name`, `status`, `currency`, `emails` and `phones`). Every property is always present, "
                "null when the provider does not know it.",
    "FieldMapping": "A tenant's custom field: `name` comes from `expression` (JMESPath) evaluated on the "
                    "provider's raw record. Tenant-wide when `connection_id` is null; a connection's own "
                    "overrides it.",
    "Problem": "RFC 9457 problem details (`application/problem+json`); `code` is the stable identifier.",
    "ConnectionWithToken": "A connection and its token (`ct_...`), shown once: at creation and after a token "
                           "rotation. Send it as `x-connection-token`.",
    "ApiKeyWithSecret": "An API key, shown once, at creation.",
    "ProviderAppPut": "A tenant's own OAuth app for one platform. Its secret goes in and never comes out.",
    "ProviderAppView": "A tenant's own OAuth app for one platform, without its secret.",
    "TenantSettingsWithSecret": "The tenant's settings and its new webhook secret, shown once: when the first "
                                "`webhook_url` is set and after a rotation.",
}


def _describe(schemas: dict[str, Any]) -> None:
    for name, texts in _PROPERTIES.items():
        properties = schemas[name].get("properties", {})
        for prop, text in texts.items():
            properties[prop]["description"] = text
    for name, text in _SCHEMA_TEXT.items():
        schemas[name]["description"] = text


def _commonmark(node: Any) -> None:
    """Docstring descriptions as CommonMark: RST's ``code`` becomes `code`,
    and wrapped lines join (an indented line would render as a code block)."""
    if isinstance(node, dict):
        text = node.get("description")
        if isinstance(text, str):
            paragraphs = [" ".join(line.strip() for line in part.splitlines()) for part in text.split("\n\n")]
            node["description"] = "\n\n".join(paragraphs).replace("``", "`")
        for value in node.values():
            _commonmark(value)
    elif isinstance(node, list):
        for value in node:
            _commonmark(value)


def _one_of(cls: Any) -> dict[str, Any]:
    """The provider's credentials schema: its form's, or any of its shapes
    (Shopify's OAuth install stores a refresh token instead of a key)."""
    if not cls.credentials_alternatives:
        return ref(cls.credentials_type)
    return {"anyOf": [ref(cls.credentials_type), *map(ref, cls.credentials_alternatives)]}


def _provider_schemas() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Each provider's credentials and settings Structs as schemas, the
    ``ConnectionCreate`` variant per provider, and the credentials/settings
    alternatives a PATCH may carry."""
    classes = {name: registry.get(name) for name in provider_names()}
    structs = sorted({t for cls in classes.values()
                      for t in (cls.credentials_type, cls.settings_type, *cls.credentials_alternatives)},
                     key=lambda t: t.__name__)
    _, schemas = msgspec.json.schema_components(structs, ref_template=_REF)
    variants = []
    for name, cls in classes.items():
        variant = f"{cls.__name__.removesuffix('Provider')}Connection"
        schemas[variant] = {
            "title": variant, "type": "object", "additionalProperties": False,
            "description": f"`POST /connections` for {cls.display_name}.",
            "properties": {
                "provider": {"const": name, "description": "The provider's name."},
                "credentials": {**_one_of(cls), "description": f"{cls.display_name} credentials, "
                                "stored encrypted and never returned."},
                "settings": {**ref(cls.settings_type), "description": f"{cls.display_name} settings (optional "
                             "where every field has a default)."},
            },
            "required": ["provider", "credentials"],
        }
        variants.append(ref(variant))
    credentials = [ref(t) for t in structs if any(t in (c.credentials_type, *c.credentials_alternatives)
                                                  for c in classes.values())]
    settings = [ref(t) for t in structs if any(c.settings_type is t for c in classes.values())]
    schemas["ConnectionCreate"] = {
        "title": "ConnectionCreate",
        "description": "A store to link: the provider's name, with its credentials and settings.",
        "oneOf": variants,
        "discriminator": {"propertyName": "provider", "mapping": {
            name: v["$ref"] for name, v in zip(classes, variants)
        }},
    }
    schemas["ConnectionPatch"] = {
        "title": "ConnectionPatch", "type": "object", "additionalProperties": False,
        "description": "What to replace; give at least one. Each is in the connection's provider's shape. "
                       "A settings change of where the credentials are sent needs the credentials too.",
        "properties": {
            "credentials": {"anyOf": [*credentials, {"type": "null"}], "default": None,
                            "description": "New credentials (replace the stored ones whole)."},
            "settings": {"anyOf": [*settings, {"type": "null"}], "default": None,
                         "description": "New settings (replace the stored ones whole)."},
        },
    }
    return schemas, variants, credentials


def _shaped(customer: dict[str, Any]) -> dict[str, Any]:
    """Customer's properties, none required, nested objects open: what
    ``fields``/``exclude_fields`` leave of a Customer."""
    properties = {}
    for name, schema in customer["properties"].items():
        if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
            schema = {"type": "array", "items": {"type": "object"},
                      "description": schema["description"] + " Only the chosen sub-fields."}
        properties[name] = schema
    return {
        "PartialCustomer": {
            "title": "PartialCustomer", "type": "object", "additionalProperties": False, "properties": properties,
            "description": "The `Customer` properties chosen with `fields` (or left by `exclude_fields`); "
                           "dot paths such as `addresses.city` keep sub-fields of each item.",
        },
        "RawCustomer": {
            "title": "RawCustomer", "type": "object",
            "description": "With `response_format=raw`: the provider's record, verbatim (its own field names).",
        },
        "ShapedCustomer": {
            "title": "ShapedCustomer",
            "description": "A customer read with `fields` or `exclude_fields` (a `PartialCustomer`) or with "
                           "`response_format=raw` (a `RawCustomer`).",
            "anyOf": [ref("PartialCustomer"), ref("RawCustomer")],
        },
        "ShapedCustomerPage": {
            "title": "ShapedCustomerPage", "type": "object",
            "description": "A page of shaped or raw customers.",
            "properties": {
                "prev_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}],
                                "description": _PROPERTIES["CustomerPage"]["prev_cursor"]},
                "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}],
                                "description": _PROPERTIES["CustomerPage"]["next_cursor"]},
                "data": {"type": "array", "items": ref("ShapedCustomer"), "description": "The shaped customers."},
            },
            "required": ["prev_cursor", "next_cursor", "data"],
        },
    }


def _components() -> dict[str, Any]:
    _, schemas = msgspec.json.schema_components(_MODELS, ref_template=_REF)
    for name, schema in schemas.items():
        model = next((m for m in _MODELS if m.__name__ == name), None)
        omits = model is not None and model.__struct_config__.omit_defaults
        # Output Structs encode every field, null included: say so.
        if "properties" in schema and model not in _INPUTS and not omits:
            schema["required"] = list(schema["properties"])
    _describe(schemas)
    providers, _, _ = _provider_schemas()
    clash = set(providers) & set(schemas)
    assert not clash, f"provider schemas named like the API's own: {clash}"
    components = {**schemas, **providers, **_shaped(schemas["Customer"])}
    _commonmark(components)
    return components


@lru_cache(maxsize=1)
def document() -> bytes:
    from . import openapi_truto  # it builds on this module's helpers

    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "shoprelay",
            "version": VERSION,
            "description": (
                "Unified, live e-commerce API, compatible with Panora's e-commerce customers API.\n\n"
                f"Providers: {', '.join(f'`{name}`' for name in provider_names())}.\n\n"
                "**Authentication.** Send the tenant's API key as `x-api-key` on every call, and a connection "
                "token as `x-connection-token` on `/ecommerce/*` reads. The admin API (`/admin/*`) takes "
                "`Authorization: Bearer <SHOPRELAY_ADMIN_TOKEN>` instead. Truto's surface "
                "(`/unified/ecommerce/*`) takes the API key as `Authorization: Bearer` and names the connection "
                "with `integrated_account_id`. Errors are RFC 9457 "
                "`application/problem+json` with a stable `code`."
            ),
        },
        "servers": [{"url": "/", "description": "This server (the origin serving this document)."}],
        "tags": [
            {"name": "ecommerce/customers", "description": "Customers, read live from the merchant's store."},
            openapi_truto.TAG,
            {"name": "connections", "description": "The tenant's links to stores (`x-api-key`)."},
            {"name": "field-mappings", "description": "Custom fields computed from the raw records."},
            {"name": "tenant", "description": "The tenant's own settings: connect return URLs and webhooks."},
            {"name": "admin", "description": "Tenants and API keys (the admin bearer token)."},
            {"name": "operations", "description": "Health, readiness and metrics."},
            {"name": "connect", "description": "Connect sessions: the tenant's links for merchants to connect "
                                               "their own stores, and the exchange of the code they bring back."},
            {"name": "connect page", "description": "The hosted page a merchant's browser opens (HTML, not JSON)."},
            {"name": "provider-apps", "description": "The tenant's own OAuth apps on the platforms, used by the "
                                                     "connect page's \"Connect with ...\" buttons instead of the "
                                                     "operator's default."},
            {"name": "webhooks", "description": "Signed events POSTed to the tenant's `webhook_url` "
                                                "(Standard Webhooks), and their delivery log."},
        ],
        "paths": {**_paths(), **openapi_truto.paths()},
        "webhooks": _webhooks(),
        "components": {
            "schemas": {**_components(), **openapi_truto.schemas()},
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                           "description": "The tenant's API key (`sk_...`)."},
                "ConnectionToken": {"type": "apiKey", "in": "header", "name": "x-connection-token",
                                    "description": "A connection token (`ct_...`): which store to read."},
                "ConnectSession": {"type": "apiKey", "in": "cookie", "name": CONNECT_COOKIE,
                                   "description": "Set by `GET /connect/start` from a `connect_url`'s token: the "
                                                  "merchant's browser holds it, never the tenant."},
                **openapi_truto.SCHEME,
                "AdminToken": {"type": "http", "scheme": "bearer",
                               "description": "`SHOPRELAY_ADMIN_TOKEN`, for `/admin/*` (and `/metrics` when it "
                                              "requires it)."},
            },
        },
    }
    return msgspec.json.encode(doc)


# -- connect ------------------------------------------------------------------------

INVALID_CONNECT_CODE = Err(400, "invalid_connect_code", "The code is unknown, used, older than 10 minutes or "
                           "another tenant's: every cause answers alike.")
RETURN_URL_REFUSED = Err(400, "invalid_parameter", "A field is refused (`parameter` names it): a `return_url` "
                         "not in the tenant's `return_urls`, an unknown provider, more than 20 tags...")
RECONNECT_NOT_FOUND = Err(404, "not_found", "`connection_id` names no connection of this tenant.")
SESSION_NOT_FOUND = Err(404, "not_found", "No connect session of this tenant has that id.")
_HTML = {"text/html": {"schema": {"type": "string"}}}
_STORE_URL = "https://shop.example.com"


def _connect_examples() -> dict[str, Any]:
    session_id = "6d1f0c2e-8a4b-4c3d-9e5f-0a1b2c3d4e5f"
    return {
        "ConnectSessionCreated": {"id": session_id, "expires_at": _WHEN,
                                  "connect_url": "https://relay.example.com/connect/start?token=cst_EXAMPLE"},
        "ConnectSessionView": {"id": session_id, "status": "completed", "end_user_id": "merchant-42",
                               "provider": "woocommerce", "connection_id": _CONNECTION_ID, "error": None},
        "ConnectExchanged": {"connection_id": _CONNECTION_ID, "connection_token": _TOKEN, "provider": "woocommerce",
                             "end_user_id": "merchant-42", "session_id": session_id},
    }


def _page(op_id: str, summary: str, description: str, ok: dict[str, Any], errors: str,
          security: list[dict[str, list[str]]] = CONNECT_PAGE, params: list[dict[str, Any]] = (),  # type: ignore[assignment]
          body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A page of the merchant's: HTML for a person, errors too."""
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary, "description": description, "tags": ["connect page"],
        "parameters": list(params), "security": security,
        "responses": {**ok, "4XX": {"description": errors, "content": _HTML}},
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


def _connect_paths(ex: dict[str, Any]) -> dict[str, Any]:
    k = ["connect"]
    provider = _param("provider", "path", _STRING, "The provider's name, one the session offers.", True,
                      example="woocommerce")
    gone = ("404 unknown link or platform not offered, 403 without the session cookie, 410 the link expired, "
            "was used or failed; a page saying what to do.")
    return {
        "/connect/sessions": {"post": _op(
            "createConnectSession", "Create a link for a merchant to connect their store", TENANT,
            ("201", _model(ConnectSessionCreated, ex)),
            [*_BODY, RETURN_URL_REFUSED, *_TENANT_AUTH, RECONNECT_NOT_FOUND],
            body=_body(ref(ConnectSessionCreate), {
                "any platform": {"end_user_id": "merchant-42", "return_url": "https://app.example.com/connected"},
                "WooCommerce, tagged": {"end_user_id": "merchant-42", "providers": ["woocommerce"],
                                        "tags": {"plan": "pro"}},
                "reconnect": {"end_user_id": "merchant-42", "connection_id": _CONNECTION_ID},
            }), tags=k,
            description="Send the merchant to `connect_url`. When they are done their browser goes to "
                        "`return_url?connect_code=...&session_id=...`; exchange the code with "
                        "`POST /connect/exchange`.")},
        "/connect/sessions/{id}": {"get": _op(
            "getConnectSession", "A connect session's state", TENANT, ("200", _model(ConnectSessionView, ex)),
            [INVALID_ID, *_TENANT_AUTH, SESSION_NOT_FOUND], [_ID], tags=k)},
        "/connect/exchange": {"post": _op(
            "exchangeConnectCode", "Trade a connect code for the connection and its token", TENANT,
            ("200", _model(ConnectExchanged, ex)), [*_BODY, INVALID_CONNECT_CODE, *_TENANT_AUTH],
            body=_body(ref(ConnectExchange), {"code": {"code": "cc_EXAMPLEexampleEXAMPLEexampleEXAMPLEexample"}}),
            tags=k, description="One use, within 10 minutes of the merchant's submission, by the session's tenant "
                                "only. The connection token is minted here and shown once.")},
        "/connect/start": {"get": _page(
            "openConnectLink", "A connect_url: trades its token for a cookie",
            "Sets the session cookie (HttpOnly, SameSite=Lax, Secure under https, path `/connect`) and redirects "
            "to `/connect`, so the token leaves the address bar.",
            {"303": {"description": "To `/connect`, with the cookie."}}, gone, security=[],
            params=[_param("token", "query", _STRING, "The link's token (`cst_...`).", True)])},
        "/connect": {"get": _page(
            "connectPicker", "The platforms offered", "Links to each offered platform's form; with one "
            "platform, a 303 straight to its form.",
            {"200": {"description": "The page.", "content": _HTML}, "303": {"description": "To the only form."}},
            gone)},
        "/connect/providers/{provider}": {
            "get": _page("connectForm", "A platform's form",
                         "One field per credential and setting, named as in the provider's schemas.",
                         {"200": {"description": "The form.", "content": _HTML}}, gone, params=[provider]),
            "post": _page(
                "submitConnectForm", "Verify the keys live and store the connection",
                "One live call with the keys. Refused: the form again (422) with the platform's reason and "
                "the non-secret input. Accepted: the connection is stored and the session completed.",
                {"303": {"description": "To `return_url` with `connect_code` and `session_id`."},
                 "200": {"description": "Without a `return_url`: a page that posts `{type: \"shoprelay.connect\", "
                                        "session_id, connect_code}` to `window.opener`, for the origins of "
                                        "`return_urls` only.", "content": _HTML}},
                gone + " 400 a field that is not the provider's, 403 a missing or wrong `csrf_token`, 422 the "
                "form again with the reason, 429 too many submissions.", params=[provider],
                body={"required": True, "content": {"application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "required": ["csrf_token"],
                               "properties": {"csrf_token": {"type": "string",
                                                             "description": "From the form's hidden field."}},
                               "additionalProperties": {"type": "string"}},
                    "examples": {"woocommerce": {"summary": "woocommerce", "value": {
                        "csrf_token": "EXAMPLE", "store_url": _STORE_URL,
                        "consumer_key": "ck_0123456789abcdef", "consumer_secret": "cs_0123456789abcdef"}}},
                }}}),
        },
    }


# -- BigCommerce's and WooCommerce's own install routes -----------------------------------

KEYS_NOT_WAITING = Err(404, "not_found", "No attempt is waiting for keys at this handle: unknown, already used, "
                       "expired, its session closed, or the body's `user_id` is not the attempt's (all alike).")
KEYS_REFUSED = Err(422, "verification_failed", "The keys did not read a customer from the store URL the merchant "
                   "typed (refused, or the store did not answer well or in time), or were made without read "
                   "access; WooCommerce then deletes them.")
KEYS_MEDIA = Err(415, "invalid_request", "The body is not `application/json`.")
KEYS_TOO_LARGE = Err(413, "invalid_request", "The body exceeds 4 KiB.")
_SIGNED = _param("signed_payload_jwt", "query", _STRING, "BigCommerce's signed payload: an HS256 JWT signed with "
                 "the app's client secret; `iss` `bc`, `aud` the client id, `exp`/`nbf`/`iat`, `sub` `stores/{hash}`.")


def _bigcommerce_woocommerce_paths() -> dict[str, Any]:
    not_bc = "401 a missing, malformed, expired, not-yet-valid or wrongly signed payload, or one for no app here."
    # Where a stored connection sends the browser (as the key form's submission).
    connected = {"303": {"description": "To `return_url` with `connect_code` and `session_id`."},
                 "200": {"description": "Connected (no `return_url`).", "content": _HTML}}
    claim_errors = ("403 without the session cookie or with a wrong `csrf_token`, 404 BigCommerce not offered, "
                    "410 the link expired or was used, 422 the form again: the code is unknown, used or expired "
                    "(alike), 429 too many submissions.")
    return {
        "/connect/oauth/bigcommerce/go": {"get": _page(
            "bigcommerceInstallHop", "On to BigCommerce's install URL",
            "The hop \"Connect with BigCommerce\" leads through: it keeps the attempt's `state` in a cookie of its "
            "own (HttpOnly, SameSite=Lax, ten minutes, path `/connect/oauth/bigcommerce`), since BigCommerce's "
            "install carries none back, and redirects to `https://login.bigcommerce.com/app/{client_id}/install` "
            "(the app's `auth_url` origin when set).",
            {"303": {"description": "To BigCommerce's install URL, with the install cookie."}},
            "400 a state that is not this session's live attempt, 403 without the session cookie, 404 no app.",
            params=[_param("state", "query", _STRING, "The attempt's state, from the start form's redirect.", True)])},
        "/connect/oauth/bigcommerce/callback": {"get": _page(
            "bigcommerceAuthCallback", "BigCommerce's auth callback (register it as the app's Auth Callback URL)",
            "`code`, `scope`, `context=stores/{hash}`, `account_uuid` (BigCommerce may add more). With the session "
            "cookie and the install cookie, the attempt is spent once, the code exchanged at `/oauth2/token` and "
            "the token checked by reading a customer, then the connection stored. Without them (an install started "
            "in BigCommerce), the grant is exchanged, checked and parked: the page shows a one-time claim code "
            "(`sri_...`, 24 hours) for `/connect/oauth/bigcommerce/claim`. An install started from a session "
            "that expired or finished meanwhile stops before the exchange.",
            {**connected, "200": {"description": "Connected (no `return_url`), or the claim code of a parked "
                                                 "install.", "content": _HTML}},
            "400 a query that is not an install's, a replayed or expired attempt, or a refused code; 404 no app; "
            "410 the session expired or was used. Nothing is stored.", security=[])},
        "/connect/oauth/bigcommerce/claim": {
            "get": _page("bigcommerceClaimForm", "\"I already installed the app\": the claim code form",
                         "Linked from the BigCommerce form when a BigCommerce app is set.",
                         {"200": {"description": "The form.", "content": _HTML}}, claim_errors),
            "post": _page(
                "bigcommerceClaim", "Claim a parked BigCommerce install",
                "The claim code is spent once (whatever follows), the grant checked by reading a customer, then "
                "stored as this session's connection. An install taken by another tenant's own app cannot be "
                "claimed here.",
                connected, claim_errors,
                body={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["csrf_token", "claim_code"],
                    "properties": {"csrf_token": {"type": "string", "description": "From the form's hidden field."},
                                   "claim_code": {"type": "string", "description": "The code the install showed."}},
                }, "examples": {"claim": {"summary": "claim", "value": {
                    "csrf_token": "EXAMPLE", "claim_code": "sri_EXAMPLEexampleEXAMPLEexampleEXAMPLE"}}},
                }}}),
        },
        "/connect/oauth/bigcommerce/load": {"get": _page(
            "bigcommerceLoad", "BigCommerce's load callback (the merchant opens the app)",
            "A small page naming the store and how many connections it has; the control panel may frame it.",
            {"200": {"description": "The page.", "content": _HTML}}, not_bc, security=[], params=[_SIGNED])},
        "/connect/oauth/bigcommerce/uninstall": {"get": _page(
            "bigcommerceUninstall", "BigCommerce's uninstall callback",
            "Deletes every connection made from that store's install with that app, whichever tenant holds it, "
            "each with a `connection.deleted` event.",
            {"204": {"description": "Done."}}, not_bc, security=[], params=[_SIGNED])},
        "/connect/oauth/woocommerce/callback": {"get": _page(
            "woocommerceReturn", "WooCommerce's return_url: the browser back from the store",
            "What happened is read from the attempt (`state`), not from `success`: the connect code the keys' "
            "POST left is handed on once. `success=0` (the merchant declined) fails the session "
            "(`access_denied`).",
            connected, "400 declined, 403 not this browser's attempt, 409 the store sent no keys, 410 the link expired or "
            "the code was handed out, 422 the keys did not work.")},
        "/connect/woocommerce/keys/{handle}": {"post": _op(
            "woocommerceKeys", "WooCommerce's key POST (server to server)", [],
            ("200", ({"type": "object", "properties": {"status": {"type": "string", "const": "connected"}},
                      "required": ["status"]}, {"status": "connected"})),
            [INVALID_BODY, KEYS_TOO_LARGE, KEYS_MEDIA, KEYS_NOT_WAITING, KEYS_REFUSED, TENANT_CALLS_BUSY,
             STORE_UNAVAILABLE],
            [_param("handle", "path", _STRING, "The attempt's handle, from `callback_url`.", True)],
            body=_body({"type": "object", "required": ["key_id", "user_id", "consumer_key", "consumer_secret",
                                                       "key_permissions"],
                        "properties": {"key_id": {"type": ["integer", "string"]},
                                       "user_id": {"type": ["integer", "string"]},
                                       "consumer_key": {"type": "string"}, "consumer_secret": {"type": "string"},
                                       "key_permissions": {"type": "string"}}},
                       {"keys": {"key_id": 1, "user_id": "EXAMPLEuserEXAMPLEuser", "consumer_key": "ck_EXAMPLE",
                                 "consumer_secret": "cs_EXAMPLE", "key_permissions": "read"}}),
            tags=["connect"],
            description="`callback_url` of the wc-auth request. Accepted once, for a live attempt whose handle "
                        "and `user_id` match, after the keys read a customer from the store URL the merchant "
                        "typed; the session is then completed. Any other answer makes WooCommerce delete the keys.")},
    }


def _oauth_paths() -> dict[str, Any]:
    """OAuth installs: the "Connect with PLATFORM" button, the platform's
    redirect back, the merchant's choice (proxy/connect/oauth)."""
    provider = _param("provider", "path", _STRING, "A provider with an OAuth install (and an app for the tenant, "
                      "or the operator's default).", True, example="shopify")
    gone = ("404 platform not offered or no app, 403 without the session cookie or a wrong `csrf_token`, "
            "410 the link expired, was used or failed; a page saying what to do.")

    def form(example: dict[str, str]) -> dict[str, Any]:
        return {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "required": ["csrf_token"],
                       "properties": {"csrf_token": {"type": "string", "description": "From the form's hidden field."}},
                       "additionalProperties": {"type": "string"}},
            "examples": {"shopify": {"summary": "shopify", "value": {"csrf_token": "EXAMPLE", **example}}},
        }}}

    base = "/connect/oauth/{provider}"
    return {
        f"{base}/start": {"post": _page(
            "startOAuthInstall", "Go to the platform's consent screen",
            "The form's \"Connect with PLATFORM\" button, with what the platform needs typed first (Shopify's "
            "`shop`). A one-use `state` (256 random bits, 10 minutes, bound to this session) is minted.",
            {"303": {"description": "To the platform's authorization page."}},
            gone + " 400 a field the flow does not take, 422 the form again (a malformed shop name), 429 too "
            "many attempts.", params=[provider], body=form({"shop": "my-store"}))},
        f"{base}/callback": {"get": _page(
            "oauthCallback", "The platform sends the merchant back",
            "Register this URL on the platform (`shoprelay provider-apps callback-urls`). It reads the "
            "parameters the platform sends (`code`, `state`, Shopify's `hmac`, `shop`, `timestamp`...; none is "
            "refused by name, a repeated one is), claims the attempt behind `state` once, requires the browser's "
            "session to be the one that started, lets the platform's checks run (Shopify's HMAC, shop and "
            "timestamp), exchanges the code and stores the connection. `error=access_denied` (or a refused code) "
            "fails the session with that reason.",
            {"303": {"description": "To `return_url` with `connect_code` and `session_id`."},
             "200": {"description": "Without a `return_url`, the connected page (as the form's); or a page "
                                    "to choose what to connect.", "content": _HTML}},
            gone + " 400 an unknown, used or expired `state`, a callback the platform did not sign, another "
            "store, or the platform's refusal; 403 another browser's `state`.", params=[provider])},
        f"{base}/choose": {"post": _page(
            "chooseOAuthInstall", "The merchant's choice (several stores or organisations)",
            "The choice page's form: `csrf_token`, its one-use `state` and `choice`.",
            {"303": {"description": "To `return_url` with `connect_code` and `session_id`."},
             "200": {"description": "Without a `return_url`, the connected page.", "content": _HTML}},
            gone + " 400 a choice not offered, or a used or expired `state`.", params=[provider],
            body=form({"state": "EXAMPLE", "choice": "org-1"}))},
    }


# -- provider apps ---------------------------------------------------------------------

PROVIDER_APP_NOT_FOUND = Err(404, "not_found", "No app can be set for that provider (not installed, or it has no "
                             "OAuth install), or this tenant has no app for it.")
APP_FIELD_REFUSED = Err(400, "invalid_parameter", "A field is refused (`parameter` names it: `client_id`, "
                        "`client_secret`, `scopes`, `settings.auth_url`...).")


def _provider_app_examples() -> dict[str, Any]:
    view = ProviderAppView(
        provider="shopify", client_id="0123456789abcdef0123456789abcdef", scopes=["read_customers"], settings={},
        owner="tenant", created_at=_WHEN, updated_at=_WHEN,
        callback_url="https://relay.example.com/connect/oauth/shopify/callback",
    )
    return {"ProviderAppView": msgspec.to_builtins(view), "ProviderAppList": {"data": [msgspec.to_builtins(view)]}}


def _provider_app_paths(ex: dict[str, Any]) -> dict[str, Any]:
    tags = ["provider-apps"]
    provider = _param("provider", "path", {"type": "string", "enum": provider_apps.app_providers()},
                      "The platform, by provider name.", True, example="shopify")
    put = _op("putProviderApp", "Set the tenant's own app for a platform", TENANT,
              ("201", _model(ProviderAppView, ex)),
              [*_BODY, APP_FIELD_REFUSED, *_TENANT_AUTH, PROVIDER_APP_NOT_FOUND], [provider],
              _body(ref(ProviderAppPut), {
                  "Shopify": {"client_id": "0123456789abcdef0123456789abcdef", "client_secret": "shpss_EXAMPLE"},
                  "Zoho Inventory, EU test server": {
                      "client_id": "1000.EXAMPLE", "client_secret": "EXAMPLE",
                      "scopes": ["ZohoInventory.contacts.READ", "ZohoInventory.settings.READ"],
                      "settings": {"auth_url": "https://accounts.zoho.eu"}},
              }), tags,
              description="Creates (201) or replaces (200) the app this tenant's merchants authorize on the "
                          "platform's consent screen; it wins over the operator's default. Register the answer's "
                          "`callback_url` in the app's settings on the platform. The secret is stored encrypted "
                          "and never shown again.")
    put["responses"]["201"]["description"] = "Created."
    put["responses"] = {"200": {**put["responses"]["201"], "description": "Replaced (`created_at` kept)."},
                        **put["responses"]}
    return {
        "/provider-apps": {"get": _op(
            "listProviderApps", "The tenant's own provider apps", TENANT, ("200", _model(ProviderAppList, ex)),
            _TENANT_AUTH, tags=tags)},
        "/provider-apps/{provider}": {
            "put": put,
            "get": _op("getProviderApp", "The tenant's own app for a platform", TENANT,
                       ("200", _model(ProviderAppView, ex)), [*_TENANT_AUTH, PROVIDER_APP_NOT_FOUND], [provider],
                       tags=tags, description="Only the tenant's own app: the operator's default is not shown."),
            "delete": _op("deleteProviderApp", "Remove the tenant's own app; the operator's default applies again",
                          TENANT, ("204", None), [*_TENANT_AUTH, PROVIDER_APP_NOT_FOUND], [provider], tags=tags),
        },
    }
