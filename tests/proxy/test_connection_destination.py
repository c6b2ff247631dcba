"""Issue 11 item 3: stored credentials stay where they were given.

A settings-only ``PATCH /connections/{id}`` that changes where the stored
credentials are sent (an origin, or which store they open) is refused: the
caller must give the credentials again. When credentials come along, the
connection's OAuth token goes with the old ones and is minted anew at the
new origin."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.magento import MagentoFake
from tests.fakes.prestashop import PrestaShopFake
from tests.fakes.shopware import ShopwareFake
from tests.fakes.ecwid import EcwidFake
from tests.fakes.squarespace import SquarespaceFake
from tests.fakes.woocommerce import WooCommerceFake
from tests.fakes.zoho_inventory import CONTACTS_PATH, ORG_ID, TOKEN_PATH, ZohoInventoryFake
from tests.harness import Harness, running_app

WOO_CREDENTIALS = dict(WooCommerceFake.default_credentials)
ZOHO_CREDENTIALS = dict(ZohoInventoryFake.default_credentials)
CONTACT_ID = "460000000026049"  # the Zoho fake store's first contact

# Per provider: credentials, settings, and one settings change per
# destination setting (each must be refused without credentials).
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = {
    "woocommerce": (
        WOO_CREDENTIALS,
        {"store_url": "https://shop.example.com"},
        [{"store_url": "https://evil.example.com"}, {"base_url": "https://evil.example.com"}],
    ),
    "shopify": (
        {"access_token": "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"},
        {"shop": "your-development-store"},
        [{"shop": "another-store"}, {"base_url": "https://evil.example.com"}],
    ),
    "bigcommerce": (
        {"access_token": "sqtna5wbk1ys8t9seu331zhifi3g8lu"},
        {"store_hash": "hc5d9t2irc"},
        [{"store_hash": "otherstore"}, {"base_url": "https://evil.example.com"}],
    ),
    "commerce7": (
        {"app_id": "demo-app", "app_secret": "Zk4pQ9sT2vX7yB1nM6cR3wL8hJ5dF0gA"},
        {"tenant": "spectrawinery"},
        [{"tenant": "otherwinery"}, {"base_url": "https://evil.example.com"}],
    ),
    "wix": (
        {"api_key": "IST.eyJraWQiOiJQb3pIX2FDMiIsImFsZyI6IlJTMjU2In0.eyJkYXRhIjoie30ifQ.c2lnbmF0dXJl"},
        {"site_id": "c993128b-26be-41cd-9fcd-904abe23462f"},
        [{"site_id": "1d2c6a64-3f21-4e36-9a1f-4c7f4b0a9e11"}, {"base_url": "https://evil.example.com"}],
    ),
    "prestashop": (
        dict(PrestaShopFake.default_credentials),
        {"store_url": "https://shop.example.com/shop", "timezone": "Europe/Paris"},
        [{"store_url": "https://shop.example.com/other"}, {"base_url": "https://evil.example.com"}],
    ),
    "shopware": (
        dict(ShopwareFake.default_credentials),
        {"store_url": "https://shop.example.com"},
        [{"store_url": "https://evil.example.com"}, {"base_url": "https://evil.example.com"},
         {"auth_url": "https://evil.example.com"}],
    ),
    "zoho_inventory": (
        ZOHO_CREDENTIALS,
        {"organization_id": ORG_ID, "data_center": "com"},
        [{"data_center": "eu"}, {"auth_url": "https://evil.example.com"},
         {"base_url": "https://evil.example.com"}, {"organization_id": "10234696"}],
    ),
    "magento": (
        dict(MagentoFake.default_credentials),
        {"store_url": "https://shop.example.com/m", "store_code": "default"},
        [{"store_url": "https://evil.example.com/m"}, {"store_code": "other"}, {"base_url": "https://evil.example.com"}],
    ),
    "ecwid": (
        dict(EcwidFake.default_credentials),
        {"store_id": "1003"},
        [{"store_id": "1004"}, {"base_url": "https://evil.example.com"}],
    ),
    "squarespace": (
        dict(SquarespaceFake.default_credentials),
        {},
        [{"base_url": "https://evil.example.com"}],
    ),
    "square": (
        {"access_token": "EAAAEOuLQObrVwJvCvoio2bG7f9aoBgEMFXb2pWVJ5vNVpMT"},
        {"environment": "production"},
        [{"environment": "sandbox"}, {"base_url": "https://evil.example.com"}, {"auth_url": "https://evil.example.com"}],
    ),
}


def h(tenant: Any) -> dict[str, str]:
    return {"x-api-key": tenant.api_key}


@pytest.mark.parametrize(
    "provider, change",
    [(provider, change) for provider, (_, _, changes) in CASES.items() for change in changes],
)
async def test_settings_only_patch_cannot_move_the_credentials(tmp_path, provider, change):
    credentials, settings, _ = CASES[provider]
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        conn_id, _ = await api.connection(tenant, provider, credentials, settings)
        refused = await api.client.patch(
            f"/connections/{conn_id}", json={"settings": {**settings, **change}}, headers=h(tenant)
        )
        assert refused.status_code == 400, refused.text
        problem = refused.json()
        assert problem["code"] == "invalid_request"
        assert all(name in problem["detail"] for name in change)
        assert "give the credentials again" in problem["detail"]
        stored = (await api.client.get(f"/connections/{conn_id}", headers=h(tenant))).json()
        assert all(stored["settings"].get(k) != v for k, v in change.items())
        # With the credentials given again, the same change is accepted.
        accepted = await api.client.patch(
            f"/connections/{conn_id}",
            json={"settings": {**settings, **change}, "credentials": credentials},
            headers=h(tenant),
        )
        assert accepted.status_code == 200, accepted.text


async def test_patch_that_drops_base_url_is_a_change_of_destination(tmp_path):
    """Settings are replaced whole: leaving base_url out sends the
    credentials to the default origin instead."""
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        settings = {"store_url": "https://shop.example.com", "base_url": "https://api.example.com"}
        conn_id, _ = await api.connection(tenant, "woocommerce", WOO_CREDENTIALS, settings)
        refused = await api.client.patch(
            f"/connections/{conn_id}", json={"settings": {"store_url": "https://shop.example.com"}},
            headers=h(tenant),
        )
    assert refused.status_code == 400 and "base_url" in refused.json()["detail"]


async def test_settings_only_patch_keeping_the_destination_is_accepted(tmp_path):
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        settings = {"organization_id": ORG_ID, "data_center": "com"}
        conn_id, _ = await api.connection(tenant, "woocommerce", WOO_CREDENTIALS,
                                          {"store_url": "https://shop.example.com/shop"})
        # The same store written another way is the same destination.
        same = await api.client.patch(
            f"/connections/{conn_id}", json={"settings": {"store_url": "HTTPS://shop.example.com/shop/"}},
            headers=h(tenant),
        )
        assert same.status_code == 200, same.text
        zoho_id, _ = await api.connection(tenant, "zoho_inventory", ZOHO_CREDENTIALS, settings)
        sandbox_id, _ = await api.connection(tenant, "sandbox", {}, {"size": 20})
        resized = await api.client.patch(
            f"/connections/{sandbox_id}", json={"settings": {"size": 10}}, headers=h(tenant)
        )
        assert resized.status_code == 200
        unchanged = await api.client.patch(
            f"/connections/{zoho_id}", json={"settings": settings}, headers=h(tenant)
        )
        assert unchanged.status_code == 200


async def test_the_attacker_origin_never_sees_the_stored_credentials(tmp_path):
    """The attack: move a WooCommerce connection to one's own server without
    knowing its keys, then read a customer so the keys are sent there."""
    store, attacker = WooCommerceFake(prefix=""), WooCommerceFake(prefix="")
    async with store.serve() as origin, attacker.serve() as evil, running_app(tmp_path) as api:
        tenant = await api.tenant()
        settings = {"store_url": "https://shop.example.com", "base_url": origin}
        conn_id, token = await api.connection(tenant, "woocommerce", WOO_CREDENTIALS, settings)
        moved = await api.client.patch(
            f"/connections/{conn_id}", json={"settings": {**settings, "base_url": evil}}, headers=h(tenant)
        )
        read = await api.get_customer(tenant, token, "25")
    assert moved.status_code == 400
    assert read.status_code == 200
    assert attacker.requests == []
    assert [r.headers["Authorization"] for r in store.requests] == [store.authorization]


async def _read(api: Harness, tenant: Any, token: str) -> Any:
    return await api.get_customer(tenant, token, CONTACT_ID)


async def test_moving_origin_with_credentials_drops_the_oauth_token(tmp_path):
    """A token minted by the old accounts server is never sent to the new
    origin: the new one mints its own."""
    old, new = ZohoInventoryFake(), ZohoInventoryFake(token_prefix="1000.new-token-")
    async with old.serve() as old_origin, new.serve() as new_origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        settings = {"organization_id": ORG_ID, "data_center": "com", "base_url": old_origin,
                    "auth_url": old_origin}
        conn_id, token = await api.connection(tenant, "zoho_inventory", ZOHO_CREDENTIALS, settings)
        assert (await _read(api, tenant, token)).status_code == 200
        assert old.minted and await api.runtime.store.load_oauth_token(conn_id) is not None
        moved = await api.client.patch(
            f"/connections/{conn_id}",
            json={"settings": {**settings, "base_url": new_origin, "auth_url": new_origin},
                  "credentials": ZOHO_CREDENTIALS},
            headers=h(tenant),
        )
        assert moved.status_code == 200, moved.text
        assert (await _read(api, tenant, token)).status_code == 200
    assert new.paths() == [TOKEN_PATH, f"{CONTACTS_PATH}/{CONTACT_ID}"]
    sent = [r.headers.get("Authorization", "") for r in new.requests]
    assert not any(minted in header for minted in old.minted for header in sent)
    assert sent[1] == f"Zoho-oauthtoken {new.minted[-1]}"
