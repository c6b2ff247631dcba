"""A URL setting whose host DNS cannot hold (an empty label, a label over 63
characters, a name over 253): refused at creation with a 400 naming the
setting, and a row stored before that check answers the guard's 502, never a
500 (getaddrinfo raises UnicodeError on such names, not OSError)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from tests.harness import running_app
from tests.proxy.test_connection_destination import CASES

BAD_HOSTS = ["https://a..b", "https://.", "https://" + "a" * 300 + ".com", "https://" + "a" * 64 + ".com"]
# (provider, the URL setting) for the three platforms the review named.
SETTINGS = [("woocommerce", "store_url"), ("bigcommerce", "base_url"), ("zoho_inventory", "auth_url")]


def h(tenant: Any, token: str | None = None) -> dict[str, str]:
    return {"x-api-key": tenant.api_key, **({"x-connection-token": token} if token else {})}


@pytest.mark.parametrize("provider, setting", SETTINGS)
@pytest.mark.parametrize("url", BAD_HOSTS)
async def test_a_malformed_host_is_refused_at_creation(tmp_path, provider, setting, url):
    credentials, settings, _ = CASES[provider]
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        response = await api.client.post("/connections", headers=h(tenant), json={
            "provider": provider, "credentials": credentials, "settings": {**settings, setting: url},
        })
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_request"
        assert setting in response.json()["detail"]
        # A well-formed name of the same shape is accepted: the check is the host's.
        response = await api.client.post("/connections", headers=h(tenant), json={
            "provider": provider, "credentials": credentials,
            "settings": {**settings, setting: "https://" + "a" * 63 + ".example.com"},
        })
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("provider, setting", SETTINGS)
@pytest.mark.parametrize("url", BAD_HOSTS[:3])
async def test_a_stored_malformed_host_is_a_502_not_a_500(tmp_path, provider, setting, url):
    credentials, settings, _ = CASES[provider]
    # The guard as deployed (private networks refused), so the answer is the
    # guard's single host-refused one.
    async with running_app(tmp_path, allow_private_networks=False) as api:
        tenant = await api.tenant()
        conn_id, token = await api.connection(tenant, provider, credentials, settings)
        # A row stored before creation checked host names.
        with sqlite3.connect(tmp_path / "shoprelay.db") as db:
            db.execute("UPDATE connections SET settings = ? WHERE id = ?",
                       (json.dumps({**settings, setting: url}), conn_id))
        for path in ("/ecommerce/customers/25", "/ecommerce/customers"):
            response = await api.client.get(path, headers=h(tenant, token))
            assert response.status_code == 502, (path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
