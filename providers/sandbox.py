"""A deterministic, local store of generated customers.

For the quickstart, demos and client development: no network, no
credentials. It behaves like a real provider: ids outside the store are
not found, and the raw payload (remote_data) is the generated record, in a
shape of its own that resembles a typical commerce API.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Annotated, Any

import msgspec

from .base import CommonSettings, NoCredentials, Page, PageRequest, Provider, is_numeric_id
from .errors import CustomerNotFound
from .models import Address, Customer, Email, Phone
from .normalize import full_name, text, utc_timestamp
from .paging import Batch, offset_walk

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken",
          "Frances", "Dennis", "Radia", "Guido", "Hedy", "Linus", "Katherine", "Tim"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton",
         "Thompson", "Allen", "Ritchie", "Perlman", "van Rossum", "Lamarr", "Torvalds"]
_CITIES = [("Rue de Rivoli", "Paris", None, "75001", "FR"),
           ("Unter den Linden", "Berlin", None, "10115", "DE"),
           ("Congress Ave", "Austin", "TX", "78701", "US"),
           ("King St W", "Toronto", "ON", "M5H 2N2", "CA"),
           ("Collins St", "Melbourne", "VIC", "3000", "AU"),
           ("Rue de la République", "Lyon", None, "69001", "FR")]


class SandboxSettings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    size: Annotated[int, msgspec.Meta(ge=1, le=1_000_000, description=(
        "how many customers the store holds (ids 1..size): an integer 1..1000000"
    ))] = 250
    # A seed is as often a number as a word; 42 and "42" give the same store.
    seed: Annotated[str | int, msgspec.Meta(description=(
        "text (up to 64 characters) or an integer; another seed generates other customers"
    ))] = "shoprelay"

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.seed, int):
            self.seed = str(self.seed)
        if len(self.seed) > 64:
            raise ValueError("seed must be at most 64 characters")


def _pick(seed: bytes, salt: str, options: list[Any]) -> Any:
    h = hashlib.sha256(seed + salt.encode()).digest()
    return options[int.from_bytes(h[:4], "big") % len(options)]


def generate(customer_id: int, seed: str) -> dict[str, Any]:
    """The raw record for one id: the same id and seed give the same record."""
    s = f"{seed}:{customer_id}".encode()
    first, last = _pick(s, "first", _FIRST), _pick(s, "last", _LAST)
    street, city, state, postcode, country = _pick(s, "city", _CITIES)
    handle = f"{first}.{last}".lower().replace(" ", "")
    created = 1_600_000_000 + customer_id * 86_400
    record: dict[str, Any] = {
        "customer_id": customer_id,
        "given_name": first,
        "family_name": last,
        "email_address": f"{handle}{customer_id}@example.com",
        "phone": f"+3361234{customer_id % 10000:04d}",
        "company": _pick(s, "company", ["", "Analytical Engines Ltd", "Compilers Inc"]),
        "active": customer_id % 7 != 0,
        "currency": {"FR": "EUR", "DE": "EUR", "US": "USD", "CA": "CAD", "AU": "AUD"}[country],
        "created": _iso(created),
        "updated": _iso(created + 3_600 * (customer_id % 48)),
        "addresses": [
            {
                "address_id": customer_id * 10 + 1,
                "kind": "billing",
                "line1": f"{customer_id % 200 + 1} {street}",
                "line2": "",
                "city": city,
                "region": state or "",
                "postcode": postcode,
                "country_code": country,
            }
        ],
        "tags": ["vip"] if customer_id % 11 == 0 else [],
    }
    return record


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SandboxProvider(Provider[NoCredentials, SandboxSettings]):
    name = "sandbox"
    display_name = "Sandbox"
    remote_query_supported = False  # nothing upstream to forward to

    valid_customer_id = staticmethod(is_numeric_id)  # seeded ids are numbers

    async def fetch_customer(self, customer_id: str) -> dict[str, Any]:
        number = int(customer_id)
        if number > self.settings.size:
            raise CustomerNotFound(f"no Sandbox customer has id {customer_id!r}")
        return generate(number, self.settings.seed)

    async def list_customers(self, request: PageRequest) -> Page:
        """Offset paging over ids 1..size, so it can go back as well as on."""
        size, seed = self.settings.size, self.settings.seed

        async def fetch(offset: int, count: int) -> Batch:
            ids = range(offset + 1, min(size, offset + count) + 1)
            return Batch([generate(n, seed) for n in ids], total=size)

        return await offset_walk(request, fetch, page_max=max(1, request.limit))

    async def verify(self) -> None:
        return None

    @staticmethod
    def map_customer(raw: dict[str, Any]) -> Customer:
        first, last = text(raw.get("given_name")), text(raw.get("family_name"))
        email, phone = text(raw.get("email_address")), text(raw.get("phone"))
        addresses = [
            Address(
                id=text(a.get("address_id")),
                street_1=text(a.get("line1")),
                street_2=text(a.get("line2")),
                city=text(a.get("city")),
                state=text(a.get("region")),
                postal_code=text(a.get("postcode")),
                country=text(a.get("country_code")),
                address_type=text(a.get("kind")),
            )
            for a in raw.get("addresses") or []
        ]
        remote_id = str(raw["customer_id"])
        return Customer(
            id=remote_id,
            remote_id=remote_id,
            email=email,
            first_name=first,
            last_name=last,
            name=full_name(first, last),
            company_name=text(raw.get("company")),
            phone_number=phone,
            status="active" if raw.get("active") else "inactive",
            currency=text(raw.get("currency")),
            emails=[Email(email=email, is_primary=True)] if email else [],
            phones=[Phone(number=phone, is_primary=True)] if phone else [],
            addresses=addresses,
            created_at=utc_timestamp(raw.get("created")),
            modified_at=utc_timestamp(raw.get("updated")),
        )
