"""Typed payloads (providers.base): read_json and the template's mapping, and the
unified customer a mapping builds (providers.normalize.unified_customer).

A body decodes into the Struct a provider names for the fields it reads; a
missing or mistyped field is ProviderBadResponse naming the JSON path, a
body that is not JSON is one too, and the mapping's errors say which
customer of a page was wrong. ``remote_data`` stays the platform's JSON.
"""

from __future__ import annotations

from typing import Any, Mapping

import msgspec
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from providers.base import CommonSettings, Page, PageRequest, Provider, envelope
from providers.errors import CustomerNotFound, ProviderBadResponse
from providers.http import UpstreamResponse
from providers.models import Address, Customer, Email, Phone
from providers.normalize import unified_address, unified_customer


def answer(status: int, body: bytes) -> UpstreamResponse:
    return UpstreamResponse(status, CIMultiDictProxy(CIMultiDict()), body, "https://api.example.test/x")


class Contact(msgspec.Struct):
    id: str
    email: str | None = None
    tags: list[str] = []


class Envelope(msgspec.Struct):
    contact: Contact


class ContactList(msgspec.Struct):
    contacts: list[Contact]


class Credentials(msgspec.Struct):
    api_key: str = "sk_test_kit_0123456789"


class KitProvider(Provider):
    name, display_name = "kit", "Kit"
    credentials_type = Credentials
    payload_type = Contact

    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        super().__init__(Credentials(), CommonSettings(), None)
        self.rows = rows or []

    async def fetch_customer(self, customer_id: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self.rows[0]

    async def list_customers(self, request: PageRequest) -> Page:
        return Page(items=self.rows)

    @staticmethod
    def map_payload(contact: Contact) -> Customer:
        if "@" not in (contact.email or "@"):
            raise ValueError("an email without @")  # a mapping's own refusal
        return Customer(remote_id=contact.id, email=contact.email)


# -- read_json -------------------------------------------------------------------------


def test_read_json_decodes_into_the_named_type():
    body = b'{"contact": {"id": "c1", "email": "a@example.com", "unread": {"x": 1}}}'
    envelope = KitProvider().read_json(answer(200, body), Envelope)
    assert envelope.contact == Contact(id="c1", email="a@example.com")


@pytest.mark.parametrize(
    "body,path",
    [
        (b'{"contact": "c1"}', "$.contact"),
        (b'{"contact": {"email": "a@example.com"}}', "$.contact"),  # id missing
        (b'{"contact": {"id": 17}}', "$.contact.id"),
        (b'{"contact": {"id": "c1", "tags": ["a", 2]}}', "$.contact.tags[1]"),
    ],
)
def test_a_wrong_shape_names_the_json_path(body, path):
    with pytest.raises(ProviderBadResponse) as caught:
        KitProvider().read_json(answer(200, body), Envelope)
    assert caught.value.message.startswith("Kit answered with an unexpected shape: ")
    assert caught.value.message.endswith(f" - at `{path}`")
    assert caught.value.remote_status == 200


@pytest.mark.parametrize(
    "body,says",
    [(b'{"other": {}}', "Object missing required field `contact`"), (b"[]", "Expected `object`, got `array`")],
)
def test_a_wrong_shape_at_the_root_says_what_is_wrong(body, says):
    # msgspec names no path for the root itself.
    with pytest.raises(ProviderBadResponse) as caught:
        KitProvider().read_json(answer(200, body), Envelope)
    assert caught.value.message == f"Kit answered with an unexpected shape: {says}"


def test_a_wrong_shape_deep_in_a_list_names_its_index():
    body = b'{"contacts": [{"id": "c1"}, {"id": "c2"}, {"id": null}]}'
    with pytest.raises(ProviderBadResponse) as caught:
        KitProvider().read_json(answer(200, body), ContactList)
    assert caught.value.message.endswith("`$.contacts[2].id`")


def test_an_answer_about_another_customer_is_refused():
    KitProvider().check_customer_id("c1", "c1")
    with pytest.raises(ProviderBadResponse) as caught:
        KitProvider().check_customer_id("c2", "c1")
    assert caught.value.message == "Kit answered with another customer than the one asked for"


def test_an_envelope_keeps_its_member_raw_and_names_it_when_missing():
    body = b'{"contact": {"id": "c1", "extra": [1]}, "message": "success"}'
    assert KitProvider().read_json(answer(200, body), envelope("contact")).contact == {"id": "c1", "extra": [1]}
    assert envelope("contact") is envelope("contact")  # one type: msgspec caches its decoder
    rows = KitProvider().read_json(answer(200, b'{"contacts": [{"id": "c1"}]}'), envelope("contacts", list[Contact]))
    assert rows.contacts == [Contact(id="c1")]
    with pytest.raises(ProviderBadResponse) as caught:
        KitProvider().read_json(answer(200, b'{"customer": {}}'), envelope("contact"))
    assert "`contact`" in caught.value.message


def test_a_bom_before_the_json_is_skipped():
    body = b'\xef\xbb\xbf{"contact": {"id": "c1"}}'
    assert KitProvider().read_json(answer(200, body), Envelope).contact.id == "c1"
    assert KitProvider().read_json(answer(200, b'\xef\xbb\xbf[1]')) == [1]


@pytest.mark.parametrize("body", [b"<html>hello</html>", b"", b'{"contact": ', b"\xef\xbb\xbf", b"\xff\xfe{}"])
def test_a_body_that_is_not_json_is_a_bad_response(body):
    with pytest.raises(ProviderBadResponse) as caught:
        KitProvider().read_json(answer(200, body), Envelope)
    assert caught.value.message == "Kit answered with a body that is not JSON"


def test_read_json_of_a_failure_is_the_classified_error():
    with pytest.raises(CustomerNotFound) as caught:
        KitProvider().read_json(answer(404, b'{"contact": {"id": "c1"}}'), Envelope)
    assert caught.value.message == "Kit has no such customer (404)"


# -- the template's mapping ----------------------------------------------------------


async def test_get_customer_keeps_the_exact_json_as_remote_data():
    row = {"id": "c1", "email": "a@example.com", "unread": {"nested": [1, 2]}}
    raw, customer = await KitProvider([row]).get_customer("c1")
    assert raw is row and raw == {"id": "c1", "email": "a@example.com", "unread": {"nested": [1, 2]}}
    assert (customer.remote_id, customer.email) == ("c1", "a@example.com")


async def test_a_customer_of_the_wrong_shape_names_the_path():
    with pytest.raises(ProviderBadResponse) as caught:
        await KitProvider([{"id": "c1", "email": ["a@example.com"]}]).get_customer("c1")
    message = caught.value.message
    assert message.startswith("Kit answered with a customer of an unexpected shape: ")
    assert message.endswith("`$.email`") and "a@example.com" not in message


async def test_a_mapping_error_names_the_customer_position_in_the_page():
    rows = [{"id": "c1"}, {"id": "c2"}, {"tags": []}, {"id": "c4"}]
    with pytest.raises(ProviderBadResponse) as caught:
        await KitProvider(rows).list_page(PageRequest(limit=4))
    assert caught.value.message.startswith("Kit answered with customer 3 of a page of an unexpected shape: ")
    assert "`id`" in caught.value.message


async def test_a_mapping_refusal_is_a_bad_response_without_the_value():
    rows = [{"id": "c1", "email": "a@example.com"}, {"id": "c2", "email": "not-an-email"}]
    with pytest.raises(ProviderBadResponse) as caught:
        await KitProvider(rows).list_page(PageRequest(limit=2))
    assert caught.value.message == "Kit answered with customer 2 of a page of an unexpected shape"


async def test_a_page_maps_every_customer_and_keeps_the_raws():
    rows = [{"id": f"c{i}", "email": f"{i}@example.com"} for i in range(3)]
    page = await KitProvider(rows).list_page(PageRequest(limit=3))
    assert page.raws == rows
    assert [c.remote_id for c in page.customers] == ["c0", "c1", "c2"]


def test_unified_customer_keeps_one_primary_first_and_mirrors_it():
    customer = unified_customer(
        remote_id="c1",
        emails=[Email(email="a@example.com"), Email(email="B@example.com", is_primary=True),
                Email(email="b@example.com", type="billing")],
        phones=[Phone(number="+15550100"), Phone(number="+15550100", type="mobile")],
        addresses=[Address(city="Portland"), Address(id="empty", address_type="billing")],
    )
    assert [(e.email, e.is_primary) for e in customer.emails] == [("B@example.com", True), ("a@example.com", False)]
    assert customer.email == "B@example.com"
    assert [(p.number, p.type, p.is_primary) for p in customer.phones] == [("+15550100", None, True)]
    assert customer.phone_number == "+15550100"
    assert [a.city for a in customer.addresses] == ["Portland"]  # no location: dropped
    assert unified_customer(remote_id="c2") == Customer(id="c2", remote_id="c2")
    named = unified_customer(remote_id="c3", first_name="Ada", last_name="Lovelace")
    assert named.name == "Ada Lovelace"  # first + last unless the platform names the customer
    assert unified_customer(remote_id="c3", first_name="Ada", name="Countess").name == "Countess"


def test_unified_address_trims_every_value_and_upper_cases_a_country_code():
    assert unified_address(id=42, street_1=" 5 Wingate ", street_2="", city="Portland", state="ME",
                           postal_code=4101, country="us", address_type="billing") == Address(
        id="42", street_1="5 Wingate", street_2=None, city="Portland", state="ME", postal_code="4101",
        country="US", address_type="billing")
    assert unified_address(country="U.S.A").country == "U.S.A"  # free text passes through


def test_provider_generic_arguments_name_the_credentials_and_settings():
    class Typed(Provider[Credentials, CommonSettings]):
        name, display_name = "typed", "Typed"

    class Child(Typed):
        pass

    assert (Typed.credentials_type, Typed.settings_type) == (Credentials, CommonSettings)
    assert (Child.credentials_type, Child.settings_type) == (Credentials, CommonSettings)
    assert KitProvider.credentials_type is Credentials  # stated as before, still read
    credentials, _ = Typed.parse_config({"api_key": "sk_test_other"}, None)
    assert credentials == Credentials(api_key="sk_test_other")


def test_joined_lines_drops_empty_ones_and_is_none_when_none_are_left():
    from providers.normalize import joined_lines

    assert joined_lines([" Suite 5 ", "", None, "Floor 2"]) == "Suite 5, Floor 2"
    assert joined_lines(["", "  ", None]) is None
    assert joined_lines([]) is None
