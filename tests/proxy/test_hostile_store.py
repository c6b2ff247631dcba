"""A hostile store (issue 11): anyone can run a WooCommerce site.

Item 11: a store that echoes the ``Authorization`` header in its error body.
Every provider using HTTP Basic (WooCommerce, Commerce7) must keep every form
of the credentials out of problem+json bodies and logs: the raw key and
secret, ``key:secret`` in base64 (padded or not), ``Basic <b64>``, and a
piece of the base64 (an echo the store cut short).

Item 10, the store's side: JSON nested past what the decoder recurses
through is a bad response, not a 500."""

from __future__ import annotations

import base64
from typing import Callable

import pytest
from aiohttp import web

from tests.fakes import Fake
from tests.fakes.commerce7 import Commerce7Fake
from tests.fakes.woocommerce import WooCommerceFake
from tests.harness import running_app
from tests.logtrap import trap  # noqa: F401 (the fixture)

# The providers using HTTP Basic, each a store of its fake (tests/fakes/).
STORES: dict[str, Callable[[], Fake]] = {
    "woocommerce": lambda: WooCommerceFake(prefix=""),
    "commerce7": Commerce7Fake,
}


def secret_forms(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {
        "password": password,
        "base64 pair": encoded,
        "base64 pair without padding": encoded.rstrip("="),
        "Basic header": f"Basic {encoded}",
        "a piece of the base64 pair": encoded[:20],
        "the base64 pair from its 8th character": encoded[8:40],
    }


@pytest.mark.parametrize("status, code", [(401, "provider_auth_failed"), (400, "provider_bad_response"),
                                          (503, "provider_unavailable")])
@pytest.mark.parametrize("provider", sorted(STORES))
async def test_an_echoed_authorization_header_never_comes_out(tmp_path, trap, provider, status, code):  # noqa: F811
    store = STORES[provider]()
    store.echo_credentials(status)  # every call answered with an error quoting what it carried
    user, password = store.credentials.values()
    forms = secret_forms(user, password)
    if provider == "woocommerce":
        forms["consumer key"] = user
    async with store.serve() as origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        settings = store.settings(origin)
        _, token = await api.connection(tenant, provider, store.credentials, settings)
        headers = {"x-api-key": tenant.api_key, "x-connection-token": token}
        responses = [
            await api.client.get(f"/ecommerce/customers/{store.ids[0]}", headers=headers),
            await api.client.get("/ecommerce/customers", headers=headers),
            await api.client.post(
                "/connections?verify=true",
                json={"provider": provider, "credentials": store.credentials, "settings": settings},
                headers={"x-api-key": tenant.api_key},
            ),
        ]
    # Not vacuous: the store got the header and echoed it.
    assert store.requests and all(r.headers["Authorization"] == forms["Basic header"] for r in store.requests)
    one, listed, verified = responses
    assert one.status_code == listed.status_code == 502
    assert one.json()["code"] == listed.json()["code"] == code
    assert verified.status_code == (422 if status == 401 else 502)
    for response in responses:
        assert response.headers["content-type"] == "application/problem+json"
        assert "[redacted]" in response.json()["detail"], response.text
        text = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        leaked = [name for name, value in forms.items() if value in text]
        assert not leaked, f"{leaked} in {text}"
    assert trap.texts
    for line in trap.texts:
        leaked = [name for name, value in forms.items() if value in line]
        assert not leaked, f"{leaked} in a log line: {line[:300]}"


async def test_json_nested_past_the_decoder_is_a_bad_response(tmp_path):
    """A store answering 100,000 levels of nesting was a 500 (RecursionError)."""
    deep = b'{"id": 25, "meta_data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    async def nested(request: web.Request) -> web.Response:
        # The collection answers a list: the deep customer as its item.
        body = deep if request.match_info else b"[" + deep + b"]"
        return web.Response(body=body, content_type="application/json")

    store = WooCommerceFake(prefix="")
    store.answer_with(nested, times=None)
    async with store.serve() as origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "woocommerce", store.credentials, store.settings(origin))
        headers = {"x-api-key": tenant.api_key, "x-connection-token": token}
        one = await api.client.get("/ecommerce/customers/25", headers=headers)
        listed = await api.client.get("/ecommerce/customers", headers=headers)
    for response in (one, listed):
        assert response.status_code == 502, response.text
        assert response.json()["code"] == "provider_bad_response"
        assert "nested too deeply" in response.json()["detail"]
