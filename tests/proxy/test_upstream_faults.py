"""Fault injection through the whole app: a Shopify connection whose
``base_url`` points at the Shopify fake (tests/fakes/shopify.py), made to
misbehave on cue.

Each case checks the error table (code and status), that the request ended
within the configured deadline, and that the process is left healthy: no
upstream connection still checked out of the shared pool, no stray asyncio
task, ``/health`` answering, and the next good request served. The unit
behaviour of the HTTP layer and of retries is proven in
tests/providers/test_http.py and test_resilience.py; here it is the wiring
through config, the route and the error rendering that is on trial.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import time
import tracemalloc
import zlib
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

import msgspec
import pytest
from aiohttp import web

from tests.fakes.shopify import TOKEN, ShopifyFake
from tests.harness import Harness, Tenant, running_app
from tests.support import Recorder, load_fixture, reply, serve

DEADLINE = 2.0  # SHOPRELAY_REQUEST_TIMEOUT for this suite
MARGIN = 1.5  # generous: a loaded 2-core machine, retries' sleeps, our own work
CAP = 1024 * 1024  # SHOPRELAY_MAX_RESPONSE_BYTES for this suite
CUSTOMER_ID = "544365967"  # the fake store's first customer
CUSTOMER = load_fixture("shopify", "customer.json")
CUSTOMER_BYTES = msgspec.json.encode(CUSTOMER)
OVERRIDES = {
    "request_timeout": DEADLINE,
    "connect_timeout": DEADLINE,
    "max_response_bytes": CAP,
    "retry_attempts": 3,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- the faulty shop ---------------------------------------------------------------


class FaultyShop(ShopifyFake):
    """The Shopify fake (tests/fakes/shopify.py), counting what a streaming
    fault managed to write."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0  # body bytes a streaming fault managed to write

    async def stream(
        self, request: web.Request, response: web.StreamResponse, chunks: Any
    ) -> web.StreamResponse:
        """Write ``chunks`` until done or until the client hangs up."""
        await response.prepare(request)
        try:
            for chunk, pause in chunks:
                if pause:
                    await self.hold(pause)
                if self.released.is_set():
                    break
                await response.write(chunk)
                self.sent += len(chunk)
        except ConnectionError:
            pass  # the relay gave up on us: what the case is about
        return response


async def reset_before_answering(request: web.Request) -> web.StreamResponse:
    request.transport.close()
    return web.Response()  # never reaches the relay


async def close_mid_body(request: web.Request) -> web.StreamResponse:
    """Half of a good body, then the connection goes away."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(CUSTOMER_BYTES)
    await response.prepare(request)
    await response.write(CUSTOMER_BYTES[: len(CUSTOMER_BYTES) // 2])
    request.transport.close()
    return response


async def not_really_gzip(request: web.Request) -> web.StreamResponse:
    """A complete answer whose declared encoding cannot be decoded."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    return web.Response(body=CUSTOMER_BYTES, headers=headers)


def one_byte_per_second(shop: FaultyShop) -> Handler:
    """Headers at once, then the good body trickling in."""
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(CUSTOMER_BYTES)
        chunks = ((CUSTOMER_BYTES[i : i + 1], 1.0) for i in range(len(CUSTOMER_BYTES)))
        return await shop.stream(request, response, chunks)
    return handler


HUGE = 50 * 1024 * 1024


def huge_body(shop: FaultyShop, declared: bool) -> Handler:
    """50 MB of JSON-ish bytes, streamed from one 64 KB block."""
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if declared:
            response.content_length = HUGE
        block = b" " * 65536
        return await shop.stream(request, response, ((block, 0) for _ in range(HUGE // len(block))))
    return handler


def gzip_bomb(inflated: int) -> Handler:
    """A small gzip body of ``inflated`` zero bytes, built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    block = bytes(1024 * 1024)
    body = b"".join(packer.compress(block) for _ in range(inflated // len(block))) + packer.flush()

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
    return handler


def throttled(requested_cost: float | None = None) -> dict[str, Any]:
    """Shopify's THROTTLED body; ``requested_cost`` tunes the bucket wait."""
    body = copy.deepcopy(load_fixture("shopify", "error-throttled.json"))
    if requested_cost is not None:
        body["extensions"]["cost"]["requestedQueryCost"] = requested_cost
    return body


# -- the relay under test ------------------------------------------------------------


@dataclass
class Relay:
    api: Harness
    shop: FaultyShop
    origin: str
    tenant: Tenant
    token: str
    baseline: set[asyncio.Task[Any]] = field(default_factory=set)

    async def get(self, token: str | None = None) -> tuple[Any, float]:
        started = time.monotonic()
        response = await self.api.get_customer(self.tenant, token or self.token, CUSTOMER_ID)
        return response, time.monotonic() - started

    async def assert_healthy(self, *, serves: bool = True) -> None:
        """Nothing leaked, and the process still serves."""
        connector = self.api.runtime.http.session.connector
        assert connector is not None and not connector._acquired, "an upstream connection leaked"
        for _ in range(3):  # let finished tasks leave the loop
            await asyncio.sleep(0)
        leaked = relay_tasks() - self.baseline
        assert not leaked, f"tasks left behind: {leaked}"
        assert (await self.api.client.get("/health")).status_code == 200
        if serves:
            self.shop.clear_faults()
            response, _ = await self.get()
            assert response.status_code == 200, response.text
            assert response.json()["id"] == CUSTOMER_ID
        assert not connector._acquired


def relay_tasks() -> set[asyncio.Task[Any]]:
    """Live tasks, without this test's own and the local upstream's (aiohttp
    server tasks run in the same loop but are not the relay's)."""
    def upstream(task: asyncio.Task[Any]) -> bool:
        coro = task.get_coro()
        return getattr(coro, "__qualname__", "").startswith("RequestHandler.")

    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done() and not upstream(t)}


@pytest.fixture
async def relay(tmp_path) -> AsyncIterator[Relay]:
    shop = FaultyShop()
    async with shop.serve() as origin, running_app(tmp_path, **OVERRIDES) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "shopify", shop.credentials, shop.settings(origin))
        yield Relay(api, shop, origin, tenant, token, relay_tasks())


def assert_problem(
    response: Any, status: int, code: str, remote_status: int | None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert problem["provider"] == "shopify"
    assert problem["remote_status"] == remote_status
    assert TOKEN not in response.text
    return problem


# -- error answers ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    fault: Callable[[FaultyShop], None]  # arranges the shop's answers
    status: int
    code: str
    remote_status: int | None
    attempts: int
    retry_after: str | None = None


def always(handler: Handler) -> Callable[[FaultyShop], None]:
    return lambda shop: shop.answer_with(handler, times=None)


ERROR_401 = load_fixture("shopify", "error-401.json")
ACCESS_DENIED = load_fixture("shopify", "error-access-denied.json")
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
JSON = "application/json"
CASES = {
    # A provider refusing our stored credentials is never our own 401.
    "http-401": Case(always(reply(ERROR_401, status=401)), 502, "provider_auth_failed", 401, 1),
    "http-403": Case(always(reply(ERROR_401, status=403)), 502, "provider_auth_failed", 403, 1),
    "graphql-access-denied": Case(always(reply(ACCESS_DENIED)), 502, "provider_auth_failed", 200, 1),
    # The bucket wait is (requestedQueryCost - currentlyAvailable 666) / restoreRate 50.
    # 726 -> 1.2 s: fits once in the 2 s deadline, not twice; passed on as 2 s.
    "graphql-throttled": Case(always(reply(throttled(726))), 429, "provider_rate_limited", 200, 2, "2"),
    # 667 -> 0.02 s, so every attempt is spent.
    "graphql-throttled-briefly": Case(
        always(reply(throttled(667))), 429, "provider_rate_limited", 200, 3, "1"
    ),
    "http-429-retry-after": Case(
        always(reply(text="", status=429, headers={"Retry-After": "1.2"})),
        429, "provider_rate_limited", 429, 2, "2",
    ),
    "http-429-bucket-body": Case(
        always(reply(throttled(726), status=429)), 429, "provider_rate_limited", 429, 2, "2"
    ),
    "http-429-no-wait-given": Case(
        always(reply(text="", status=429)), 429, "provider_rate_limited", 429, 3, "1"
    ),
    # 500 is not retried; 502/503/504 are.
    "http-500": Case(always(reply(text="Internal Server Error", status=500)),
                     502, "provider_unavailable", 500, 1),
    "http-502-html": Case(always(reply(text=HTML_502, status=502, content_type="text/html")),
                          502, "provider_unavailable", 502, 3),
    "http-503": Case(always(reply(text="Service Unavailable", status=503)),
                     502, "provider_unavailable", 503, 3),
    "reset-before-answer": Case(always(reset_before_answering), 502, "provider_unavailable", None, 3),
    "reset-mid-body": Case(always(close_mid_body), 502, "provider_unavailable", None, 3),
    "undecodable-gzip": Case(always(not_really_gzip), 502, "provider_bad_response", None, 1),
    # Accept the request, then say nothing for longer than the deadline.
    "accept-then-hang": Case(lambda s: s.hang(seconds=DEADLINE + 5, times=None), 504, "provider_timeout", None, 1),
    "one-byte-per-second": Case(lambda s: always(one_byte_per_second(s))(s), 504, "provider_timeout", None, 1),
    "truncated-json": Case(always(reply(text=CUSTOMER_BYTES[:-40].decode(), content_type=JSON)),
                           502, "provider_bad_response", 200, 1),
    "html-200": Case(always(reply(text="<html><body>Shopify</body></html>", content_type="text/html")),
                     502, "provider_bad_response", 200, 1),
    "non-json-200": Case(always(reply(text="OK", content_type=JSON)),
                         502, "provider_bad_response", 200, 1),
}


@pytest.mark.parametrize("name", CASES)
async def test_fault_ends_in_the_documented_problem(relay, name):
    case = CASES[name]
    case.fault(relay.shop)
    response, elapsed = await relay.get()
    assert_problem(response, case.status, case.code, case.remote_status)
    assert elapsed < DEADLINE + MARGIN
    assert relay.shop.count() == case.attempts
    assert response.headers.get("Retry-After") == case.retry_after
    await relay.assert_healthy()


async def test_throttle_state_is_passed_on_with_the_429(relay):
    relay.shop.answer(200, throttled(667), times=None)
    response, _ = await relay.get()
    assert response.status_code == 429
    # maximumAvailable / currentlyAvailable of the recorded THROTTLED body
    assert response.headers["x-provider-ratelimit-limit"] == "1000"
    assert response.headers["x-provider-ratelimit-remaining"] == "666"


async def test_429_that_clears_on_retry_is_served(relay):
    relay.shop.answer(429, text="", headers={"Retry-After": "0.2"})  # once; then the store answers
    response, elapsed = await relay.get()
    assert response.status_code == 200 and response.json()["id"] == CUSTOMER_ID
    assert relay.shop.count() == 2 and elapsed < DEADLINE + MARGIN
    await relay.assert_healthy()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_50_mb_body_is_refused_without_reading_it_all(relay, declared):
    relay.shop.answer_with(huge_body(relay.shop, declared), times=None)
    response, elapsed = await relay.get()
    problem = assert_problem(response, 502, "provider_bad_response", 200)
    assert "exceeds" in problem["detail"] and elapsed < DEADLINE + MARGIN
    # The relay hung up long before the end (socket buffers hold a few MB).
    assert relay.shop.sent < HUGE // 4
    await relay.assert_healthy()


async def test_gzip_bomb_stops_at_the_cap_without_inflating_it(relay):
    relay.shop.answer_with(gzip_bomb(64 * CAP), times=None)  # ~64 KB on the wire, 64 MB inflated
    tracemalloc.start()
    try:
        response, elapsed = await relay.get()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    problem = assert_problem(response, 502, "provider_bad_response", 200)
    assert "exceeds" in problem["detail"] and elapsed < DEADLINE + MARGIN
    assert peak < 16 * CAP, f"inflating the bomb peaked at {peak} bytes"
    await relay.assert_healthy()


# -- where the relay may go ---------------------------------------------------------

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def watch_dials(api: Harness) -> list[tuple[str, int]]:
    """Every (host, port) the shared session asks its connector for. Only the
    local test servers may be dialled: a guard regression fails here instead
    of reaching another network."""
    connector = api.runtime.http.session.connector
    assert connector is not None
    real_connect = connector.connect
    dialled: list[tuple[str, int]] = []

    async def connect(req: Any, *args: Any, **kwargs: Any) -> Any:
        dialled.append((req.url.host, req.url.port))
        if req.url.host.strip("[]") not in LOOPBACK:
            raise AssertionError(f"the relay dialled {req.url.host}")
        return await real_connect(req, *args, **kwargs)

    connector.connect = connect  # type: ignore[method-assign]
    return dialled


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[Recorder, int]]:
    """Another server a hostile redirect might point at; it must stay unvisited."""
    recorder = Recorder()
    app = recorder.app()
    app.router.add_route("*", "/{tail:.*}", reply({}))
    async with serve(app) as origin:
        yield recorder, int(origin.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "location",
    [
        "http://localhost:{port}/admin/api/2026-10/graphql.json",  # another host
        "http://127.0.0.1:{port}/admin/api/2026-10/graphql.json",  # loopback, another origin
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    ],
)
async def test_redirect_off_origin_is_refused(relay, elsewhere, location):
    recorder, port = elsewhere
    target = location.format(port=port)

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)

    relay.shop.answer_with(redirect, times=None)
    dialled = watch_dials(relay.api)
    response, elapsed = await relay.get()
    problem = assert_problem(response, 502, "provider_bad_response", 302)
    assert "another origin" in problem["detail"] and elapsed < DEADLINE + MARGIN
    assert recorder.requests == [] and relay.shop.count() == 1
    shop_port = int(relay.origin.rsplit(":", 1)[1])
    assert set(dialled) == {("127.0.0.1", shop_port)}  # the shop, and only the shop
    await relay.assert_healthy()


@pytest.fixture
async def strict(tmp_path) -> AsyncIterator[tuple[Harness, Recorder, int]]:
    """The production default: private networks not allowed. The local
    server stands in for whatever a hostile base_url points at."""
    recorder = Recorder()
    app = recorder.app()
    app.router.add_route("*", "/{tail:.*}", reply(CUSTOMER))
    async with serve(app) as origin, running_app(
        tmp_path, **OVERRIDES, allow_private_networks=False
    ) as api:
        yield api, recorder, int(origin.rsplit(":", 1)[1])


NOT_PUBLIC = "the upstream address is not a public address"
SSRF_CASES = [
    # base_url, what the guard says, whether a connection may be attempted
    ("http://127.0.0.1:{port}", "plain http upstreams are refused; use https", False),
    ("https://127.0.0.1:{port}", NOT_PUBLIC, False),
    # https, so it is the resolved address that is refused, not the scheme.
    ("https://localhost:{port}", "the upstream host does not resolve to a public address", True),
    ("https://169.254.169.254", NOT_PUBLIC, False),
    ("https://[::1]:{port}", NOT_PUBLIC, False),
    ("https://10.0.0.1", NOT_PUBLIC, False),
]


@pytest.mark.parametrize("base_url, refusal, resolves", SSRF_CASES, ids=[c[0] for c in SSRF_CASES])
async def test_private_destinations_are_refused_through_the_app(
    strict, base_url, refusal, resolves
):
    api, recorder, port = strict
    tenant = await api.tenant()
    _, token = await api.connection(
        tenant, "shopify", {"access_token": TOKEN},
        {"shop": "faulty", "base_url": base_url.format(port=port)},
    )
    baseline = relay_tasks()
    dialled = watch_dials(api)
    started = time.monotonic()
    response = await api.get_customer(tenant, token, CUSTOMER_ID)
    assert time.monotonic() - started < DEADLINE + MARGIN
    problem = assert_problem(response, 502, "provider_unavailable", None)
    assert problem["detail"] == refusal
    assert recorder.requests == []
    # Literal addresses are refused before any connection is even asked for;
    # a name only once it has resolved, inside the connector.
    assert dialled == ([("localhost", port)] if resolves else [])
    assert not api.runtime.http.session.connector._acquired
    assert relay_tasks() - baseline == set()
    assert (await api.client.get("/health")).status_code == 200


async def test_unresolvable_and_internal_names_get_one_answer(strict):
    """A tenant probing base_url values must not learn which internal names
    exist: a name that does not resolve is answered exactly like one that
    resolves to a private address, and neither is retried or trips the
    breaker (the relay's resolver is told the name does not exist, so no
    DNS query leaves the machine)."""
    api, recorder, port = strict
    resolver = api.runtime.http.session.connector._resolver
    inner = resolver._inner
    real_resolve = inner.resolve
    asked: list[str] = []

    async def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        if host == "nowhere.internal.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return await real_resolve(host, *args, **kwargs)

    inner.resolve = resolve
    tenant = await api.tenant()
    answers = []
    threshold = api.runtime.http.breaker.threshold
    for host in ("nowhere.internal.example", f"localhost:{port}"):
        _, token = await api.connection(
            tenant, "shopify", {"access_token": TOKEN}, {"shop": "probe", "base_url": f"https://{host}"}
        )
        for _ in range(threshold + 1):
            problem = assert_problem(await api.get_customer(tenant, token, CUSTOMER_ID), 502, "provider_unavailable", None)
            answers.append({k: v for k, v in problem.items() if k != "request_id"})
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0]["detail"] == "the upstream host does not resolve to a public address"
    # One resolution per call: not retried, and no circuit opened ("paused").
    assert asked.count("nowhere.internal.example") == threshold + 1
    assert recorder.requests == []


# -- the circuit breaker ---------------------------------------------------------------


async def test_breaker_opens_per_store_host_and_fails_fast(relay):
    relay.shop.answer(500, text="Internal Server Error", times=None)  # one failure per call
    threshold = relay.api.runtime.http.breaker.threshold
    for _ in range(threshold):
        response, _ = await relay.get()
        assert_problem(response, 502, "provider_unavailable", 500)
    assert relay.shop.count() == threshold

    relay.shop.clear_faults()  # the shop has recovered, but the cool-down is 30 s
    response, _ = await relay.get()
    problem = assert_problem(response, 502, "provider_unavailable", None)
    assert "paused" in problem["detail"]
    assert relay.shop.count() == threshold  # failed fast, without reaching the upstream
    metrics = (await relay.api.client.get("/metrics")).text
    assert "shoprelay_circuits_open 1.0" in metrics

    # Another store host (the same server, named differently) is unaffected.
    port = relay.origin.rsplit(":", 1)[1]
    _, other = await relay.api.connection(
        relay.tenant, "shopify", relay.shop.credentials,
        {"shop": "other", "base_url": f"http://localhost:{port}"},
    )
    response, _ = await relay.get(other)
    assert response.status_code == 200 and response.json()["id"] == CUSTOMER_ID
    assert relay.shop.count() == threshold + 1
    await relay.assert_healthy(serves=False)
