"""BigCommerce's install flow end to end through HTTP, against the fake
login.bigcommerce.com + API (tests/fakes/bigcommerce.py): a session, "Connect
with BigCommerce", the install URL, the auth callback, the token exchange,
the tenant's code exchange, then a customer read with the new connection.
Installs with no session are parked and claimed; load and uninstall are
trusted only with a valid signed payload. Every hostile case stores
nothing and the merchant's page says why."""

from __future__ import annotations

import urllib.parse
from typing import Any, AsyncIterator

import pytest

from tests.connect.conftest import RETURN_URL, Connect, app_on, csrf_of
from tests.connect.oauth.bcwoo_support import (
    PUBLIC, connections, events, exchanged, logged_secrets, merchant, no_secret_in, webhooks,
)
from tests.logtrap import Trap, trap  # noqa: F401 (the fixture)
from proxy import provider_apps
from tests.fakes.bigcommerce import STORE, BigCommerceFake
from tests.harness import Tenant

CLIENT_ID = "bc0client0id0for0tests"
SECRET = "bc-app-secret-0123456789abcdef0123456789abcdef"
CALLBACK = f"{PUBLIC}/connect/oauth/bigcommerce/callback"
OTHER_STORE = "zz9other"


@pytest.fixture(params=["sqlite", "postgresql"])
async def connect(request, tmp_path) -> AsyncIterator[Connect]:
    async with app_on(request, tmp_path, PUBLIC) as connect:
        yield connect


@pytest.fixture
async def platform() -> AsyncIterator[tuple[BigCommerceFake, str]]:
    fake = BigCommerceFake(stores=(STORE, OTHER_STORE))
    fake.register_app(CLIENT_ID, SECRET, CALLBACK)
    async with fake.serve() as origin:
        yield fake, origin


@pytest.fixture
def operator_app():
    """The operator's default BigCommerce app (no tenant), at the fake."""
    async def put(connect: Connect, origin: str) -> None:
        runtime = connect.harness.runtime
        await provider_apps.put_app(runtime.store, runtime.keyring, None, "bigcommerce", CLIENT_ID, SECRET,
                                    settings={"auth_url": origin, "base_url": origin}, allow_private_networks=True)
    return put


async def tenant_with_app(connect: Connect, origin: str, name: str = "Acme Reviews") -> Tenant:
    tenant = await connect.tenant(name)
    put = await connect.api.put("/provider-apps/bigcommerce", headers={"x-api-key": tenant.api_key}, json={
        "client_id": CLIENT_ID, "client_secret": SECRET,
        "settings": {"auth_url": origin, "base_url": origin},
    })
    assert put.status_code == 201, put.text
    return tenant


async def install(browser: Any, fake: BigCommerceFake) -> Any:
    """"Connect with BigCommerce" through the install URL to the callback's answer."""
    started = await browser.start("bigcommerce")
    assert started.status_code == 303, started.text
    return await browser.follow(started)


async def approved(browser: Any) -> str:
    """Start, the hop, BigCommerce's approval: the auth callback URL the
    browser is sent to next (not opened yet)."""
    started = await browser.start("bigcommerce")
    went = await browser.get(started.headers["location"])  # the hop that sets the install cookie
    consent = await browser.get(went.headers["location"])
    assert consent.status_code == 302, consent.text
    return consent.headers["location"]


async def test_install_connects_the_store_and_reads_a_customer(connect, platform):
    fake, origin = platform
    tenant = await tenant_with_app(connect, origin)
    session = await connect.session(tenant, providers=["bigcommerce"], return_url=RETURN_URL)
    async with webhooks(connect, tenant), merchant(connect, session["connect_url"]) as browser:
        answer = await install(browser, fake)
        assert answer.status_code == 303, answer.text
        assert any(url.startswith(f"{origin}/app/{CLIENT_ID}/install") for url in browser.visited)
        connection = await exchanged(connect, tenant, answer.headers["location"])
        assert connection["provider"] == "bigcommerce" and connection["session_id"] == session["id"]
        # The token endpoint was sent every documented field, as a form.
        (grant,) = fake.grants
        assert grant["client_id"] == CLIENT_ID and grant["client_secret"] == SECRET
        assert grant["context"] == f"stores/{STORE}" and grant["grant_type"] == "authorization_code"
        assert grant["redirect_uri"] == CALLBACK
        read = await connect.harness.get_customer(tenant, connection["connection_token"], "100")
        assert read.status_code == 200, read.text
        assert read.json()["remote_id"] == "100"
        no_secret_in(browser.visited, fake.secrets())
        assert "connection.created" in await events(connect, tenant)
    status = (await connect.status(tenant, session["id"])).json()
    assert status["status"] == "completed"


async def test_the_callback_replayed_connects_nothing_more(connect, platform, operator_app):
    fake, origin = platform
    await operator_app(connect, origin)  # the app a callback without its attempt goes to
    tenant = await tenant_with_app(connect, origin)
    session = await connect.session(tenant, providers=["bigcommerce"], return_url=RETURN_URL)
    async with merchant(connect, session["connect_url"]) as browser:
        answer = await install(browser, fake)
        assert answer.status_code == 303
        callback = next(url for url in browser.visited if url.startswith(CALLBACK))
        # The attempt is spent (its cookie gone), and BigCommerce refuses the spent code.
        again = await browser.get(callback)
        assert again.status_code == 400 and "did not accept" in again.text
    assert len(await connections(connect, tenant)) == 1
    assert await connect.rows("unclaimed_installs") == 0


async def test_a_callback_after_the_session_expired_stores_nothing(connect, platform):
    fake, origin = platform
    tenant = await tenant_with_app(connect, origin)
    session = await connect.session(tenant, providers=["bigcommerce"])
    async with merchant(connect, session["connect_url"]) as browser:
        callback = await approved(browser)  # BigCommerce approves...
        await connect.expire(session["id"])  # ...too late
        answer = await browser.get(callback)
        assert answer.status_code == 410 and "expired" in answer.text
    assert fake.grants == []  # not even exchanged
    assert await connections(connect, tenant) == []
    assert await connect.rows("unclaimed_installs") == 0


async def test_a_callback_pushed_without_an_attempt_is_parked_not_connected(connect, platform):
    """A third site sends the merchant's browser (session cookie and all) to
    the callback with its own store's code: no attempt of this session, so
    nothing is connected; the grant is parked behind a claim code."""
    fake, origin = platform
    tenant = await tenant_with_app(connect, origin)
    session = await connect.session(tenant, providers=["bigcommerce"])
    async with merchant(connect, session["connect_url"]) as browser:
        fake.installing = OTHER_STORE
        consent = await browser.get(f"{origin}/app/{CLIENT_ID}/install")
        answer = await browser.get(consent.headers["location"])
        assert answer.status_code == 200 and "claim code" in answer.text
    assert await connections(connect, tenant) == []
    assert (await connect.status(tenant, session["id"])).json()["status"] == "pending"


async def test_a_control_panel_install_after_a_finished_session_is_parked(connect, platform, operator_app):
    """The merchant connected, then installed from BigCommerce's marketplace
    in the same browser: the finished session's cookie does not lose the install."""
    fake, origin = platform
    await operator_app(connect, origin)
    tenant = await tenant_with_app(connect, origin)
    session = await connect.session(tenant, providers=["bigcommerce"], return_url=RETURN_URL)
    async with merchant(connect, session["connect_url"]) as browser:
        assert (await install(browser, fake)).status_code == 303
        fake.installing = OTHER_STORE
        consent = await browser.get(f"{origin}/app/{CLIENT_ID}/install")
        answer = await browser.get(consent.headers["location"])
        assert answer.status_code == 200 and "<code>sri_" in answer.text
    assert len(await connections(connect, tenant)) == 1 and await connect.rows("unclaimed_installs") == 1


async def test_a_context_other_than_the_codes_is_refused(connect, platform):
    fake, origin = platform
    tenant = await tenant_with_app(connect, origin)
    session = await connect.session(tenant, providers=["bigcommerce"])
    async with merchant(connect, session["connect_url"]) as browser:
        parts = urllib.parse.urlsplit(await approved(browser))
        query = dict(urllib.parse.parse_qsl(parts.query))
        assert query["context"] == f"stores/{STORE}"
        query["context"] = f"stores/{OTHER_STORE}"
        callback = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
        answer = await browser.get(callback)
        assert answer.status_code == 400 and "did not accept" in answer.text, answer.text
    assert await connections(connect, tenant) == []


async def test_a_reconnect_to_another_store_is_refused(connect, platform):
    fake, origin = platform
    tenant = await tenant_with_app(connect, origin)
    connection_id, _ = await connect.harness.connection(
        tenant, "bigcommerce", {"access_token": "old0token"}, {"store_hash": STORE, "base_url": origin})
    session = await connect.session(tenant, connection_id=connection_id)
    fake.installing = OTHER_STORE
    async with merchant(connect, session["connect_url"]) as browser:
        answer = await install(browser, fake)
        assert answer.status_code == 400 and "another store" in answer.text
    (stored,) = await connections(connect, tenant)
    assert stored["settings"]["store_hash"] == STORE


# -- parked installs and claims ----------------------------------------------------------


async def park(connect: Connect, fake: BigCommerceFake, origin: str) -> str:
    """An install from BigCommerce's control panel: no cookie reaches us.
    Returns the claim code the merchant is shown."""
    async with merchant(connect) as panel:
        consent = await panel.get(f"{origin}/app/{CLIENT_ID}/install")
        page = await panel.get(consent.headers["location"])
    assert page.status_code == 200, page.text
    csp = page.headers["content-security-policy"]
    assert csp.startswith("default-src 'self';") and csp.endswith("frame-ancestors https://*.bigcommerce.com https://*.mybigcommerce.com")
    code = page.text.split("<code>", 1)[1].split("</code>", 1)[0]
    assert code.startswith("sri_") and len(code) >= 4 + 32
    return code


async def claim(connect: Connect, session: dict[str, Any], code: str) -> tuple[Any, Any]:
    async with merchant(connect, session["connect_url"]) as browser:
        form = await browser.get("/connect/oauth/bigcommerce/claim")
        assert form.status_code == 200, form.text
        answer = await browser.post_form("/connect/oauth/bigcommerce/claim",
                                          {"csrf_token": csrf_of(form.text), "claim_code": code})
        return answer, browser


async def test_an_install_from_the_control_panel_used_twice_parks_once(connect, platform, operator_app):
    fake, origin = platform
    await operator_app(connect, origin)
    async with merchant(connect) as panel:
        consent = await panel.get(f"{origin}/app/{CLIENT_ID}/install")
        first = await panel.get(consent.headers["location"])
        again = await panel.get(consent.headers["location"])
    assert first.status_code == 200 and "<code>sri_" in first.text
    assert again.status_code == 400 and "did not accept" in again.text and "sri_" not in again.text
    assert await connect.rows("unclaimed_installs") == 1


async def test_no_install_secret_is_logged(connect, platform, operator_app, trap: Trap):  # noqa: F811
    fake, origin = platform
    await operator_app(connect, origin)
    tenant = await connect.tenant()
    code = await park(connect, fake, origin)
    session = await connect.session(tenant, providers=["bigcommerce"], return_url=RETURN_URL)
    answer, _ = await claim(connect, session, code)
    connection = await exchanged(connect, tenant, answer.headers["location"])
    grants = [g["code"] for g in fake.grants]
    leaks = logged_secrets(trap, [*fake.secrets(), code, *grants, connection["connection_token"]])
    assert trap.access() and leaks == [], leaks[:2]


async def test_a_parked_install_is_claimed_once(connect, platform, operator_app):
    fake, origin = platform
    await operator_app(connect, origin)
    tenant = await connect.tenant()
    code = await park(connect, fake, origin)
    session = await connect.session(tenant, providers=["bigcommerce"], return_url=RETURN_URL)
    answer, _ = await claim(connect, session, f"  {code} ")
    assert answer.status_code == 303, answer.text
    connection = await exchanged(connect, tenant, answer.headers["location"])
    read = await connect.harness.get_customer(tenant, connection["connection_token"], "100")
    assert read.status_code == 200, read.text
    # Reused: the second session learns nothing and stores nothing.
    other = await connect.session(tenant, providers=["bigcommerce"])
    again, _ = await claim(connect, other, code)
    assert again.status_code == 422 and "not known, was already used or has expired" in again.text
    assert len(await connections(connect, tenant)) == 1


async def test_a_wrong_or_expired_claim_code_stores_nothing(connect, platform, operator_app):
    fake, origin = platform
    await operator_app(connect, origin)
    tenant = await connect.tenant()
    code = await park(connect, fake, origin)
    session = await connect.session(tenant, providers=["bigcommerce"])
    wrong, _ = await claim(connect, session, code[:-2] + ("AA" if not code.endswith("AA") else "BB"))
    assert wrong.status_code == 422 and "not known" in wrong.text
    await connect.sql("UPDATE unclaimed_installs SET expires_at = ?", "2000-01-01T00:00:00.000Z")
    expired, _ = await claim(connect, session, code)
    assert expired.status_code == 422 and "expired" in expired.text
    assert await connections(connect, tenant) == []


async def test_another_tenants_app_install_cannot_be_claimed(connect, platform):
    fake, origin = platform
    owner = await tenant_with_app(connect, origin, "Owner")
    session = await connect.session(owner, providers=["bigcommerce"])
    async with merchant(connect, session["connect_url"]) as browser:  # cookie, no attempt: parked with Owner's app
        consent = await browser.get(f"{origin}/app/{CLIENT_ID}/install")
        page = await browser.get(consent.headers["location"])
    code = page.text.split("<code>", 1)[1].split("</code>", 1)[0]
    stranger = await connect.tenant("Stranger")
    theirs = await connect.session(stranger, providers=["bigcommerce"])
    answer, _ = await claim(connect, theirs, code)
    assert answer.status_code == 422
    assert await connections(connect, stranger) == []


# -- load and uninstall ----------------------------------------------------------------


async def connected(connect: Connect, fake: BigCommerceFake, origin: str) -> tuple[Tenant, dict[str, Any]]:
    tenant = await tenant_with_app(connect, origin)
    session = await connect.session(tenant, providers=["bigcommerce"], return_url=RETURN_URL)
    async with merchant(connect, session["connect_url"]) as browser:
        answer = await install(browser, fake)
    return tenant, await exchanged(connect, tenant, answer.headers["location"])


async def test_load_shows_a_page_for_a_signed_payload(connect, platform):
    fake, origin = platform
    await connected(connect, fake, origin)
    jwt = fake.signed_payload(CLIENT_ID)
    page = await connect.api.get("/connect/oauth/bigcommerce/load?" + urllib.parse.urlencode({"signed_payload_jwt": jwt}))
    assert page.status_code == 200, page.text
    assert STORE in page.text and "connected to 1 app" in page.text


async def test_uninstall_deletes_the_grants_connections(connect, platform):
    fake, origin = platform
    tenant, connection = await connected(connect, fake, origin)
    async with webhooks(connect, tenant):
        jwt = fake.signed_payload(CLIENT_ID)
        gone = await connect.api.get("/connect/oauth/bigcommerce/uninstall?" + urllib.parse.urlencode({"signed_payload_jwt": jwt}))
        assert gone.status_code in (200, 204), gone.text
        assert await connections(connect, tenant) == []
        assert "connection.deleted" in await events(connect, tenant)
    read = await connect.harness.get_customer(tenant, connection["connection_token"], "100")
    assert read.status_code == 401


@pytest.mark.parametrize("forgery", [
    {"secret": "not-the-app-secret-0123456789abcdef0123456789"},
    {"exp": 1_000_000_000},  # expired in 2001
    {"nbf": 4_000_000_000},  # not valid before 2096
    {"alg": "none"},
    {"alg": "HS512"},
    {"iss": "not-bc"},
    {"sub": "stores/../../x"},
    {"aud": "another-client"},
])
async def test_uninstall_with_a_bad_payload_deletes_nothing(connect, platform, forgery):
    fake, origin = platform
    tenant, _ = await connected(connect, fake, origin)
    jwt = fake.signed_payload(CLIENT_ID, **forgery)
    refused = await connect.api.get("/connect/oauth/bigcommerce/uninstall?" + urllib.parse.urlencode({"signed_payload_jwt": jwt}))
    assert refused.status_code == 401, refused.text
    assert "BigCommerce" in refused.text
    assert len(await connections(connect, tenant)) == 1


async def test_uninstall_without_a_payload_or_with_junk_is_refused(connect, platform):
    fake, origin = platform
    tenant, _ = await connected(connect, fake, origin)
    for query in ("", "?signed_payload_jwt=", "?signed_payload_jwt=abc.def.ghi", "?signed_payload_jwt=" + "a.b" * 2700):
        refused = await connect.api.get("/connect/oauth/bigcommerce/uninstall" + query)
        assert refused.status_code == 401, (query[:40], refused.text)
    assert len(await connections(connect, tenant)) == 1
