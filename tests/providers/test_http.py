"""The shared upstream HTTP layer against a real local server: SSRF guard,
redirects, size cap, timeouts, classification."""

import asyncio
import gzip
from ipaddress import ip_address

import pytest
from aiohttp import web

from providers.errors import (
    ConfigurationError,
    ProviderBadResponse,
    ProviderTimeout,
    ProviderUnavailable,
    UpstreamBlocked,
)
from providers.http import UpstreamClient, UpstreamPolicy, address_allowed, create_session
from tests.support import Recorder, reply, serve


@pytest.fixture
async def strict_client():
    """The production default: no private networks."""
    policy = UpstreamPolicy()
    session = create_session(policy)
    yield UpstreamClient(session, policy)
    await session.close()


@pytest.mark.parametrize(
    "address, allowed",
    [
        ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
        ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False),
        ("fe80::1", False), ("fc00::1", False), ("::ffff:127.0.0.1", False), ("224.0.0.1", False),
        ("93.184.216.34", True), ("2606:4700::1111", True), ("not-an-ip", False),
    ],
)
def test_address_policy(address, allowed):
    assert address_allowed(address, allow_private=False) is allowed
    assert address_allowed(address, allow_private=True) is True


# IPv6 forms that carry an IPv4 address, and ranges the interpreter's
# is_global calls global: each is judged by where it would really go.
EMBEDDED_AND_RESERVED = [
    # NAT64 well-known prefix: the embedded IPv4 decides.
    ("64:ff9b::7f00:1", False), ("64:ff9b::a9fe:a9fe", False), ("64:ff9b::10.0.0.1", False),
    ("64:ff9b::808:808", True),
    # Local-use NAT64 (RFC 8215): the embedding depends on the operator's prefix.
    ("64:ff9b:1::a00:1", False), ("64:ff9b:1::808:808", False),
    # 6to4: 2002:AABB:CCDD:: goes to AA.BB.CC.DD.
    ("2002:7f00:1::", False), ("2002:a9fe:a9fe::1", False), ("2002:c0a8:101::", False),
    ("2002:808:808::1", True),
    # IPv4-compatible (deprecated) and SIIT forms: never an upstream.
    ("::127.0.0.1", False), ("::7f00:1", False), ("::8.8.8.8", False),
    ("::ffff:0:127.0.0.1", False), ("::ffff:0:808:808", False),
    # IPv4-mapped: the mapped address decides.
    ("::ffff:169.254.169.254", False), ("::ffff:8.8.8.8", True),
    # Site-local, Teredo, documentation, discard, unique-local.
    ("fec0::1", False), ("feff::1", False), ("2001::1", False), ("2001:0:4136:e378::1", False),
    ("2001:db8::1", False), ("3fff::1", False), ("100::1", False), ("fd00::1", False),
    ("ff02::1", False), ("::", False),
    # IPv4 special-purpose ranges, 192.0.0.0/24 whole (3.11 calls .9 global).
    ("192.0.0.1", False), ("192.0.0.9", False), ("192.0.0.170", False), ("192.88.99.1", False),
    ("198.18.0.1", False), ("240.0.0.1", False), ("255.255.255.255", False),
    ("203.0.113.5", False), ("198.51.100.7", False), ("192.0.2.1", False),
    # Public addresses still pass.
    ("8.8.8.8", True), ("1.1.1.1", True), ("2606:4700:4700::1111", True),
    ("2a00:1450:4001:82a::200e", True), ("2001:4860:4860::8888", True),
]


@pytest.mark.parametrize("address, allowed", EMBEDDED_AND_RESERVED)
def test_embedded_ipv4_and_reserved_ranges(address, allowed):
    assert address_allowed(address, allow_private=False) is allowed
    assert address_allowed(address, allow_private=True) is True


@pytest.mark.parametrize("address, allowed", EMBEDDED_AND_RESERVED)
def test_check_url_judges_ip_literals_the_same_way(address, allowed):
    """check_url refuses before any connection is asked for (no I/O at all)."""
    policy = UpstreamPolicy()
    client = UpstreamClient(session=None, policy=policy)  # type: ignore[arg-type]
    host = f"[{address}]" if ":" in address else address
    url = f"https://{host}:8443/admin/customers"
    if allowed:
        assert client.check_url(url).host.strip("[]") == str(ip_address(address))
    else:
        with pytest.raises(UpstreamBlocked, match="not a public address"):
            client.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x", "https://169.254.169.254/latest/meta-data/", "https://[::1]/x",
        "https://10.0.0.5:8443/x", "https://[::ffff:169.254.169.254]/",
    ],
)
async def test_literal_private_addresses_are_refused_without_a_connection(strict_client, url):
    with pytest.raises(UpstreamBlocked):
        await strict_client.request("GET", url)


async def test_plain_http_is_refused_by_default(strict_client):
    with pytest.raises(UpstreamBlocked, match="https"):
        await strict_client.request("GET", "http://example.com/")


async def test_names_resolving_to_loopback_are_refused_at_connect_time(strict_client):
    hits = Recorder()
    app = hits.app()
    app.router.add_get("/x", reply({}))
    async with serve(app) as origin:
        port = origin.rsplit(":", 1)[1]
        with pytest.raises(UpstreamBlocked):
            await strict_client.request("GET", f"https://localhost:{port}/x")
    assert hits.requests == []


@pytest.mark.parametrize("host", ["a..b", "a" * 64 + ".com", "a" * 300 + ".com"])
async def test_names_the_resolver_cannot_encode_do_not_resolve(strict_client, upstream_client, host):
    # getaddrinfo raises UnicodeError ("label empty or too long") for these,
    # not OSError: they answer as any name that does not resolve.
    with pytest.raises(UpstreamBlocked):
        await strict_client.request("GET", f"https://{host}/x")
    with pytest.raises(ProviderUnavailable):
        await upstream_client.request("GET", f"https://{host}/x")


async def test_non_http_scheme_is_a_configuration_error(upstream_client):
    with pytest.raises(ConfigurationError):
        await upstream_client.request("GET", "file:///etc/passwd")


async def test_same_origin_redirect_is_followed(upstream_client):
    app = web.Application()

    async def moved(request):
        raise web.HTTPFound("/final")

    app.router.add_get("/start", moved)
    app.router.add_get("/final", reply({"ok": True}))
    async with serve(app) as origin:
        response = await upstream_client.request("GET", f"{origin}/start")
    assert response.status == 200 and response.json() == {"ok": True}


async def test_off_origin_redirects_are_refused(upstream_client):
    other_hits = Recorder()
    other = other_hits.app()
    other.router.add_get("/steal", reply({"stolen": True}))
    async with serve(other) as other_origin:
        app = web.Application()

        async def away(request):
            raise web.HTTPFound(f"{other_origin}/steal")

        async def metadata(request):
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

        app.router.add_get("/away", away)
        app.router.add_get("/metadata", metadata)
        async with serve(app) as origin:
            with pytest.raises(ProviderBadResponse, match="another origin"):
                await upstream_client.request("GET", f"{origin}/away")
            with pytest.raises(ProviderBadResponse, match="another origin"):
                await upstream_client.request("GET", f"{origin}/metadata")
    assert other_hits.requests == []


async def test_redirect_loop_stops(upstream_client):
    app = web.Application()

    async def loop(request):
        raise web.HTTPFound("/loop")

    app.router.add_get("/loop", loop)
    async with serve(app) as origin:
        with pytest.raises(ProviderBadResponse, match="too many"):
            await upstream_client.request("GET", f"{origin}/loop")


async def test_oversized_body_is_refused():
    policy = UpstreamPolicy(allow_private_networks=True, max_response_bytes=10_000)
    session = create_session(policy)
    client = UpstreamClient(session, policy)
    app = web.Application()
    app.router.add_get("/big", reply(text="x" * 50_000))

    async def chunked(request):
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(20):
            await response.write(b"y" * 1_000)
        return response

    async def bomb(request):
        # 100 KB of zeros compresses to ~100 bytes; the cap applies after decoding.
        return web.Response(
            body=gzip.compress(b"\0" * 100_000), headers={"Content-Encoding": "gzip"}
        )

    app.router.add_get("/chunked", chunked)
    app.router.add_get("/bomb", bomb)
    try:
        async with serve(app) as origin:
            for path in ("/big", "/chunked", "/bomb"):
                with pytest.raises(ProviderBadResponse, match="exceeds"):
                    await client.request("GET", f"{origin}{path}")
    finally:
        await session.close()


async def test_read_timeout_is_provider_timeout():
    policy = UpstreamPolicy(allow_private_networks=True, read_timeout=0.3)
    session = create_session(policy)
    client = UpstreamClient(session, policy)
    app = web.Application()
    released = asyncio.Event()

    async def hang(request):
        # Answers only once the test is over: the server's shutdown waits
        # for this handler, so it must not outlive the test by a long sleep.
        await released.wait()
        return web.json_response({})

    app.router.add_get("/hang", hang)
    try:
        async with serve(app) as origin:
            try:
                with pytest.raises(ProviderTimeout):
                    await client.request("GET", f"{origin}/hang")
            finally:
                released.set()
    finally:
        await session.close()


async def test_connection_refused_is_unavailable(upstream_client):
    async with serve(web.Application()) as origin:
        pass  # the port is closed now
    with pytest.raises(ProviderUnavailable):
        await upstream_client.request("GET", f"{origin}/x")


async def test_non_json_body_is_bad_response(upstream_client):
    app = web.Application()
    app.router.add_get("/html", reply(text="<html>oops</html>", content_type="text/html"))
    async with serve(app) as origin:
        response = await upstream_client.request("GET", f"{origin}/html")
    with pytest.raises(ProviderBadResponse, match="not JSON"):
        response.json()


async def test_sends_json_params_and_headers(upstream_client):
    hits = Recorder()
    app = hits.app()
    app.router.add_post("/graphql", reply({"data": {}}))
    async with serve(app) as origin:
        await upstream_client.request(
            "POST", f"{origin}/graphql", headers={"X-Test": "1"}, params={"a": "b c"}, json={"q": 1}
        )
    request = hits.requests[0]
    assert request.headers["X-Test"] == "1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.query["a"] == "b c"
    assert hits.bodies[0] == b'{"q":1}'


async def test_no_cookie_set_by_one_answer_goes_out_with_the_next_call(upstream_client):
    """The session is shared by every tenant, and one API host serves many
    stores (BigCommerce, Wix, Commerce7, Zoho): a cookie kept from one
    store's answer would travel with another tenant's call."""
    hits = Recorder()
    app = hits.app()

    async def set_cookie(request: web.Request) -> web.Response:
        response = web.json_response({})
        response.set_cookie("session", "tenant-a-secret", path="/")
        return response

    app.router.add_get("/first", set_cookie)
    app.router.add_get("/second", reply({}))
    async with serve(app) as origin:
        named = origin.replace("127.0.0.1", "localhost")  # a host name: a default jar keeps its cookies
        first = await upstream_client.request("GET", f"{named}/first")
        assert "tenant-a-secret" in first.headers["Set-Cookie"]
        await upstream_client.request("GET", f"{named}/second")
    assert "Cookie" not in hits.requests[1].headers
