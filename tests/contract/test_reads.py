"""Every provider's reads and their failures, through the app, against its fake.

Get one, not found (and a malformed id refused without a call), rejected
credentials, the platform's 429 with its wait signal, 5xx with and without
retries, a malformed and a truncated body, another customer than asked,
and verification. The codes are the error table's (DESIGN.md "Errors",
proxy/problems.py); retries are the shared policy's (502/503/504 and 429,
never 500 or a 4xx).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, AsyncIterator

import pytest

from providers import calls
from providers.errors import ProviderRateLimited
from tests.contract import Client, connect
from tests.fakes import Fake
from tests.harness import running_app

OVERRIDES = {"retry_attempts": 3}


@contextlib.asynccontextmanager
async def relay(tmp_path: Any, fake: Fake, credentials: dict[str, str] | None = None, **overrides: Any) -> AsyncIterator[Client]:
    """The app and ``fake``, and a connection between them."""
    async with fake.serve() as origin, running_app(tmp_path, **{**OVERRIDES, **overrides}) as api:
        _, client = await connect(api, await api.tenant(), fake, origin, credentials)
        yield client


def problem_of(response: Any, status: int, code: str, fake: Fake) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["provider"]) == (code, fake.provider), problem
    return problem


async def test_get_one_customer(tmp_path, fake):
    wanted = fake.ids[3]
    async with relay(tmp_path, fake) as client:
        response = await client.get(wanted, remote_data="true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == body["remote_id"] == wanted
    assert fake.customer_id(body["remote_data"]) == wanted  # the platform's own JSON
    assert fake.count("get") == 1


async def test_a_missing_customer_is_not_found(tmp_path, fake):
    async with relay(tmp_path, fake) as client:
        response = await client.get(fake.missing_id)
    problem_of(response, 404, "customer_not_found", fake)
    assert fake.count("get") == 1  # asked, not guessed


async def test_a_malformed_id_is_not_found_without_a_call(tmp_path, fake):
    async with relay(tmp_path, fake) as client:
        response = await client.get(fake.malformed_id)
    problem_of(response, 404, "customer_not_found", fake)
    assert fake.requests == []  # not even a token


async def test_rejected_credentials(tmp_path, fake):
    wrong = fake.wrong_credentials()
    async with relay(tmp_path, fake, credentials=wrong) as client:
        response = await client.get(fake.ids[0])
    problem = problem_of(response, 502, "provider_auth_failed", fake)  # never our own 401
    assert problem["remote_status"] == fake.refused_status
    assert fake.count("get") <= 1 and fake.token_requests() <= 1  # never retried
    assert not [v for v in [*wrong.values(), *fake.secrets()] if v in response.text]


async def test_rate_limit_passes_on_the_platforms_wait(tmp_path, fake):
    # A deadline the wait cannot fit in: the 429 comes back at once.
    async with relay(tmp_path, fake, request_timeout=1.0) as client:
        answer = fake.rate_limit(times=None)
        response = await client.get(fake.ids[0])
    problem = problem_of(response, 429, "provider_rate_limited", fake)
    assert problem["remote_status"] == answer.status
    wait = fake.retry_after
    assert response.headers["Retry-After"] == str(max(1, math.ceil(wait)) if wait else 1)
    assert fake.count("get") == 1


async def test_rate_limit_reports_the_platforms_wait(fake, upstream_client):
    """Through the Provider API: the wait the module read, exactly."""
    async with fake.serve() as origin:
        provider = fake.make_provider(origin, upstream_client)
        answer = fake.rate_limit(times=None)
        calls.begin(timeout=1.0)  # the wait does not fit: surface it, no sleep
        with pytest.raises(ProviderRateLimited) as caught:
            await provider.get_customer(fake.ids[0])
    assert caught.value.retry_after == pytest.approx(fake.retry_after)
    assert caught.value.remote_status == answer.status


@pytest.mark.parametrize("status, attempts", [(500, 1), (503, 3)])
async def test_server_errors_are_unavailable(tmp_path, fake, status, attempts):
    async with relay(tmp_path, fake) as client:
        fake.answer(fake.server_error(status), times=None)
        response = await client.get(fake.ids[0])
    problem = problem_of(response, 502, "provider_unavailable", fake)
    assert problem["remote_status"] == status
    assert fake.count("get") == attempts  # 503 is retried, 500 is not


@pytest.mark.parametrize("fault", ["malformed", "truncated"])
async def test_a_body_that_does_not_parse_is_a_bad_response(tmp_path, fake, fault):
    async with relay(tmp_path, fake) as client:
        getattr(fake, fault)(times=None)
        one = await client.get(fake.ids[0])
        listed, _ = await client.list(limit=5)
    for response in (one, listed):
        assert problem_of(response, 502, "provider_bad_response", fake)["remote_status"] == 200
    assert fake.count("get") == 1  # not retried


async def test_another_customer_than_asked_is_refused(tmp_path, fake):
    if fake.answer_id_unchecked:
        pytest.skip(f"{fake.provider}: {fake.answer_id_unchecked}")
    async with relay(tmp_path, fake) as client:
        fake.another_customer()
        response = await client.get(fake.ids[0])
    problem_of(response, 502, "provider_bad_response", fake)


async def test_verification_makes_one_live_call(tmp_path, fake):
    async with fake.serve() as origin, running_app(tmp_path, **OVERRIDES) as api:
        tenant = await api.tenant()
        headers = {"x-api-key": tenant.api_key}

        async def create(credentials: dict[str, str]) -> Any:
            body = {"provider": fake.provider, "credentials": credentials, "settings": fake.settings(origin)}
            return await api.client.post("/connections?verify=true", json=body, headers=headers)

        refused = await create(fake.wrong_credentials())
        calls_refused = fake.count()
        accepted = await create(fake.credentials)
        listed = (await api.client.get("/connections", headers=headers)).json()["data"]
    problem = problem_of(refused, 422, "verification_failed", fake)
    assert problem["remote_status"] == fake.refused_status
    assert accepted.status_code == 201, accepted.text
    assert [c["id"] for c in listed] == [accepted.json()["id"]]  # the refused one was not stored
    assert calls_refused <= 1 and fake.count() - calls_refused == 1  # one cheap call each
