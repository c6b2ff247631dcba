"""The admin bearer: guessing is throttled per address, a short token stops
startup, and the token is never adopted (so never logged) as a request id."""

import logging

import pytest

from tests.harness import running_app
from tests.proxy.test_cli import run

ADMIN = "admin-token-hardening-0123456789abcdef"


def bearer(token):
    return {"authorization": f"Bearer {token}"}


async def test_wrong_admin_tokens_are_throttled_but_the_right_one_passes(tmp_path):
    async with running_app(tmp_path, admin_token=ADMIN, auth_failures_per_minute=5) as api:
        codes = []
        for n in range(8):
            response = await api.client.get("/admin/tenants", headers=bearer(f"guess-{n:032d}"))
            codes.append((response.status_code, response.json()["code"]))
        assert codes[:5] == [(401, "invalid_admin_token")] * 5
        assert set(codes[5:]) == {(429, "rate_limited")}
        limited = await api.client.post("/admin/tenants", json={"name": "x"}, headers=bearer("nope"))
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        # The right token is never refused, even from the throttled address.
        assert (await api.client.get("/admin/tenants", headers=bearer(ADMIN))).status_code == 200
        created = await api.client.post("/admin/tenants", json={"name": "acme"}, headers=bearer(ADMIN))
        assert created.status_code == 201
        # One budget per address: API-key guesses from there are refused too.
        response = await api.client.get("/connections", headers={"x-api-key": "sk_" + "7" * 43})
        assert response.status_code == 429


async def test_the_admin_token_is_never_adopted_as_a_request_id(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with running_app(tmp_path, admin_token=ADMIN) as api:
        for path, headers in (
            ("/health", {}),
            ("/admin/tenants", bearer(ADMIN)),
            ("/admin/tenants", bearer("wrong")),
            ("/no-such-route", {}),
        ):
            response = await api.client.get(path, headers={**headers, "x-request-id": ADMIN})
            assert response.headers["x-request-id"].startswith("req_"), path
            assert ADMIN not in response.text
        # An ordinary client id is still adopted.
        ordinary = await api.client.get("/health", headers={"x-request-id": "client-id-123456"})
        assert ordinary.headers["x-request-id"] == "client-id-123456"
    logged = [str(value) for record in caplog.records for value in vars(record).values()]
    assert logged and not any(ADMIN in value for value in logged)


@pytest.mark.parametrize("command", [("serve", "--port", "1"), ("tenants", "list")])
def test_a_short_admin_token_stops_startup_naming_the_variable(tmp_path, command):
    short = "too-short-admin-token-1234567"  # 29 characters
    result = run(tmp_path, *command, env_extra={"SHOPRELAY_ADMIN_TOKEN": short}, check=False)
    assert result.returncode == 1
    assert "SHOPRELAY_ADMIN_TOKEN" in result.stderr and "32" in result.stderr
    assert short not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_32_character_admin_token_is_accepted(tmp_path):
    result = run(tmp_path, "tenants", "list", env_extra={"SHOPRELAY_ADMIN_TOKEN": "a" * 32})
    assert result.returncode == 0
