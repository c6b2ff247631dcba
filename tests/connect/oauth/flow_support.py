"""What the Wix and Zoho flow tests share: a provider app, a flow context
over a real ``UpstreamClient`` (the flow called directly, without the
routes), and a browser hop that reads one redirect."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import urllib.parse
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx

from proxy.provider_apps import ResolvedApp
from tests.connect.oauth.conftest import RETURN_URL
from tests.connect.oauth.test_shopify import assert_no_token_in

CALLBACK = "http://shoprelay.test/connect/oauth/{provider}/callback"


def App(provider: str, client_id: str, client_secret: str, settings: dict[str, Any],
        scopes: list[str] | None = None) -> ResolvedApp:
    """An operator's default app, as provider_apps.resolve gives it."""
    return ResolvedApp(provider=provider, client_id=client_id, client_secret=client_secret, scopes=scopes or [],
                       settings=settings, owner="operator", tenant_id=None)


class Context:
    """The flow's view of the framework: the app, the HTTP client, the
    callback URL and the attempts it minted (state -> data)."""

    def __init__(self, app: App, http: Any) -> None:
        self.app, self.http = app, http
        self.redirect_uri = CALLBACK.format(provider=app.provider)
        self.attempts: dict[str, dict] = {}

    async def new_state(self, data: dict) -> str:
        state = secrets.token_urlsafe(32)
        self.attempts[state] = data
        return state


async def follow(url: str) -> dict[str, str]:
    """The browser at the platform: one hop, the redirect's query read."""
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 302, response.text
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["location"]).query))


async def subscribed(oauth: Any) -> None:
    """The tenant has a webhook URL, so connection events are written."""
    patched = await oauth.connect.api.patch("/tenant", json={"webhook_url": "http://127.0.0.1:9/hooks"},
                                            headers={"x-api-key": oauth.tenant.api_key})
    assert patched.status_code == 200, patched.text


async def needs_reauth_and_told(oauth: Any, connection_id: str) -> None:
    """The platform refused a new token for good: the connection says so and
    the tenant got connection.auth_failed for it, once."""
    assert (await oauth.store.get_connection(connection_id)).status == "needs_reauth"
    events = await oauth.store.list_webhook_events(oauth.tenant.id)
    failed = [e for e in events if e.type == "connection.auth_failed"]
    assert len(failed) == 1 and connection_id in failed[0].payload


class Secrets:
    """A fake's secrets but its client id: an OAuth client id is public and
    goes through the browser (Zoho's ``client_id``, Wix's ``appId``)."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake

    def secrets(self) -> list[str]:
        return [s for s in self.fake.secrets() if s != self.fake.credentials.get("client_id")]


# -- the end-to-end hostile cases every flow shares --------------------------------------------


async def refused_without_a_trace(oauth: Any, fake: Any, response: Any, before: dict[str, int], session_id: str,
                                  *, status: int, says: str, session: str = "pending") -> None:
    """The merchant reads why on an HTML page; nothing was stored; the
    session is as expected; no secret is in the URL."""
    assert response.status_code == status, response.text
    assert says in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert await oauth.stored() == before
    assert (await oauth.session_status(session_id))["status"] == session
    assert_no_token_in([str(response.request.url)], fake)


@dataclasses.dataclass
class Install:
    """One platform's install as the end-to-end tests drive it."""

    fake: Any
    app: Callable[[Any, str], Awaitable[None]]  # (oauth, the fake's origin): the provider app set
    callback: Callable[[Any], Awaitable[str]]  # (merchant): button + consent -> our callback URL


@dataclasses.dataclass
class Pending:
    """A merchant with an open session, and what the store held then."""

    oauth: Any
    install: Install
    merchant: Any
    session: dict[str, Any]
    before: dict[str, int]

    async def refused(self, response: Any, *, status: int, says: str, session: str = "pending") -> None:
        await refused_without_a_trace(self.oauth, Secrets(self.install.fake), response, self.before,
                                      self.session["id"], status=status, says=says, session=session)


@contextlib.asynccontextmanager
async def pending(oauth: Any, install: Install) -> AsyncIterator[Pending]:
    async with install.fake.serve() as origin, oauth.merchant() as merchant:
        await install.app(oauth, origin)
        session = await merchant.open(return_url=RETURN_URL)
        yield Pending(oauth, install, merchant, session, await oauth.stored())


async def another_browsers_state_is_refused(oauth: Any, install: Install) -> None:
    """A login CSRF: the attacker's callback in the victim's browser."""
    async with install.fake.serve() as origin, oauth.merchant() as victim, oauth.merchant() as attacker:
        await install.app(oauth, origin)
        await attacker.open(end_user_id="attacker", return_url=RETURN_URL)
        callback = await install.callback(attacker)
        ours = await victim.open(end_user_id="victim", return_url=RETURN_URL)
        before = await oauth.stored()
        response = await victim.back(callback)
        await refused_without_a_trace(oauth, Secrets(install.fake), response, before, ours["id"], status=403,
                                      says="did not start in this browser")
    assert install.fake.token_requests() == 0


async def a_callback_after_expiry_stores_nothing(oauth: Any, install: Install) -> None:
    async with pending(oauth, install) as p:
        callback = await install.callback(p.merchant)
        await oauth.connect.expire(p.session["id"])
        await p.refused(await p.merchant.back(callback), status=410, says="expired", session="expired")
    assert install.fake.token_requests() == 0


async def completed_and_read(oauth: Any, merchant: Any, callback: str, fake: Any) -> dict[str, Any]:
    """The callback lands on the return URL with a code; the tenant trades
    it and reads a customer with the new connection token."""
    done = await merchant.back(callback)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(RETURN_URL + "?")
    body = await oauth.exchange(done.headers["location"])
    read = await oauth.read_customer(body["connection_token"], fake.ids[0])
    assert read.status_code == 200, read.text
    assert read.json()["id"] == fake.ids[0]
    return body
