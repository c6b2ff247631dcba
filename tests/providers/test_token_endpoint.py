"""TokenEndpoint (providers.token_endpoint) against a local token endpoint.

The endpoint answers from a script, one answer per request (the last one
repeats), and records what it was sent: how the grant travels, the token's
lifetime, rotated refresh tokens, which refusals mark the connection
needs-reauth (and which must not), the platform hooks, and single-flight
minting under a cold burst of requests.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from typing import Any

import msgspec
import pytest
from aiohttp import web

from providers.base import CommonSettings, Provider
from providers.errors import (
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderRateLimited,
    ProviderUnavailable,
    ReauthRequired,
)
from providers.token_endpoint import TokenEndpoint, client_credentials, refresh_token
from providers.tokens import AccessToken, MemoryTokenStore
from tests.support import Recorder, serve

CLIENT_ID, CLIENT_SECRET = "kit-app", "kit-secret-5e4d3c2b1a"
REFRESH = "1000.refresh-original.abc"
GRANT = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
TOKEN = {"access_token": "minted-1", "token_type": "Bearer", "expires_in": 3600}


class TokenUpstream:
    """``answers``: (status, body, headers); a bytes body goes as is."""

    def __init__(self, *answers: tuple[int, Any, dict[str, str]] | dict[str, Any]) -> None:
        self.answers = [a if isinstance(a, tuple) else (200, a, {}) for a in answers]
        self.recorder = Recorder()

    def app(self) -> web.Application:
        async def token(request: web.Request) -> web.StreamResponse:
            status, body, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            if isinstance(body, bytes):
                return web.Response(body=body, status=status, headers=headers, content_type="text/html")
            return web.json_response(body, status=status, headers=headers)

        app = self.recorder.app()
        app.router.add_post("/oauth/token", token)
        app.router.add_get("/things", self.things)
        return app

    async def things(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": request.headers.get("Authorization")})

    @property
    def minted(self) -> int:
        return sum(r.path == "/oauth/token" for r in self.recorder.requests)

    def form(self, i: int = -1) -> dict[str, str]:
        """The fields of a token request sent as a form."""
        bodies = [b for r, b in zip(self.recorder.requests, self.recorder.bodies) if r.path == "/oauth/token"]
        return dict(urllib.parse.parse_qsl(bodies[i].decode()))


def endpoint(origin: str, http: Any, store: MemoryTokenStore | None = None, **options: Any) -> TokenEndpoint:
    return TokenEndpoint("Kit", http, origin + "/oauth/token", GRANT, store=store or MemoryTokenStore(), **options)


# -- sending the grant ---------------------------------------------------------------


async def test_the_grant_goes_as_a_form_by_default(upstream_client):
    upstream = TokenUpstream(TOKEN)
    async with serve(upstream.app()) as origin:
        token = await endpoint(origin, upstream_client).mint()
    request = upstream.recorder.requests[0]
    assert request.method == "POST" and request.content_type == "application/x-www-form-urlencoded"
    assert upstream.form() == GRANT and not request.query
    assert token.access_token == "minted-1"


async def test_the_grant_as_json(upstream_client):
    upstream = TokenUpstream(TOKEN)
    async with serve(upstream.app()) as origin:
        await endpoint(origin, upstream_client, send="json").mint()
    assert upstream.recorder.requests[0].content_type == "application/json"
    assert json.loads(upstream.recorder.bodies[0]) == GRANT and not upstream.recorder.requests[0].query


async def test_the_grant_in_the_query(upstream_client):
    upstream = TokenUpstream(TOKEN)
    async with serve(upstream.app()) as origin:
        await endpoint(origin, upstream_client, send="query").mint()
    assert dict(upstream.recorder.requests[0].query) == GRANT and upstream.recorder.bodies[0] == b""


# -- the answer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "expires_in,lifetime",
    [(120, 120), (None, 999), (0, 999), (-60, 999), ("3600", 999), (True, 999), (86400.5, 86400.5)],
)
async def test_the_lifetime_is_expires_in_or_the_default(upstream_client, expires_in, lifetime):
    body = {"access_token": "minted-1"} if expires_in is None else {"access_token": "minted-1", "expires_in": expires_in}
    async with serve(TokenUpstream(body).app()) as origin:
        before = time.time()
        token = await endpoint(origin, upstream_client, lifetime=999).mint()
        after = time.time()
    assert before + lifetime <= token.expires_at <= after + lifetime


@pytest.mark.parametrize("named, lifetime", [(1_900_000_000.0, None), (None, 3600)])
async def test_the_expiry_hook_wins_over_expires_in(upstream_client, named, lifetime):
    """Square names an absolute expires_at: the hook reads it; None falls back to expires_in."""
    body = {**TOKEN, "expires_at": "2030-03-17T17:46:40Z"}
    async with serve(TokenUpstream(body).app()) as origin:
        before = time.time()
        token = await endpoint(origin, upstream_client, expiry=lambda b: named).mint()
    if named is not None:
        assert token.expires_at == named
    else:
        assert before + 3600 <= token.expires_at <= time.time() + 3600


async def test_the_extra_hook_keeps_what_the_platform_adds(upstream_client):
    body = {**TOKEN, "api_domain": "https://www.zohoapis.eu"}
    async with serve(TokenUpstream(body).app()) as origin:
        token = await endpoint(
            origin, upstream_client, extra=lambda b: {"api_domain": b["api_domain"]}
        ).mint()
    assert token.extra == {"api_domain": "https://www.zohoapis.eu"}


@pytest.mark.parametrize(
    "body",
    [
        b"<html>maintenance</html>",
        [TOKEN],
        {"token_type": "Bearer", "expires_in": 3600},
        {"access_token": "two words"},
        {"access_token": 12345},
        {"access_token": ""},
    ],
)
async def test_a_2xx_without_a_usable_token_is_a_bad_response_and_marks_nothing(upstream_client, body):
    store = MemoryTokenStore()
    async with serve(TokenUpstream((200, body, {})).app()) as origin:
        with pytest.raises(ProviderBadResponse) as caught:
            await endpoint(origin, upstream_client, store).mint()
    assert not isinstance(caught.value, ReauthRequired) and not store.needs_reauth


# -- rotated refresh tokens ------------------------------------------------------------


async def test_a_rotated_refresh_token_is_kept_and_used_on_the_next_refresh(upstream_client):
    upstream = TokenUpstream(
        {"access_token": "a1", "refresh_token": "R2", "expires_in": 3600},
        {"access_token": "a2", "expires_in": 3600},  # no new refresh token: R2 stays current
        {"access_token": "a3", "refresh_token": "R3", "expires_in": 3600},
        {"access_token": "a4", "expires_in": 3600},
    )
    store = MemoryTokenStore()
    async with serve(upstream.app()) as origin:
        auth = refresh_token("Kit", upstream_client, origin + "/oauth/token", CLIENT_ID, CLIENT_SECRET,
                             REFRESH, store=store)
        token = await auth.manager.get()
        assert token.extra == {"refresh_token": "R2"} and store.token is token
        for _ in range(3):
            token = await auth.manager.get(stale=token)  # a 401: refresh
    sent = [upstream.form(i) for i in range(4)]
    assert all(f["grant_type"] == "refresh_token" and f["client_id"] == CLIENT_ID for f in sent)
    assert [f["refresh_token"] for f in sent] == [REFRESH, "R2", "R2", "R3"]
    assert token.access_token == "a4" and token.extra == {"refresh_token": "R3"}


async def test_a_platform_that_never_rotates_keeps_nothing_extra(upstream_client):
    upstream = TokenUpstream(TOKEN)
    async with serve(upstream.app()) as origin:
        auth = refresh_token("Kit", upstream_client, origin + "/oauth/token", CLIENT_ID, CLIENT_SECRET, REFRESH)
        token = await auth.manager.get()
        await auth.manager.get(stale=token)
    assert token.extra == {}  # the credentials' refresh token is not copied into the token store
    assert [upstream.form(i)["refresh_token"] for i in range(2)] == [REFRESH, REFRESH]


# -- refusals ------------------------------------------------------------------------


def wix_code(body: dict[str, Any]) -> str | None:
    details = body.get("details")
    application = details.get("applicationError") if isinstance(details, dict) else None
    return application.get("code") if isinstance(application, dict) else None


@pytest.mark.parametrize(
    "status,body,options,says",
    [
        (400, {"error": "invalid_grant", "error_description": "token revoked"}, {}, "400: invalid_grant"),
        (400, {"error": "invalid_client"}, {}, "400: invalid_client"),
        (400, {"error": "unauthorized_client"}, {}, "400: unauthorized_client"),
        (400, {"error": "INVALID_GRANT"}, {}, "400: INVALID_GRANT"),
        (200, {"error": "invalid_grant"}, {}, "200: invalid_grant"),  # a refusal with HTTP 200
        (401, {"error": "invalid_request"}, {}, "401: invalid_request"),
        (401, b"<html>Unauthorized</html>", {}, "(401)"),
        (401, [1, 2], {}, "(401)"),
        (403, {"details": {"applicationError": {"code": "UNAUTHENTICATED"}}},
         {"read_code": wix_code, "permanent_codes": frozenset({"UNAUTHENTICATED"})}, "403: UNAUTHENTICATED"),
        (403, {"error": "access_denied"}, {"permanent_statuses": frozenset({403})}, "403: access_denied"),
    ],
)
async def test_a_refusal_for_good_marks_needs_reauth(upstream_client, status, body, options, says):
    store = MemoryTokenStore()
    async with serve(TokenUpstream((status, body, {})).app()) as origin:
        with pytest.raises(ReauthRequired) as caught:
            await endpoint(origin, upstream_client, store, **options).mint()
    assert store.needs_reauth
    assert says in caught.value.message and caught.value.message.endswith("; reconnect the store")
    assert caught.value.remote_status == status
    assert "revoked" not in caught.value.message  # the platform's description is not quoted


@pytest.mark.parametrize(
    "status,body,headers,error,retry_after",
    [
        (429, {"error": "slow_down"}, {"Retry-After": "30"}, ProviderRateLimited, 30.0),
        (429, b"", {}, ProviderRateLimited, None),
        (500, {"error": "invalid_grant"}, {}, ProviderUnavailable, None),  # a 5xx never marks
        (503, b"<html>down</html>", {}, ProviderUnavailable, None),
        (400, {"error": "invalid_request"}, {}, ProviderAuthFailed, None),
        (403, {"error": "access_denied"}, {}, ProviderAuthFailed, None),
        (400, ["not", "an", "object"], {}, ProviderAuthFailed, None),
        (400, b"<html>bad request</html>", {}, ProviderAuthFailed, None),
    ],
)
async def test_a_transient_refusal_marks_nothing(upstream_client, status, body, headers, error, retry_after):
    store = MemoryTokenStore()
    async with serve(TokenUpstream((status, body, headers)).app()) as origin:
        with pytest.raises(error) as caught:
            await endpoint(origin, upstream_client, store).mint()
    assert type(caught.value) is error and not store.needs_reauth
    assert caught.value.remote_status == status
    if error is ProviderRateLimited:
        assert caught.value.retry_after == retry_after


@pytest.mark.parametrize("code", ["<script>", "x" * 80, "1000.secretish", "two\nlines"])
async def test_only_a_code_shaped_error_is_quoted(upstream_client, code):
    async with serve(TokenUpstream((400, {"error": code}, {})).app()) as origin:
        with pytest.raises(ProviderAuthFailed) as caught:
            await endpoint(origin, upstream_client).mint()
    assert caught.value.message == "Kit refused to issue an access token (400)"


async def test_the_refusal_hook_speaks_first(upstream_client):
    seen: list[tuple[int, dict[str, Any]]] = []

    def throttle(status: int, body: dict[str, Any]) -> ProviderRateLimited | None:
        seen.append((status, body))
        if body.get("error") == "Access Denied":
            return ProviderRateLimited("Kit's token endpoint is throttling", remote_status=status)
        return None

    store = MemoryTokenStore()
    denied = {"error": "Access Denied", "error_description": "too many requests"}
    upstream = TokenUpstream((400, denied, {}), (400, {"error": "invalid_grant"}, {}))
    async with serve(upstream.app()) as origin:
        kit = endpoint(origin, upstream_client, store, refusal=throttle)
        with pytest.raises(ProviderRateLimited):
            await kit.mint()
        assert not store.needs_reauth  # the hook's error is raised as it is
        with pytest.raises(ReauthRequired):
            await kit.mint()  # the hook declines: the table decides
    assert seen == [(400, denied), (400, {"error": "invalid_grant"})]
    assert store.needs_reauth


# -- single flight, through Provider.send ------------------------------------------------------


class Credentials(msgspec.Struct):
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


class OAuthProvider(Provider):
    name, display_name = "kit", "Kit"
    credentials_type = Credentials

    def make_auth(self) -> Any:
        return client_credentials("Kit", self.http, self.origin + "/oauth/token", CLIENT_ID, CLIENT_SECRET,
                                  store=self.tokens)


def oauth_provider(origin: str, http: Any, store: MemoryTokenStore) -> OAuthProvider:
    return OAuthProvider(Credentials(), CommonSettings(base_url=origin), http, store)


async def test_a_cold_burst_mints_once(upstream_client):
    upstream = TokenUpstream(TOKEN)
    store = MemoryTokenStore()
    async with serve(upstream.app()) as origin:
        provider = oauth_provider(origin, upstream_client, store)
        responses = await asyncio.gather(*(provider.send("GET", "/things") for _ in range(20)))
    assert upstream.minted == 1
    assert [r.status for r in responses] == [200] * 20
    assert {provider.read_json(r)["ok"] for r in responses} == {"Bearer minted-1"}
    assert store.token is not None and store.token.access_token == "minted-1"


async def test_a_cold_burst_refused_for_good_asks_once_and_every_request_fails(upstream_client):
    upstream = TokenUpstream((400, {"error": "invalid_client"}, {}))
    store = MemoryTokenStore()
    async with serve(upstream.app()) as origin:
        provider = oauth_provider(origin, upstream_client, store)
        results = await asyncio.gather(*(provider.send("GET", "/things") for _ in range(20)), return_exceptions=True)
    assert upstream.minted == 1
    assert all(isinstance(r, ReauthRequired) for r in results)
    assert store.needs_reauth
    assert not any(r.path == "/things" for r in upstream.recorder.requests)


async def test_a_stored_token_is_used_without_minting(upstream_client):
    upstream = TokenUpstream(TOKEN)
    store = MemoryTokenStore()
    store.token = AccessToken(access_token="from-the-store", expires_at=time.time() + 3600)
    async with serve(upstream.app()) as origin:
        response = await oauth_provider(origin, upstream_client, store).send("GET", "/things")
    assert msgspec.json.decode(response.body)["ok"] == "Bearer from-the-store"
    assert upstream.minted == 0


class RevokingUpstream(TokenUpstream):
    async def things(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "token revoked"}, status=401)


async def test_a_refresh_after_a_401_refused_for_good_fails_the_request(upstream_client):
    upstream = RevokingUpstream(TOKEN, (400, {"error": "invalid_grant"}, {}))
    store = MemoryTokenStore()
    async with serve(upstream.app()) as origin:
        with pytest.raises(ReauthRequired):
            await oauth_provider(origin, upstream_client, store).send("GET", "/things")
    assert store.needs_reauth
    assert [r.path for r in upstream.recorder.requests] == ["/oauth/token", "/things", "/oauth/token"]
