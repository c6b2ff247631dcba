"""The unified e-commerce models: the output contract of every provider.

Field names and nullability follow Panora's ``UnifiedEcommerceCustomerOutput``
so Panora clients parse them; ``name``, ``company_name``, ``status``,
``currency``, ``emails`` and ``phones`` go beyond it. Every field is always
present in the JSON and ``null`` when the provider does not know it
(``omit_defaults`` stays off for that reason).
"""

from __future__ import annotations

from typing import Any

import msgspec

# ``active``/``inactive`` where the platform's meaning is clear, else the
# platform's own value (Truto's rule, on both surfaces); each provider module
# says what it maps. New providers follow the same rule.
Status = str


class Address(msgspec.Struct, kw_only=True):
    id: str | None = None
    street_1: str | None = None
    street_2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    address_type: str | None = None
    owner_type: str | None = "customer"


class Email(msgspec.Struct, kw_only=True):
    email: str
    type: str | None = None
    is_primary: bool = False


class Phone(msgspec.Struct, kw_only=True):
    number: str
    extension: str | None = None
    type: str | None = None
    is_primary: bool = False


class Customer(msgspec.Struct, kw_only=True):
    id: str | None = None
    remote_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    company_name: str | None = None
    phone_number: str | None = None
    status: Status | None = None
    currency: str | None = None
    emails: list[Email] = msgspec.field(default_factory=list)
    phones: list[Phone] = msgspec.field(default_factory=list)
    addresses: list[Address] = msgspec.field(default_factory=list)
    field_mappings: dict[str, Any] = msgspec.field(default_factory=dict)
    remote_data: dict[str, Any] | None = None
    created_at: str | None = None
    modified_at: str | None = None


class CustomerPage(msgspec.Struct, kw_only=True):
    """One page of unified customers (Panora's ``PaginatedDto``)."""

    prev_cursor: str | None = None
    next_cursor: str | None = None
    data: list[Customer] = msgspec.field(default_factory=list)
