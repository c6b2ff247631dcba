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
from typing import Any

import pytest
from aiohttp import web

from tests.harness import running_app
from tests.logtrap import trap  # noqa: F401 (the fixture)
from tests.support import Recorder, serve

WOO_KEY = "ck_4d2b8c5e9f1a3b7c6d0e2f4a8b9c1d3e5f7a9b0c"
WOO_SECRET = "cs_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
C7_APP_ID = "demo-app"
C7_SECRET = "Zk4pQ9sT2vX7yB1nM6cR3wL8hJ5dF0gA"
C7_CUSTOMER = "a36b6ff1-7190-49a0-895e-fd2c001eb2a6"

PROVIDERS: dict[str, dict[str, Any]] = {
    "woocommerce": {
        "credentials": {"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET},
        "settings": {"store_url": "https://shop.example.com"},
        "pair": (WOO_KEY, WOO_SECRET),
        "customer": "25",
        "paths": ["/wp-json/wc/v3/customers/{id}", "/wp-json/wc/v3/customers"],
        "error": lambda status, message: {"code": "woocommerce_rest_authentication_error",
                                          "message": message, "data": {"status": status}},
    },
    "commerce7": {
        "credentials": {"app_id": C7_APP_ID, "app_secret": C7_SECRET},
        "settings": {"tenant": "spectrawinery"},
        "pair": (C7_APP_ID, C7_SECRET),
        "customer": C7_CUSTOMER,
        "paths": ["/v1/customer/{id}", "/v1/customer/{id}/address", "/v1/customer"],
        "error": lambda status, message: {"statusCode": status, "type": "unauthorized", "message": message},
    },
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


def echoing_store(recorder: Recorder, spec: dict[str, Any], status: int) -> web.Application:
    """Answers every call with an error quoting the request's Authorization
    header whole and cut short, and the credentials bare."""
    user, password = spec["pair"]

    async def echo(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        encoded = header.removeprefix("Basic ")
        message = (
            f"Invalid request. Authorization: {header} (decoded {user}:{password}); "
            f"seen before as {encoded[:20]}… and …{encoded[8:40]}…"
        )
        return web.json_response(spec["error"](status, message), status=status)

    app = recorder.app()
    for path in spec["paths"]:
        app.router.add_get(path, echo)
    return app


@pytest.mark.parametrize("status, code", [(401, "provider_auth_failed"), (400, "provider_bad_response"),
                                          (503, "provider_unavailable")])
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_an_echoed_authorization_header_never_comes_out(tmp_path, trap, provider, status, code):  # noqa: F811
    spec = PROVIDERS[provider]
    recorder = Recorder()
    forms = secret_forms(*spec["pair"])
    if provider == "woocommerce":
        forms["consumer key"] = WOO_KEY
    async with serve(echoing_store(recorder, spec, status)) as origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        settings = {**spec["settings"], "base_url": origin}
        _, token = await api.connection(tenant, provider, spec["credentials"], settings)
        headers = {"x-api-key": tenant.api_key, "x-connection-token": token}
        responses = [
            await api.client.get(f"/ecommerce/customers/{spec['customer']}", headers=headers),
            await api.client.get("/ecommerce/customers", headers=headers),
            await api.client.post(
                "/connections?verify=true",
                json={"provider": provider, "credentials": spec["credentials"], "settings": settings},
                headers={"x-api-key": tenant.api_key},
            ),
        ]
    # Not vacuous: the store got the header and echoed it.
    assert recorder.requests and all(
        r.headers["Authorization"] == forms["Basic header"] for r in recorder.requests
    )
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
    recorder = Recorder()
    deep = b'{"id": 25, "meta_data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    async def nested(request: web.Request) -> web.Response:
        return web.Response(body=deep, content_type="application/json")

    app = recorder.app()
    for path in PROVIDERS["woocommerce"]["paths"]:
        app.router.add_get(path, nested)
    async with serve(app) as origin, running_app(tmp_path) as api:
        tenant = await api.tenant()
        settings = {**PROVIDERS["woocommerce"]["settings"], "base_url": origin}
        _, token = await api.connection(tenant, "woocommerce", PROVIDERS["woocommerce"]["credentials"], settings)
        headers = {"x-api-key": tenant.api_key, "x-connection-token": token}
        one = await api.client.get("/ecommerce/customers/25", headers=headers)
        listed = await api.client.get("/ecommerce/customers", headers=headers)
    for response in (one, listed):
        assert response.status_code == 502, response.text
        assert response.json()["code"] == "provider_bad_response"
        assert "nested too deeply" in response.json()["detail"]
