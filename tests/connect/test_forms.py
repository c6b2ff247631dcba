"""A provider's connect form, derived from its Structs."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from providers import registry
from providers.base import CommonSettings
from proxy.connect import forms


@pytest.mark.parametrize("provider", registry.names())
def test_every_provider_has_a_form_of_its_own_fields(provider):
    cls = registry.get(provider)
    form = forms.form_for(provider)
    assert form.display_name == cls.display_name
    assert [f.name for f in form.fields if f.part == "credentials"] == list(cls.credentials_type.__struct_fields__)
    assert {f.name for f in form.fields if f.part == "settings"} == set(cls.settings_type.__struct_fields__)
    assert all(f.secret for f in form.fields if f.part == "credentials")
    assert not any(f.secret or f.default is None and f.advanced and f.required for f in form.fields
                   if f.part == "settings")
    assert all(f.label and f.label[0].isupper() for f in form.fields)


def test_labels_and_help_come_from_the_provider_module():
    shopify = forms.form_for("shopify")
    token = shopify.field("access_token")
    assert token.label == "Admin API access token"  # Meta(title=...)
    assert token.help.startswith("Admin API access token of a custom app")  # Meta(description=...)
    assert shopify.field("shop").label == "Store name"
    woo = forms.form_for("woocommerce")
    assert woo.field("consumer_key").label == "Consumer key"  # no title: the name in words
    assert "WooCommerce > Settings > Advanced > REST API" in woo.field("consumer_key").help
    assert woo.field("store_url").label == "Store URL" and not woo.field("store_url").advanced
    # The origin overrides and defaulted settings wait under Advanced.
    assert woo.field("base_url").advanced and shopify.field("api_version").advanced
    assert shopify.field("api_version").default == registry.get("shopify").settings_type(shop="x").api_version
    assert [f.name for f in woo.main] == ["store_url", "consumer_key", "consumer_secret"]


class Creds(msgspec.Struct, forbid_unknown_fields=True):
    api_key: Annotated[str, msgspec.Meta(description="the key")]


class Settings(CommonSettings, kw_only=True, forbid_unknown_fields=True):
    count: int = 5
    name: Annotated[str | None, msgspec.Meta(title="Display name")] = None


@pytest.fixture
def form(monkeypatch):
    class Fake:
        display_name = "Fake"
        credentials_type = Creds
        settings_type = Settings

    monkeypatch.setattr(registry, "get", lambda name: Fake)
    return forms.form_for("fake")


def test_reading_a_submission(form):
    assert form.field("count").integer and not form.field("name").integer
    assert form.field("name").label == "Display name" and form.field("api_key").label == "API key"
    credentials, settings = forms.read(form, {"api_key": " k1 ", "count": "7", "name": "", "base_url": ""})
    assert credentials == {"api_key": "k1"} and settings == {"count": 7}  # empty fields keep defaults
    with pytest.raises(forms.FormError) as missing:
        forms.read(form, {"count": "7"})
    assert missing.value.field == "api_key" and missing.value.status == 422 and "API key is required" in str(missing.value)
    with pytest.raises(forms.FormError) as foreign:
        forms.read(form, {"api_key": "k", "access_token": "x"})
    assert foreign.value.status == 400 and foreign.value.field is None
    with pytest.raises(forms.FormError):
        forms.read(form, {"api_key": "k" * (forms.MAX_VALUE_LENGTH + 1)})
    assert forms.read(form, {"api_key": "k", "count": "seven"})[1] == {"count": "seven"}  # msgspec says why later


def test_the_field_a_message_names(form):
    assert forms.field_named_in(form, "credentials: Expected `str`, got `int` - at `$.api_key`") == "api_key"
    assert forms.field_named_in(form, "count must be positive") == "count"
    assert forms.field_named_in(form, "recount is odd") is None
