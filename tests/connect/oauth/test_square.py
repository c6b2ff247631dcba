"""Square's OAuth install (proxy/connect/oauth/square.py) end to end over
HTTP, against the Square fake's authorization server: from
``POST /connect/sessions`` through the consent redirect (every parameter
checked, the S256 challenge) and the callback, the exchange with the PKCE
verifier, to a customer read with the exchanged token; no token in any URL
the browser sees. Then the PKCE grant's rotating refresh tokens, and the
hostile cases (a replayed or foreign state, the seller declining, a bad or
reused code, a callback after the session expired), each storing nothing
and saying why."""

from __future__ import annotations

import html
import re
import urllib.parse

import pytest

from proxy.connect.oauth.square import challenge_of, environment_of
from tests.connect.oauth.conftest import RETURN_URL
from tests.fakes.square import AUTHORIZE_PATH, CLIENT_ID, CLIENT_SECRET, MERCHANT_ID, SquareFake

GRANT_KEY = f"square:{CLIENT_ID}:{MERCHANT_ID}"


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


def with_query(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode({**query_of(url), **changes})))


def text_of(page) -> str:
    return html.unescape(re.sub(r"\s+", " ", page.text))


async def installed(oauth, fake: SquareFake, origin: str) -> None:
    """The operator's Square app, its endpoints at the fake; the redirect URL registered."""
    fake.redirect_uri = oauth.callback_url("square")
    await oauth.app("square", CLIENT_ID, CLIENT_SECRET, auth_url=origin, base_url=origin)


async def consented(merchant) -> tuple[str, str]:
    """start -> Square's consent: (the authorize URL, the callback URL Square sends back)."""
    started = await merchant.start("square", {})
    assert started.status_code == 303, started.text
    answer = await merchant.consent(started.headers["location"])
    assert answer.status_code == 302, answer.text
    return started.headers["location"], answer.headers["location"]


def assert_no_token_in(urls: list[str], fake: SquareFake) -> None:
    assert urls
    for url in urls:
        for secret in [*fake.minted, *fake.handed_refresh, CLIENT_SECRET]:  # the client id is public
            assert secret not in url, url
        assert "code_verifier" not in url


def test_the_challenge_is_rfc_7636_s256():
    # RFC 7636 appendix B's example.
    assert challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_sandbox_application_is_the_sandbox_environment():
    assert environment_of("sandbox-sq0idb-wGVapF8sNt9PLrdj5znuKA") == "sandbox"
    assert environment_of(CLIENT_ID) == "production"


async def test_a_merchant_connects_square_end_to_end(oauth):
    fake = SquareFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        session = await merchant.open(return_url=RETURN_URL)
        authorize, callback = await consented(merchant)
        # The consent URL: Square's parameters, the S256 challenge, our registered callback.
        assert authorize.startswith(f"{origin}{AUTHORIZE_PATH}?")
        sent = query_of(authorize)
        assert sent.keys() == {"client_id", "scope", "session", "state", "code_challenge",
                               "code_challenge_method", "redirect_uri"}
        assert (sent["client_id"], sent["scope"], sent["session"], sent["code_challenge_method"]) == (
            CLIENT_ID, "CUSTOMERS_READ", "false", "S256")
        assert sent["redirect_uri"] == oauth.callback_url("square")
        assert len(sent["state"]) >= 43  # 256 bits
        assert query_of(callback)["state"] == sent["state"]
        done = await merchant.back(callback)
        assert done.status_code == 303, done.text
        assert done.headers["location"].startswith(RETURN_URL + "?")
        connection = await oauth.exchange(done.headers["location"])
        read = await oauth.read_customer(connection["connection_token"], fake.ids[0])
        visited = merchant.visited
    assert read.status_code == 200, read.text
    assert read.json()["id"] == fake.ids[0]
    # The exchange: every parameter, the verifier of the challenge the browser carried, no secret.
    (grant,) = fake.grants
    assert grant == {"client_id": CLIENT_ID, "grant_type": "authorization_code", "code": query_of(callback)["code"],
                     "code_verifier": grant["code_verifier"], "redirect_uri": oauth.callback_url("square")}
    assert challenge_of(grant["code_verifier"]) == sent["code_challenge"]
    assert 43 <= len(grant["code_verifier"]) <= 128
    # The exchanged token was seeded: the read needed no refresh.
    assert fake.token_requests() == 1
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {fake.minted[0]}"
    assert_no_token_in(visited, fake)
    stored = await oauth.store.get_connection(connection["connection_id"])
    assert stored.grant_key == GRANT_KEY and stored.provider == "square"
    assert {k: v for k, v in stored.settings.items() if v is not None} == {
        "environment": "production", "auth_url": origin, "base_url": origin}
    assert (await oauth.session_status(session["id"]))["status"] == "completed"


async def test_the_pkce_grant_refreshes_with_its_rotating_refresh_tokens(oauth):
    fake = SquareFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        await merchant.open(return_url=RETURN_URL)
        done = await merchant.walk("square", {})
        token = (await oauth.exchange(done.headers["location"]))["connection_token"]
        fake.revoke_all()  # the seeded token dies: the next read refreshes
        assert (await oauth.read_customer(token, fake.ids[0])).status_code == 200
        fake.revoke_all()  # and the one after, with the refresh token that refresh handed back
        assert (await oauth.read_customer(token, fake.ids[0])).status_code == 200
    refreshes = [g for g in fake.grants if g["grant_type"] == "refresh_token"]
    assert refreshes == [
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token",
         "refresh_token": "EQAA-pkce-1"},
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "refresh_token",
         "refresh_token": "EQAA-rotated-1"},
    ]


async def test_a_replayed_state_stores_nothing_more(oauth):
    fake = SquareFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        session = await merchant.open(return_url=RETURN_URL)
        _, callback = await consented(merchant)
        before = await oauth.stored()
        # The state is spent by a first callback that could not be used...
        unusable = await merchant.back(with_query(callback, code="two words"))
        assert unusable.status_code == 400 and "no usable code" in text_of(unusable)
        # ...so the genuine one, replayed after it, finds nothing.
        replayed = await merchant.back(callback)
        assert replayed.status_code == 400 and "already used" in text_of(replayed)
        assert await oauth.stored() == before and fake.token_requests() == 0
        assert (await oauth.session_status(session["id"]))["status"] == "pending"
        # A completed install's callback, replayed, finds the session gone.
        _, callback = await consented(merchant)
        assert (await merchant.back(callback)).status_code == 303
        before = await oauth.stored()
        again = await merchant.back(callback)
    assert again.status_code in (400, 410), again.text
    assert await oauth.stored() == before
    assert fake.token_requests() == 1  # the code was not sent again


async def test_another_browsers_state_is_refused_without_touching_either_session(oauth):
    fake = SquareFake()
    async with fake.serve() as origin, oauth.merchant() as victim, oauth.merchant() as attacker:
        await installed(oauth, fake, origin)
        theirs = await attacker.open(return_url=RETURN_URL, end_user_id="attacker")
        _, callback = await consented(attacker)  # the attacker's own code and state
        mine = await victim.open(return_url=RETURN_URL)
        before = await oauth.stored()
        refused = await victim.back(callback)
    assert refused.status_code == 403, refused.text
    assert "did not start in this browser" in text_of(refused)
    assert await oauth.stored() == before and fake.token_requests() == 0
    for session in (mine, theirs):
        assert (await oauth.session_status(session["id"]))["status"] == "pending"


async def test_the_seller_declining_fails_the_session_with_the_reason(oauth):
    fake = SquareFake()
    fake.deny = True
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        session = await merchant.open(return_url=RETURN_URL)
        _, callback = await consented(merchant)
        before = await oauth.stored()
        refused = await merchant.back(callback)
    assert query_of(callback)["error"] == "access_denied"
    assert refused.status_code == 400
    assert "You did not allow access on Square" in text_of(refused)
    status = await oauth.session_status(session["id"])
    assert (status["status"], status["error"]) == ("failed", "access_denied")
    assert await oauth.stored() == before and fake.token_requests() == 0


@pytest.mark.parametrize("code", ["sq0cgp-code-999", "spent"])
async def test_a_code_square_refuses_fails_the_session(oauth, code):
    fake = SquareFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        if code == "spent":  # a first install spends its code
            await merchant.open(return_url=RETURN_URL, end_user_id="first")
            _, first = await consented(merchant)
            assert (await merchant.back(first)).status_code == 303
            code = query_of(first)["code"]
        session = await merchant.open(return_url=RETURN_URL)
        _, callback = await consented(merchant)
        before = await oauth.stored()
        refused = await merchant.back(with_query(callback, code=code))
    assert refused.status_code == 400
    assert "Square refused the sign-in" in text_of(refused)
    status = await oauth.session_status(session["id"])
    assert (status["status"], status["error"]) == ("failed", "invalid_code")
    assert await oauth.stored() == before


async def test_a_callback_after_the_session_expired_stores_nothing(oauth):
    fake = SquareFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        await installed(oauth, fake, origin)
        session = await merchant.open(return_url=RETURN_URL)
        _, callback = await consented(merchant)
        await oauth.connect.expire(session["id"])
        before = await oauth.stored()
        late = await merchant.back(callback)
    assert late.status_code in (400, 410), late.text
    assert await oauth.stored() == before and fake.token_requests() == 0


async def test_a_sandbox_application_is_sent_to_the_sandbox(oauth):
    """No auth_url: the consent screen is Square's own, the Sandbox's for a
    Sandbox application; the connection reads the Sandbox."""
    async with oauth.merchant() as merchant:
        await oauth.app("square", "sandbox-sq0idb-wGVapF8sNt9PLrdj5znuKA", CLIENT_SECRET)
        await merchant.open(return_url=RETURN_URL)
        started = await merchant.start("square", {})
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith("https://connect.squareupsandbox.com/oauth2/authorize?")
    assert query_of(started.headers["location"])["client_id"] == "sandbox-sq0idb-wGVapF8sNt9PLrdj5znuKA"


async def test_a_tenants_scopes_are_asked_for(oauth):
    fake = SquareFake()
    async with fake.serve() as origin, oauth.merchant() as merchant:
        fake.redirect_uri = oauth.callback_url("square")
        await oauth.app("square", CLIENT_ID, CLIENT_SECRET, tenant=oauth.tenant,
                        scopes=["CUSTOMERS_READ", "MERCHANT_PROFILE_READ"], auth_url=origin, base_url=origin)
        await merchant.open(return_url=RETURN_URL)
        authorize, _ = await consented(merchant)
    assert query_of(authorize)["scope"] == "CUSTOMERS_READ MERCHANT_PROFILE_READ"
    assert "%20" in authorize  # space-separated, as Square documents
