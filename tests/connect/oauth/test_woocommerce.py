"""WooCommerce's key handoff end to end through HTTP, against the fake store
(tests/fakes/woocommerce.py): a session, the store URL typed, wc-auth's
authorize page, the keys POSTed server to server to
``/connect/woocommerce/keys/{handle}``, the browser back at our callback and
on to the tenant with a connect code, the code exchanged, a customer read.
Hostile POSTs (wrong handle or user_id, replays, keys the store refuses, a
closed session) store nothing and are answered with problem+json."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, AsyncIterator

import pytest

from tests.connect.conftest import RETURN_URL, Connect, app_on
from tests.connect.oauth.bcwoo_support import (
    PUBLIC, connections, events, exchanged, logged_secrets, merchant, no_secret_in, webhooks,
)
from tests.fakes.woocommerce import SEND_FAILED, WooCommerceFake
from tests.logtrap import Trap, trap  # noqa: F401 (the fixture)

KEYS = f"{PUBLIC}/connect/woocommerce/keys/"


@pytest.fixture(params=["sqlite", "postgresql"])
async def connect(request, tmp_path) -> AsyncIterator[Connect]:
    async with app_on(request, tmp_path, PUBLIC) as connect:
        yield connect


@pytest.fixture
async def store(connect) -> AsyncIterator[tuple[WooCommerceFake, str]]:
    """The merchant's store; its POST reaches the app the way a server would."""
    fake = WooCommerceFake()

    async def deliver(url: str, body: bytes) -> int:
        assert url.startswith(KEYS), url
        answer = await connect.api.post(url[len(PUBLIC):], content=body,
                                        headers={"content-type": "application/json;charset=UTF-8"})
        fake.answers.append(answer)
        return answer.status_code

    fake.deliver = deliver
    fake.answers = []  # type: ignore[attr-defined]
    async with fake.serve() as origin:
        yield fake, f"{origin}/shop"


async def authorize(browser: Any, store_url: str) -> tuple[Any, str]:
    """Type the store URL, go to wc-auth; returns the store's answer and
    the authorize URL."""
    started = await browser.start("woocommerce", store_url=store_url)
    assert started.status_code == 303, started.text
    url = started.headers["location"]
    return await browser.get(url), url


async def test_keys_connect_the_store_and_a_customer_is_read(connect, store, trap: Trap):  # noqa: F811
    fake, store_url = store
    tenant = await connect.tenant("Acme Reviews")
    session = await connect.session(tenant, providers=["woocommerce"], return_url=RETURN_URL)
    async with webhooks(connect, tenant), merchant(connect, session["connect_url"]) as browser:
        answer, url = await authorize(browser, store_url)
        sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        assert url.startswith(f"{store_url}/wc-auth/v1/authorize?")
        assert sent["app_name"] == "Acme Reviews" and sent["scope"] == "read"
        handle = sent["callback_url"].removeprefix(KEYS)
        assert len(handle) >= 22 and len(sent["user_id"]) >= 22 and handle != sent["user_id"]
        assert sent["return_url"].startswith(f"{PUBLIC}/connect/oauth/woocommerce/callback")
        assert fake.answers[0].status_code == 200, fake.answers[0].text
        back = await browser.follow(answer)
        assert back.status_code == 303, back.text
        connection = await exchanged(connect, tenant, back.headers["location"])
        read = await connect.harness.get_customer(tenant, connection["connection_token"], "25")
        assert read.status_code == 200, read.text
        no_secret_in(browser.visited, fake.secrets())
        assert "connection.created" in await events(connect, tenant)
        # The browser coming back again gets no second code.
        again = await browser.get(answer.headers["location"])
        assert again.status_code == 410
    (stored,) = await connections(connect, tenant)
    assert stored["settings"]["store_url"] == store_url
    assert trap.access(), "the requests were logged..."
    leaks = logged_secrets(trap, [*fake.secrets(), connection["connection_token"], back.headers["location"]])
    assert leaks == [], leaks[:2]  # ...without the keys, the connect code or the connection token


async def test_the_connection_stands_when_the_browser_never_returns(connect, store):
    fake, store_url = store
    tenant = await connect.tenant()
    session = await connect.session(tenant, providers=["woocommerce"])
    async with webhooks(connect, tenant), merchant(connect, session["connect_url"]) as browser:
        answer, _ = await authorize(browser, store_url)
        assert answer.status_code == 302  # and the browser closes here
        assert "connection.created" in await events(connect, tenant)
    assert len(await connections(connect, tenant)) == 1
    assert (await connect.status(tenant, session["id"])).json()["status"] == "completed"


async def keys_post(connect: Connect, path: str, body: Any, content_type: str = "application/json") -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await connect.api.post(path, content=content, headers={"content-type": content_type})


async def pending_attempt(connect: Connect, store_url: str) -> tuple[Any, str, str, dict[str, Any]]:
    """A started attempt whose store has not posted yet: (tenant, handle, user_id, session)."""
    tenant = await connect.tenant()
    session = await connect.session(tenant, providers=["woocommerce"])
    async with merchant(connect, session["connect_url"]) as browser:
        started = await browser.start("woocommerce", store_url=store_url)
    sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(started.headers["location"]).query))
    return tenant, sent["callback_url"].removeprefix(KEYS), sent["user_id"], session


def body_for(user_id: str, fake: Any) -> dict[str, Any]:
    return {"key_id": 7, "user_id": user_id, "key_permissions": "read", **fake.credentials}


@pytest.mark.parametrize("wrong", ["handle", "user_id"])
async def test_a_post_with_a_wrong_handle_or_user_id_is_refused(connect, store, wrong):
    fake, store_url = store
    tenant, handle, user_id, _ = await pending_attempt(connect, store_url)
    flip = lambda s: s[:-1] + ("A" if s[-1] != "A" else "B")  # noqa: E731
    path = f"/connect/woocommerce/keys/{flip(handle) if wrong == 'handle' else handle}"
    refused = await keys_post(connect, path, body_for(flip(user_id) if wrong == "user_id" else user_id, fake))
    assert refused.status_code == 404, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert fake.requests == [] or all(k == "consent" for k in fake.kinds)  # not even tested on the store
    assert await connections(connect, tenant) == []
    # The real POST still works: a guess does not spend the attempt.
    accepted = await keys_post(connect, f"/connect/woocommerce/keys/{handle}", body_for(user_id, fake))
    assert accepted.status_code == 200, accepted.text


async def test_a_replayed_post_stores_nothing_more(connect, store):
    fake, store_url = store
    tenant, handle, user_id, _ = await pending_attempt(connect, store_url)
    first = await keys_post(connect, f"/connect/woocommerce/keys/{handle}", body_for(user_id, fake))
    assert first.status_code == 200, first.text
    again = await keys_post(connect, f"/connect/woocommerce/keys/{handle}", body_for(user_id, fake))
    assert again.status_code == 404
    assert len(await connections(connect, tenant)) == 1


async def test_keys_the_store_refuses_store_nothing_and_the_merchant_sees_why(connect, store):
    fake, store_url = store
    fake.working_keys = False
    tenant = await connect.tenant()
    session = await connect.session(tenant, providers=["woocommerce"], return_url=RETURN_URL)
    async with merchant(connect, session["connect_url"]) as browser:
        answer, url = await authorize(browser, store_url)
        # We refused the keys, so WooCommerce deleted them and says so.
        assert fake.answers[0].status_code == 422
        assert fake.answers[0].headers["content-type"].startswith("application/problem+json")
        assert answer.status_code == 401 and SEND_FAILED in answer.text
        # Were the browser to come back, it is told why.
        sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        back = await browser.get(f"{sent['return_url']}&success=1&user_id={sent['user_id']}")
        assert back.status_code == 422 and "did not work" in back.text
        no_secret_in([back.text], fake.secrets())
    assert await connections(connect, tenant) == []
    assert (await connect.status(tenant, session["id"])).json()["status"] == "pending"


async def test_keys_without_read_access_are_refused(connect, store):
    fake, store_url = store
    tenant, handle, user_id, _ = await pending_attempt(connect, store_url)
    refused = await keys_post(connect, f"/connect/woocommerce/keys/{handle}",
                              {**body_for(user_id, fake), "key_permissions": "write"})
    assert refused.status_code == 422 and refused.json()["code"] == "verification_failed", refused.text
    assert await connections(connect, tenant) == []


async def test_keys_after_the_session_expired_store_nothing(connect, store):
    fake, store_url = store
    tenant, handle, user_id, session = await pending_attempt(connect, store_url)
    await connect.expire(session["id"])
    refused = await keys_post(connect, f"/connect/woocommerce/keys/{handle}", body_for(user_id, fake))
    assert refused.status_code == 404, refused.text
    assert await connections(connect, tenant) == []


async def test_the_merchant_denying_fails_the_session(connect, store):
    fake, store_url = store
    fake.consent = False
    tenant = await connect.tenant()
    session = await connect.session(tenant, providers=["woocommerce"])
    async with merchant(connect, session["connect_url"]) as browser:
        answer, _ = await authorize(browser, store_url)
        back = await browser.follow(answer)
        assert back.status_code == 400 and "did not approve" in back.text
    status = (await connect.status(tenant, session["id"])).json()
    assert status["status"] == "failed" and status["error"] == "access_denied"
    assert await connections(connect, tenant) == []


@pytest.mark.parametrize("content_type,body,status", [
    ("text/plain", b"{}", 415),
    ("application/json", b"{not json", 400),
    ("application/json", b'{"user_id": 1}', 400),
    ("application/json", b"{" + b" " * 5000 + b"}", 413),
])
async def test_a_malformed_post_is_a_problem_not_a_page(connect, store, content_type, body, status):
    fake, store_url = store
    tenant, handle, _, _ = await pending_attempt(connect, store_url)
    refused = await keys_post(connect, f"/connect/woocommerce/keys/{handle}", body, content_type)
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await connections(connect, tenant) == []


@pytest.mark.parametrize("typed,said", [
    ("ftp://example.com/shop", "http(s) URL"),
    ("https://example.com/wp-json", "WordPress site URL"),
    ("https://user:pw@example.com", "user name or password"),
])
async def test_a_bad_store_url_is_refused_before_leaving(connect, typed, said):
    tenant = await connect.tenant()
    session = await connect.session(tenant, providers=["woocommerce"])
    async with merchant(connect, session["connect_url"]) as browser:
        answer = await browser.start("woocommerce", store_url=typed)
        assert answer.status_code in (400, 422), answer.text
        assert said in answer.text
    assert (await connect.status(tenant, session["id"])).json()["status"] == "pending"
