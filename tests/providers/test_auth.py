"""Auth strategies (providers.auth) as Provider.send applies them.

Static strategies are checked on the wire of a local upstream; OAuthAccess
against a local API that accepts only the tokens its token endpoint minted
and has not revoked: one refresh and one retry after a 401, never more, and
no retry where the strategy cannot renew.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import msgspec
import pytest
from aiohttp import web

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth1_signature
from oauthlib.oauth1.rfc5849 import utils as oauth1_utils

from providers.auth import Auth, BasicAuth, HeaderToken, OAuth1Signature, OAuthAccess, QueryKey
from providers.base import CommonSettings, Provider
from providers.errors import ProviderAuthFailed
from providers.token_endpoint import client_credentials
from providers.tokens import MemoryTokenStore
from tests.support import Recorder, reply, serve

CLIENT_ID, CLIENT_SECRET = "kit-app", "kit-app-secret-7f3a9c"


class Credentials(msgspec.Struct):
    key: str = "key-9d8c7b6a"
    user: str = "user"
    password: str = "pa55word"


class KitProvider(Provider):
    name, display_name = "kit", "Kit"
    credentials_type = Credentials

    def __init__(self, origin: str, http: Any, auth: Any = None, headers: dict[str, str] | None = None) -> None:
        self._make = auth
        self._headers = headers or {}
        super().__init__(Credentials(), CommonSettings(base_url=origin), http, MemoryTokenStore())

    def make_auth(self) -> Auth:
        return self._make(self) if self._make is not None else Auth()

    def request_headers(self) -> dict[str, str]:
        return dict(self._headers)


def oauth(provider: Provider) -> OAuthAccess:
    return client_credentials(
        "Kit", provider.http, provider.origin + "/token", CLIENT_ID, CLIENT_SECRET, store=provider.tokens
    )


# -- static strategies -------------------------------------------------------------


async def test_the_static_strategies_add_their_proof():
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    await HeaderToken("t0k", header="X-Shopify-Access-Token").apply(headers, params)
    await HeaderToken("t0k", scheme="Bearer").apply(headers, params)
    await BasicAuth("user", "pa55word").apply(headers, params)  # replaces the bearer: one Authorization
    await QueryKey("api_key", "k3y").apply(headers, params)
    assert headers == {
        "X-Shopify-Access-Token": "t0k",
        "Authorization": "Basic " + base64.b64encode(b"user:pa55word").decode(),
    }
    assert params == {"api_key": "k3y"}


@pytest.mark.parametrize("strategy", [Auth(), HeaderToken("t"), BasicAuth("u", "p"), QueryKey("k", "v")])
async def test_only_oauth_can_renew(strategy):
    assert await strategy.renew(None) is False


async def test_oauth1_signs_the_request_as_sent(upstream_client):
    """The signature covers the method, the URL and the query exactly as they
    reach the upstream (brackets, spaces, slashes encoded by yarl): oauthlib's
    own server-side verifier accepts what the upstream received; a fresh
    nonce each time."""
    recorder = Recorder()
    app = recorder.app()
    app.router.add_get("/rest/V1/things", reply({"ok": True}))
    params = {"searchCriteria[pageSize]": "5", "q": "a b/c+d=e&f", "empty": ""}
    async with serve(app) as origin:
        kit = KitProvider(origin, upstream_client, lambda p: OAuth1Signature("ck", "cs", "tok", "ts"))
        await kit.send("GET", "/rest/V1/things", params=params)
        await kit.send("GET", "/rest/V1/things", params=params)
    seen = []
    for sent in recorder.requests:
        assert dict(sent.query) == params
        header = {"Authorization": sent.headers["Authorization"]}
        request = OAuthRequest(f"{origin}{sent.raw_path}", "GET", headers=header)
        request.params = oauth1_signature.collect_parameters(
            uri_query=sent.raw_path.partition("?")[2], headers=header, exclude_oauth_signature=True
        )
        pairs = oauth1_utils.parse_authorization_header(header["Authorization"])
        oauth = {k: oauth1_utils.unescape(v) for k, v in pairs}
        request.signature = oauth["oauth_signature"]
        assert oauth["oauth_signature_method"] == "HMAC-SHA256"
        assert oauth1_signature.verify_hmac_sha256(request, "cs", "ts")
        assert not oauth1_signature.verify_hmac_sha256(request, "cs", "other")
        seen.append(oauth["oauth_nonce"])
    assert seen[0] != seen[1]


def test_basic_auth_names_its_encoded_form():
    encoded = base64.b64encode(b"user:pa55word").decode()
    assert BasicAuth("user", "pa55word").secret_forms() == ([f"Basic {encoded}"], [encoded])
    assert HeaderToken("t").secret_forms() == ([], []) and QueryKey("k", "v").secret_forms() == ([], [])


async def test_send_puts_the_proof_on_the_wire(upstream_client):
    recorder = Recorder()
    app = recorder.app()
    app.router.add_get("/things", reply({"ok": True}))
    async with serve(app) as origin:
        header = KitProvider(
            origin, upstream_client, lambda p: HeaderToken(p.credentials.key, header="X-Auth-Token"),
            headers={"Accept": "application/json", "X-Auth-Token": "from-the-module"},
        )
        await header.send("GET", "/things", headers={"X-Extra": "1"})
        basic = KitProvider(origin, upstream_client, lambda p: BasicAuth(p.credentials.user, p.credentials.password))
        await basic.send("GET", "/things")
        query = KitProvider(origin, upstream_client, lambda p: QueryKey("api_key", p.credentials.key))
        # A forwarded parameter of the key's name cannot replace the key.
        await query.send("GET", "/things", params={"api_key": "forwarded", "q": "x"})
    first, second, third = recorder.requests
    assert first.headers["X-Auth-Token"] == "key-9d8c7b6a"  # the strategy is applied last
    assert first.headers["Accept"] == "application/json" and first.headers["X-Extra"] == "1"
    assert second.headers["Authorization"] == "Basic " + base64.b64encode(b"user:pa55word").decode()
    assert dict(third.query) == {"api_key": "key-9d8c7b6a", "q": "x"}
    assert "Authorization" not in third.headers


async def test_no_retry_when_the_strategy_cannot_renew(upstream_client):
    recorder = Recorder()
    app = recorder.app()
    app.router.add_get("/things", reply({"message": "bad key"}, status=401))
    async with serve(app) as origin:
        provider = KitProvider(origin, upstream_client, lambda p: HeaderToken(p.credentials.key))
        response = await provider.send("GET", "/things")
    assert response.status == 401 and len(recorder.requests) == 1


# -- OAuthAccess: one refresh after a 401 ------------------------------------------------


class OAuthUpstream:
    """A token endpoint minting tok-1, tok-2, ... and an API accepting the
    minted tokens that are not revoked (``accept`` False: none at all)."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.valid: set[str] = set()
        self.accept = True
        self.minted = 0

    def app(self) -> web.Application:
        async def token(request: web.Request) -> web.Response:
            self.minted += 1
            access = f"tok-{self.minted}"
            if self.accept:
                self.valid.add(access)
            return web.json_response({"access_token": access, "token_type": "Bearer", "expires_in": 3600})

        async def things(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") not in {f"Bearer {t}" for t in self.valid}:
                return web.json_response({"message": "invalid token"}, status=401)
            if request.query.get("forbidden"):
                return web.json_response({"message": "no scope"}, status=403)
            return web.json_response({"ok": True})

        app = self.recorder.app()
        app.router.add_post("/token", token)
        app.router.add_get("/things", things)
        return app

    def sent(self) -> list[str]:
        """The Authorization of every API request, in order."""
        return [r.headers.get("Authorization", "") for r in self.recorder.requests if r.path == "/things"]


async def test_a_revoked_token_is_refreshed_once_and_the_request_sent_again(upstream_client):
    upstream = OAuthUpstream()
    async with serve(upstream.app()) as origin:
        provider = KitProvider(origin, upstream_client, oauth)
        assert (await provider.send("GET", "/things")).status == 200
        upstream.valid.discard("tok-1")  # revoked before its expiry
        response = await provider.send("GET", "/things")
        assert response.status == 200
        assert (await provider.send("GET", "/things")).status == 200
    assert upstream.sent() == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]
    assert upstream.minted == 2
    assert provider.tokens.token.access_token == "tok-2"  # stored for the connection's other managers


async def test_a_second_401_is_returned_not_retried_again(upstream_client):
    upstream = OAuthUpstream()
    upstream.accept = False  # the API takes no token at all
    async with serve(upstream.app()) as origin:
        provider = KitProvider(origin, upstream_client, oauth)
        response = await provider.send("GET", "/things")
        assert response.status == 401
        with pytest.raises(ProviderAuthFailed):
            provider.read_json(response)
    assert upstream.sent() == ["Bearer tok-1", "Bearer tok-2"] and upstream.minted == 2


async def test_requests_failing_together_share_one_refresh(upstream_client):
    upstream = OAuthUpstream()
    async with serve(upstream.app()) as origin:
        provider = KitProvider(origin, upstream_client, oauth)
        await provider.send("GET", "/things")
        upstream.valid.discard("tok-1")
        responses = await asyncio.gather(*(provider.send("GET", "/things") for _ in range(5)))
    assert [r.status for r in responses] == [200] * 5
    assert upstream.minted == 2  # one refresh for the five 401s
    assert sorted(upstream.sent()[1:]) == ["Bearer tok-1"] * 5 + ["Bearer tok-2"] * 5


async def test_only_a_401_asks_for_a_new_token(upstream_client):
    upstream = OAuthUpstream()
    async with serve(upstream.app()) as origin:
        provider = KitProvider(origin, upstream_client, oauth)
        response = await provider.send("GET", "/things", params={"forbidden": "1"})
    assert response.status == 403
    assert upstream.sent() == ["Bearer tok-1"] and upstream.minted == 1


async def test_a_token_in_another_header_or_bare(upstream_client):
    recorder = Recorder()
    app = recorder.app()
    app.router.add_post("/token", reply({"access_token": "bare-token", "expires_in": 3600}))
    app.router.add_get("/things", reply({"ok": True}))

    def bare(provider: Provider) -> OAuthAccess:
        return client_credentials(
            "Kit", provider.http, provider.origin + "/token", CLIENT_ID, CLIENT_SECRET,
            header="X-Access-Token", scheme=None,
        )

    async with serve(app) as origin:
        await KitProvider(origin, upstream_client, bare).send("GET", "/things")
    api = recorder.requests[-1]
    assert api.headers["X-Access-Token"] == "bare-token" and "Authorization" not in api.headers
