"""Truto's unified e-commerce customers, as bodies: the record, the list
envelope and ``truto_exclude_fields``.

What Truto documents, and what this module follows (truto.one/docs,
"Unified E-Commerce API" > Customers object / get / list; "Querying in Truto
API"; "Pagination"):

* A record: ``id``, ``first_name``, ``last_name``, ``name``, ``company_name``,
  ``emails[{email, is_primary, type}]``, ``phones[{number, extension, type}]``,
  ``addresses[{id, type, street_1, street_2, city, state, postal_code,
  country}]``, ``status`` (active/inactive, "if no clear mapping exists, then
  raw value is returned"), ``currency``, ``orders[{id, status, total}]``,
  ``created_at``, ``updated_at``, ``remote_data``. Every field is present here,
  ``null`` (lists ``[]``) where the platform has no value, as on Panora's
  surface; ``orders`` is left out, since no installed platform's customer read
  returns the customer's orders (Commerce7's customer carries only order
  totals, ``orderInformation``, which stays in ``remote_data``).
* A get answers the record itself; a list answers ``{"result": [...],
  "next_cursor", "prev_cursor", "result_count"}`` (Truto's list envelope;
  ``next_cursor`` is null on the last page), and the next page is asked with
  ``?next_cursor=``: truto-python-sdk's ``PaginationResult`` reads ``result``
  and ``next_cursor`` and sends ``next_cursor`` back until it is null.
* ``truto_response_format``: ``unified`` (default) applies the unified
  mapping; ``raw`` is the platform's payload verbatim (a list's records in the
  same envelope); ``stream`` sends the unified body as it is encoded, record by
  record, without building the whole page's bytes first; ``normalized`` is
  documented only as "applies the unified mappings and returns the data in a
  normalized format" (no example, no schema of its own, on every page that
  lists it). The unified body here already is that: the mapping applied, in
  the one fixed shape above. So ``normalized`` answers the same body as
  ``unified``; nothing beyond that sentence is published to match.
* ``truto_ignore_remote_data`` (remote_data is included by default, unlike
  Panora's ``remote_data=false``), ``truto_exclude_fields[]=a`` (Truto's array
  form; the comma-separated ``truto_exclude_fields=a,b`` is taken too, as
  Truto's own API notes give it), ``remote_query[name]=value``, ``limit``.

Custom fields (the tenant's field mappings) sit at the top level of the
record, the way a Truto environment's unified-model override adds fields
beside the unified ones; a mapping named like a unified field replaces it, as
such an override does (Panora's surface keeps them in ``field_mappings``).
"""

from __future__ import annotations

from typing import Any, Iterable

from providers.models import Address, Customer, Email, Phone

from . import shaping
from .problems import invalid_parameter

EXCLUDE = "truto_exclude_fields"
EXCLUDE_ARRAY = "truto_exclude_fields[]"
MAX_EXCLUDED = 100

_EMAIL = ("email", "is_primary", "type")
_PHONE = ("number", "extension", "type")
_ADDRESS = ("id", "type", "street_1", "street_2", "city", "state", "postal_code", "country")
_NESTED: dict[str, frozenset[str] | None] = {
    "emails": frozenset(_EMAIL),
    "phones": frozenset(_PHONE),
    "addresses": frozenset(_ADDRESS),
    "remote_data": None,  # free-form: any key below it
}
FIELDS = (
    "id", "first_name", "last_name", "name", "company_name", "emails", "phones", "addresses",
    "status", "currency", "created_at", "updated_at", "remote_data",
)


def record(customer: Customer, raw: Any, custom: dict[str, Any], include_remote: bool) -> dict[str, Any]:
    """The customer in Truto's field names."""
    body: dict[str, Any] = {
        "id": customer.id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "name": customer.name,
        "company_name": customer.company_name,
        "emails": [_email(e) for e in customer.emails],
        "phones": [_phone(p) for p in customer.phones],
        "addresses": [_address(a) for a in customer.addresses],
        "status": customer.status,
        "currency": customer.currency,
        "created_at": customer.created_at,
        "updated_at": customer.modified_at,
    }
    if include_remote:
        body["remote_data"] = raw
    body.update(custom)
    return body


def _email(e: Email) -> dict[str, Any]:
    return {"email": e.email, "is_primary": e.is_primary, "type": e.type}


def _phone(p: Phone) -> dict[str, Any]:
    return {"number": p.number, "extension": p.extension, "type": p.type}


def _address(a: Address) -> dict[str, Any]:
    return {
        "id": a.id, "type": a.address_type, "street_1": a.street_1, "street_2": a.street_2,
        "city": a.city, "state": a.state, "postal_code": a.postal_code, "country": a.country,
    }


def excluded(params: Any, custom_names: Iterable[str]) -> shaping.Tree | None:
    """The ``truto_exclude_fields`` paths as a tree (dot paths reach into
    lists of objects: ``addresses.city``), or None. Unknown names are refused,
    as on Panora's surface: a typo must not silently return everything."""
    values = params.getlist(EXCLUDE_ARRAY) + [
        item for value in params.getlist(EXCLUDE) for item in value.split(",")
    ]
    if not values:
        return None
    items = [v.strip() for v in values]
    if len(items) > MAX_EXCLUDED or not all(items):
        raise invalid_parameter(EXCLUDE, f"give 1 to {MAX_EXCLUDED} field names, none empty")
    top_level = frozenset(FIELDS) | frozenset(custom_names)
    tree: shaping.Tree = {}
    for item in items:
        parts = item.split(".")
        if any(not p for p in parts) or parts[0] not in top_level:
            raise invalid_parameter(EXCLUDE, f"unknown field {item!r}")
        if len(parts) > 1 and parts[0] not in _NESTED:
            raise invalid_parameter(EXCLUDE, f"{parts[0]!r} has no sub-fields")
        allowed = _NESTED.get(parts[0])
        if len(parts) > 1 and allowed is not None and (len(parts) > 2 or parts[1] not in allowed):
            raise invalid_parameter(EXCLUDE, f"unknown field {item!r}")
        node = tree
        for depth, part in enumerate(parts):
            if part in node and node[part] is None:
                break  # the whole subtree is already excluded
            if depth == len(parts) - 1:
                node[part] = None
            else:
                node = node.setdefault(part, {})  # type: ignore[assignment]
    return tree


def without(body: dict[str, Any], tree: shaping.Tree | None) -> dict[str, Any]:
    return body if tree is None else shaping.apply(shaping.Shape(exclude=tree), body)


def envelope(result: list[Any], next_cursor: str | None, prev_cursor: str | None) -> dict[str, Any]:
    return {
        "result": result, "next_cursor": next_cursor, "prev_cursor": prev_cursor,
        "result_count": len(result),
    }
