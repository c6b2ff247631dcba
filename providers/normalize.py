"""Small pure helpers every mapping uses: empty strings, dates, names, the customer."""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import Any, Iterable

from .models import Address, Customer, Email, Phone


def text(value: Any) -> str | None:
    """A provider value as a trimmed string; empty and missing become None."""
    if type(value) is str:  # nearly every call: first, and without isinstance
        return value.strip() or None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


# What utc_timestamp returns for a value with no fraction; ASCII digits only (\d takes others).
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")


def utc_timestamp(value: Any, *, naive_is_utc: bool = True) -> str | None:
    """ISO-8601 UTC with a ``Z`` from the many forms providers send.

    Accepts offsets with or without a colon (``+0530``), ``Z``, fractional
    seconds, date-only values (taken as midnight UTC) and, when
    ``naive_is_utc``, timestamps without any offset (WooCommerce ``*_gmt``).
    Unparseable values give None rather than failing the whole record.
    """
    raw = text(value)
    if raw is None:
        return None
    if _CANONICAL.match(raw):  # already ISO-8601 UTC to the second, as most platforms send it
        try:
            datetime.fromisoformat(raw)  # a real date and time, not just the right digits
        except ValueError:
            return None
        return raw
    try:
        parsed = datetime.fromisoformat(raw.replace(" ", "T", 1) if len(raw) > 10 else raw)
    except ValueError:
        return None
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        if not naive_is_utc:
            return None
        parsed = parsed.replace(tzinfo=timezone.utc)
    parsed = parsed.astimezone(timezone.utc)
    if parsed.microsecond:
        return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def local_timestamp(value: Any, zone: tzinfo) -> str | None:
    """A zone-less local ``YYYY-MM-DD HH:MM:SS`` (a shop's wall clock) read
    in ``zone``, as UTC. A wall time that does not exist or occurs twice
    around a DST change is taken as its first occurrence (``fold=0``). A
    value with an offset keeps it; unset (``0000-00-00 ...``) or unreadable
    is None."""
    raw = text(value)
    if raw is None:
        return None
    try:
        local = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return utc_timestamp(raw, naive_is_utc=False)
    return utc_timestamp(local.replace(tzinfo=zone).astimezone(timezone.utc).isoformat())


def joined_lines(lines: Iterable[Any]) -> str | None:
    """Address lines beyond the first as one ``street_2``: each ``text``,
    the empty ones dropped, joined with ", "; None when none is left."""
    return ", ".join(line for line in map(text, lines) if line) or None


def full_name(first: str | None, last: str | None) -> str | None:
    joined = " ".join(part for part in (first, last) if part)
    return joined or None


def country_code(value: Any) -> str | None:
    """An ISO-3166 alpha-2 code upper-cased; anything else passes through."""
    code = text(value)
    if code and len(code) == 2 and code.isalpha():
        return code.upper()
    return code


def keep_address(address: Address) -> bool:
    """False for an address whose every location field is empty."""
    return any(
        (
            address.street_1,
            address.street_2,
            address.city,
            address.state,
            address.postal_code,
            address.country,
        )
    )


def unified_address(
    *, id: Any = None, street_1: Any = None, street_2: Any = None, city: Any = None, state: Any = None,
    postal_code: Any = None, country: Any = None, address_type: str | None = None,
) -> Address:
    """An address from the platform's values as they come: each one ``text``
    (trimmed, empty is None), the country a ``country_code``."""
    return Address(
        id=text(id), street_1=text(street_1), street_2=text(street_2), city=text(city), state=text(state),
        postal_code=text(postal_code), country=country_code(country), address_type=address_type,
    )


def unified_customer(
    *, remote_id: str | None, name: str | None = None, emails: Iterable[Email] = (), phones: Iterable[Phone] = (),
    addresses: Iterable[Address] = (), **fields: Any,
) -> Customer:
    """The unified customer from a mapping's values. ``id`` is the
    platform's id; ``name`` defaults to first + last. Emails and phones are
    deduplicated with exactly one primary each (the first flagged, else the
    first), listed first and repeated as ``email``/``phone_number``;
    addresses without any location field are dropped."""
    emails, phones = one_primary_email(emails), one_primary_phone(phones)
    return Customer(
        id=remote_id, remote_id=remote_id, name=name or full_name(fields.get("first_name"), fields.get("last_name")),
        email=emails[0].email if emails else None, emails=emails,
        phone_number=phones[0].number if phones else None, phones=phones,
        addresses=[address for address in addresses if keep_address(address)], **fields,
    )


def one_primary_email(emails: Iterable[Email]) -> list[Email]:
    """Deduplicate case-insensitively; exactly one is primary, listed first."""
    return _one_primary(emails, key=lambda e: e.email.lower())


def one_primary_phone(phones: Iterable[Phone]) -> list[Phone]:
    return _one_primary(phones, key=lambda p: (p.number, p.extension))


def _one_primary(items: Iterable[Any], key: Any) -> list[Any]:
    items = list(items)
    if len(items) <= 1:  # most customers: nothing to deduplicate or choose
        for item in items:
            item.is_primary = True
        return items
    seen: set[Any] = set()
    unique = []
    for item in items:
        k = key(item)
        if k in seen:
            continue
        seen.add(k)
        unique.append(item)
    if not unique:
        return unique
    primary_index = next((i for i, item in enumerate(unique) if item.is_primary), 0)
    primary = unique.pop(primary_index)
    for item in unique:
        item.is_primary = False
    primary.is_primary = True
    return [primary, *unique]
