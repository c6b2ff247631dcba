"""The Truto surface's part of ``/openapi.json``: its two operations, the
``TrutoBearer`` scheme and the Truto record's schemas.

The record is built as a dict (proxy/truto.py: custom fields join it at the
top level), so its schema is written here; tests/proxy/test_truto_surface.py
validates real responses against it, so it cannot drift unnoticed.
"""

from __future__ import annotations

from typing import Any

from providers.sandbox import SandboxProvider, generate

from . import openapi as o
from . import truto
from .paging import DEFAULT_LIMIT, MAX_LIMIT
from .routes.truto import FORMATS

SECURITY = [{"TrutoBearer": []}]
SCHEME = {
    "TrutoBearer": {
        "type": "http", "scheme": "bearer",
        "description": "Truto's `Authorization: Bearer` header, carrying the tenant's API key (`sk_...`).",
    },
}
TAG = {"name": "unified/ecommerce/customers", "description": (
    "Truto's unified e-commerce customers API over the same live reads: a Truto client works by changing "
    "its `base_url` and sending the API key as its token."
)}

_NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}]}
_CURSOR = "Truto's paging: send it back as `next_cursor` for the next page; null on the last page."


def _object(title: str, description: str, properties: dict[str, tuple[dict[str, Any], str]],
            open_: bool = False) -> dict[str, Any]:
    return {
        "title": title, "type": "object", "description": description,
        "properties": {name: {**schema, "description": text} for name, (schema, text) in properties.items()},
        "required": list(properties) if not open_ else [p for p in properties if p != "remote_data"],
        "additionalProperties": open_,
    }


def schemas() -> dict[str, Any]:
    s = _NULLABLE_STRING
    return {
        "TrutoEmail": _object("TrutoEmail", "An email address.", {
            "email": ({"type": "string"}, "The address."),
            "is_primary": ({"type": "boolean"}, "Whether it is the customer's primary address."),
            "type": (s, "The platform's kind of address, if it has one."),
        }),
        "TrutoPhone": _object("TrutoPhone", "A phone number.", {
            "number": ({"type": "string"}, "The number, as the platform gives it."),
            "extension": (s, "An extension, if any."),
            "type": (s, "The platform's kind of number (mobile, work...), if it has one."),
        }),
        "TrutoAddress": _object("TrutoAddress", "An address.", {
            "id": (s, "The address's id at the platform."),
            "type": (s, "`billing`, `shipping` or the platform's own kind; null where it says none."),
            "street_1": (s, "First street line."), "street_2": (s, "Second street line."),
            "city": (s, "City."), "state": (s, "State, province or region."),
            "postal_code": (s, "Postal code."),
            "country": (s, "Country, as the platform gives it (mostly ISO 3166-1 alpha-2)."),
        }),
        "TrutoCustomer": _object("TrutoCustomer", (
            "A customer in Truto's unified e-commerce shape. Every listed property is present (null or `[]` "
            "where the platform has no value); `remote_data` is left out with `truto_ignore_remote_data=true`. "
            "The tenant's field mappings appear as further top-level properties, by name (one named like a "
            "listed property replaces it, as a Truto unified-model override does). `truto_exclude_fields` "
            "removes properties."
        ), {
            "id": ({"type": "string"}, "The customer's id at the platform."),
            "first_name": (s, "Given name."), "last_name": (s, "Family name."),
            "name": (s, "The display name, as the platform gives it or first and last name joined."),
            "company_name": (s, "The customer's company, if any."),
            "emails": ({"type": "array", "items": o.ref("TrutoEmail")}, "Every email address, primary first."),
            "phones": ({"type": "array", "items": o.ref("TrutoPhone")}, "Every phone number, primary first."),
            "addresses": ({"type": "array", "items": o.ref("TrutoAddress")}, "The customer's addresses."),
            "status": (s, "`active` or `inactive` where the platform's meaning is clear, else the platform's "
                          "own value (Truto's rule); null where it has none. Shopify and Commerce7 report the "
                          "customer's login account."),
            "currency": (s, "The customer's currency (ISO 4217), where the platform tracks one."),
            "created_at": (s, "When the customer was created (UTC, ISO 8601, `Z`)."),
            "updated_at": (s, "When the customer was last changed (UTC, ISO 8601, `Z`)."),
            "remote_data": ({"type": "object"}, "The platform's record verbatim (unless "
                                                "`truto_ignore_remote_data=true`)."),
        }, open_=True),
        "TrutoCustomerList": _object("TrutoCustomerList", "A page of customers in Truto's list envelope.", {
            "result": ({"type": "array", "items": {"anyOf": [o.ref("TrutoCustomer"), {"type": "object"}]}},
                       "The customers (the platform's records with `truto_response_format=raw`)."),
            "next_cursor": (s, _CURSOR),
            "prev_cursor": (s, "The cursor of the page before, as `next_cursor`; null on the first page or "
                               "where the platform cannot go back."),
            "result_count": ({"type": "integer", "minimum": 0}, "How many customers `result` holds."),
        }),
    }


def _customer(number: int) -> dict[str, Any]:
    raw = generate(number, "shoprelay")
    return truto.record(SandboxProvider.map_customer(raw), raw, {}, include_remote=False)


_FORMAT = o._param(
    "truto_response_format", "query", {"type": "string", "enum": list(FORMATS), "default": "unified"},
    "`unified` (default): Truto's unified record. `raw`: the platform's record verbatim. `normalized`: Truto "
    "documents it only as \"applies the unified mappings and returns the data in a normalized format\", "
    "which the unified record already is: the same body. `stream`: the unified body, sent as it is encoded.",
)
_COMMON = [
    o._param("integrated_account_id", "query", {"type": "string"}, "The id of one of the tenant's connections "
             "(`GET /connections`); another tenant's or an unknown one answers `404 not_found`.", True,
             example=o._CONNECTION_ID),
    _FORMAT,
    o._param("truto_ignore_remote_data", "query", {"type": "boolean", "default": False},
             "Leave `remote_data` out (it is included by default, as in Truto)."),
    o._param(truto.EXCLUDE_ARRAY, "query", {"type": "array", "items": {"type": "string"}},
             "Fields to leave out, Truto's array form: `truto_exclude_fields[]=remote_data&"
             "truto_exclude_fields[]=phones`; dot paths reach into lists (`addresses.city`). Unknown names are "
             "refused.", style="form", explode=True),
    o._param(truto.EXCLUDE, "query", {"type": "string"},
             "The same as a comma-separated list: `truto_exclude_fields=remote_data,phones`."),
    o._REMOTE_QUERY,
]
NOT_AN_ACCOUNT = o.Err(404, "not_found", "`integrated_account_id` names no connection of this tenant (unknown, "
                       "deleted or another tenant's: all answer alike).")
MISSING_KEY = o.Err(401, "missing_api_key", "No `Authorization: Bearer` header.")
INVALID_KEY = o.Err(401, "invalid_api_key", "The bearer API key is unknown or revoked.")
_AUTH = [MISSING_KEY, INVALID_KEY, o.RATE_LIMITED, o.STORE_UNAVAILABLE, NOT_AN_ACCOUNT]


def paths() -> dict[str, Any]:
    tags = [TAG["name"]]
    reads = [o.INVALID_PARAMETER, o.URI_TOO_LONG, *_AUTH, o.CUSTOMER_NOT_FOUND, *o._PROVIDER_CALL,
             o.CREDENTIALS_UNREADABLE]
    page = {"result": [_customer(1), _customer(2)], "next_cursor": "eyJ2IjoxLCJjIjoiLi4uIn0",
            "prev_cursor": None, "result_count": 2}
    return {
        "/unified/ecommerce/customers": {"get": o._op(
            "trutoListEcommerceCustomers", "List customers (Truto's unified API)", SECURITY,
            ("200", (o.ref("TrutoCustomerList"), page)),
            [e for e in reads if e is not o.CUSTOMER_NOT_FOUND],
            [*_COMMON,
             o._param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                         "default": DEFAULT_LIMIT}, "Page size.", example=10),
             o._param("next_cursor", "query", {"type": "string"}, "The `next_cursor` of the page before; signed "
                      "and bound to the connection (a tampered or foreign one is `400`).")], tags=tags,
            description="One page of the store's customers, read live, in Truto's list envelope. "
                        "truto-python-sdk's `unified_api.list(\"ecommerce\", \"customers\", {...})` pages "
                        "through all of them.")},
        "/unified/ecommerce/customers/{id}": {"get": o._op(
            "trutoGetEcommerceCustomer", "Get a customer (Truto's unified API)", SECURITY,
            ("200", ({"anyOf": [o.ref("TrutoCustomer"), {"type": "object"}]}, {
                **_customer(7), "remote_data": generate(7, "shoprelay")})),
            reads,
            [o._param("id", "path", {"type": "string"}, "The platform's customer id.", True, example="7"),
             *_COMMON], tags=tags,
            description="The customer, read live from the store, as Truto's unified record (the platform's "
                        "record verbatim with `truto_response_format=raw`).")},
    }
