"""What every fake upstream shares: a store of customers, a connection's
credentials and settings, request recording by kind, and fault knobs.

A platform's fake (``tests/fakes/<provider>.py``) is a subclass that knows
the platform: its routes and paging dialect, how it authenticates, the
documented error bodies (tests/fixtures/<provider>/) and the wait signal of
its 429. Everything here is platform-free.

Requests are recorded with a *kind*, so tests can count what they mean:

* ``get``: the main call of a single-customer read;
* ``extra``: a further call a read makes (BigCommerce's addresses,
  Commerce7's address list);
* ``list``: a list page (also verify's one-customer list);
* ``verify``: a dedicated verify call (Shopify's ``shop`` query);
* ``token``: the OAuth token endpoint.

Faults are queued answers: ``answer(...)`` (a canned status/body/headers, or
an ``Answer`` such as ``unauthorized()``, ``rate_limited()``,
``server_error(503)``), ``answer_with(handler)`` (anything), ``alter(change)``
(the real answer, changed), ``malformed()``, ``truncated()``, ``hang()``,
``echo_credentials()``, and ``intercept()`` under them all. Each meets the
next ``times`` requests (every one with ``times=None``) of the kinds ``on``
(``get``, ``list`` and ``verify`` unless told) that ``where`` accepts, the
first queued first. ``another_customer()`` answers the next read with a
different customer than asked.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import dataclasses
import math
from typing import Any, AsyncIterator, Awaitable, Callable, ClassVar, Iterable, Mapping

from aiohttp import web

from providers import registry
from tests import support

TOTAL = 250  # a multiple of 50, not of 7 or 100: full and short last pages both occur
API = frozenset({"get", "list", "verify"})  # what a fault meets unless told otherwise
MISSING: Any = object()  # "no body": distinct from a JSON null

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class Answer:
    """A canned HTTP answer: JSON ``body``, or ``text``, or neither (empty)."""

    status: int = 200
    body: Any = MISSING
    text: str | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    content_type: str | None = None

    def response(self) -> web.Response:
        headers = dict(self.headers)
        if self.text is not None:
            return web.Response(
                text=self.text, status=self.status, headers=headers, content_type=self.content_type or "text/plain"
            )
        if self.body is MISSING:
            return web.Response(status=self.status, headers=headers)
        return web.json_response(self.body, status=self.status, headers=headers)


Respond = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


@dataclasses.dataclass
class Fault:
    respond: Respond  # (request, the real handler) -> the answer
    kinds: frozenset[str]
    times: int | None  # None: every matching request
    where: Callable[[web.Request], bool] | None


class Fake:
    """A platform's store on 127.0.0.1. Subclasses set the class facts and
    implement the ``-- platform --`` methods."""

    provider: ClassVar[str]  # the provider name, and this fake's module name
    default_credentials: ClassVar[dict[str, str]]
    # Paging facts, for the list walks.
    page_max: ClassVar[int]  # the most customers one list request may return
    goes_back: ClassVar[bool] = True  # the module issues prev_cursor
    provider_pages: ClassVar[bool] = False  # the platform cuts the pages; one is read whole or not at all
    token_path: ClassVar[str | None] = None  # the OAuth token endpoint, not a list request
    # What the module is expected to do with this platform's answers.
    retry_after: ClassVar[float | None]  # the wait it reports for rate_limited()
    refused_status: ClassVar[int] = 401  # the status it reports for wrong_credentials()
    # Why the module takes a read answered with another customer than asked
    # (None: it refuses it, as a bad response).
    answer_id_unchecked: ClassVar[str | None] = None
    missing_id: ClassVar[str]  # well formed for the platform, in no store
    malformed_id: ClassVar[str] = "not-an-id"  # malformed for every platform: refused without a call

    def __init__(
        self,
        customers: list[dict[str, Any]] | None = None,
        *,
        total: int = TOTAL,
        credentials: Mapping[str, str] | None = None,
        record: bool = True,
    ) -> None:
        self.customers = customers if customers is not None else self.make_customers(total)
        self.record = record  # keep every request (off for a long benchmark run)
        self.credentials = dict(credentials if credentials is not None else self.default_credentials)
        self.requests: list[web.Request] = []
        self.bodies: list[bytes] = []
        self.kinds: list[str] = []
        self.faults: list[Fault] = []
        self.released = asyncio.Event()  # ends hanging handlers (set when serve() exits)
        self._swaps = 0

    # -- platform ------------------------------------------------------------------

    @classmethod
    def make_customers(cls, total: int) -> list[dict[str, Any]]:
        """``total`` customers from the documented fixture, id, email and name
        varied, in the platform's list order."""
        raise NotImplementedError

    def customer_id(self, raw: dict[str, Any]) -> str:
        raise NotImplementedError

    def settings(self, origin: str) -> dict[str, Any]:
        """Connection settings reaching this fake at ``origin``."""
        raise NotImplementedError

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def kind(self, request: web.Request, body: bytes) -> str:
        raise NotImplementedError

    def unauthorized(self) -> Answer:
        """The documented answer to credentials the platform does not know."""
        raise NotImplementedError

    def rate_limited(self) -> Answer:
        """The documented 429 (or equivalent) with the platform's wait signal;
        the module reports ``retry_after`` for it."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> Answer:
        """The platform's error body shape, carrying ``message``."""
        raise NotImplementedError

    def server_error(self, status: int) -> Answer:
        """A 5xx as the platform sends it."""
        return self.error(status, "Service Unavailable" if status == 503 else "Internal Server Error")

    # -- the store --------------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        return [self.customer_id(c) for c in self.customers]

    def find(self, customer_id: str) -> dict[str, Any] | None:
        return next((c for c in self.customers if self.customer_id(c) == customer_id), None)

    def lookup(self, customer_id: str, *, read: bool = True) -> dict[str, Any] | None:
        """The customer a read of ``customer_id`` is answered with: itself,
        or, while ``another_customer()`` is pending, the next one in the
        store. ``read=False`` for a read's extra calls (they consume nothing)."""
        raw = self.find(customer_id)
        if raw is None or not self._swaps or not read:
            return raw
        self._swaps -= 1
        position = self.customers.index(raw)
        return self.customers[(position + 1) % len(self.customers)]

    # -- a connection ----------------------------------------------------------------------

    def wrong_credentials(self) -> dict[str, str]:
        """Credentials of the right shape that this store does not know."""
        return {name: value + "0" for name, value in self.credentials.items()}

    def make_provider(self, origin: str, http: Any, tokens: Any = None, **settings: Any) -> Any:
        """The installed provider, connected to this fake at ``origin``
        (``settings`` added to the fake's own)."""
        cls = registry.get(self.provider)
        credentials, parsed = cls.parse_config(self.credentials, {**self.settings(origin), **settings})
        return cls(credentials, parsed, http, tokens)

    def secrets(self) -> list[str]:
        """Every value that must never come out of shoprelay: the credentials
        (their derived forms too, where the platform sends one) and any
        token this fake minted."""
        return [v for v in self.credentials.values() if v]

    # -- the app ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        self.routes(app)
        return app

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Run on an ephemeral loopback port; yields the origin. Hanging
        handlers are released on the way out (the runner would wait)."""
        async with support.serve(self.app()) as origin:
            try:
                yield origin
            finally:
                self.released.set()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        kind = self.kind(request, body)
        if self.record:
            self.requests.append(request)
            self.bodies.append(body)
            self.kinds.append(kind)
        for fault in self.faults:
            if kind in fault.kinds and (fault.where is None or fault.where(request)):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return await fault.respond(request, handler)
        return await handler(request)

    # -- what it saw ----------------------------------------------------------------------

    def count(self, *kinds: str) -> int:
        """Requests of these kinds (of every kind but ``token`` when none given)."""
        return sum((k in kinds) if kinds else k != "token" for k in self.kinds)

    def list_requests(self) -> int:
        return self.count("list")

    def token_requests(self) -> int:
        return self.count("token")

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def minimum_requests(self, position: int, size: int) -> int:
        """The fewest list requests that can serve ``size`` customers from ``position``."""
        if self.provider_pages:  # every platform page the API page touches
            return (position + max(size, 1) - 1) // self.page_max - position // self.page_max + 1
        return max(1, math.ceil(size / self.page_max))

    # -- faults ----------------------------------------------------------------------------

    def intercept(
        self,
        respond: Respond,
        *,
        times: int | None = 1,
        on: Iterable[str] = API,
        where: Callable[[web.Request], bool] | None = None,
    ) -> None:
        """Answer the next ``times`` requests of kinds ``on`` (and ``where``)
        with ``respond(request, handler)``, which may call the real ``handler``."""
        self.faults.append(Fault(respond, frozenset(on), times, where))

    def answer_with(
        self,
        handler: Handler,
        *,
        times: int | None = 1,
        on: Iterable[str] = API,
        where: Callable[[web.Request], bool] | None = None,
    ) -> None:
        """Answer with ``handler(request)`` instead of the real one."""

        async def respond(request: web.Request, _: Handler) -> web.StreamResponse:
            return await handler(request)

        self.intercept(respond, times=times, on=on, where=where)

    def answer(
        self,
        status: int | Answer = 200,
        body: Any = MISSING,
        *,
        text: str | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        times: int | None = 1,
        on: Iterable[str] = API,
        where: Callable[[web.Request], bool] | None = None,
    ) -> None:
        """Answer with a canned status/body/headers, or with an ``Answer`` given whole."""
        answer = status if isinstance(status, Answer) else Answer(status, body, text, headers or {}, content_type)

        async def respond(request: web.Request) -> web.StreamResponse:
            return answer.response()

        self.answer_with(respond, times=times, on=on, where=where)

    def rate_limit(self, *, times: int | None = 1, on: Iterable[str] = API) -> Answer:
        """Queue the platform's documented 429; returns it (its status is the remote status)."""
        answer = self.rate_limited()
        self.answer(answer, times=times, on=on)
        return answer

    def malformed(self, *, times: int | None = 1, on: Iterable[str] = API) -> None:
        """A 200 whose JSON body does not parse."""
        self.answer(text='{"data": {"customer": ', content_type="application/json", times=times, on=on)

    def alter(
        self, change: Callable[[web.Response], web.Response], *, times: int | None = 1, on: Iterable[str] = API
    ) -> None:
        """The real answer, passed through ``change``."""

        async def respond(request: web.Request, handler: Handler) -> web.StreamResponse:
            answer = await handler(request)
            assert isinstance(answer, web.Response)
            return change(answer)

        self.intercept(respond, times=times, on=on)

    def truncated(self, *, times: int | None = 1, on: Iterable[str] = API) -> None:
        """The real answer, cut in half (a complete HTTP message of broken JSON)."""

        def cut(whole: web.Response) -> web.Response:
            body = bytes(whole.body)  # type: ignore[arg-type]
            return web.Response(body=body[: len(body) // 2], status=whole.status, content_type=whole.content_type)

        self.alter(cut, times=times, on=on)

    def hang(
        self,
        *,
        seconds: float = 30.0,
        times: int | None = 1,
        on: Iterable[str] = API,
        where: Callable[[web.Request], bool] | None = None,
    ) -> None:
        """Hold the request (until ``released`` or ``seconds``), then answer it."""

        async def respond(request: web.Request, handler: Handler) -> web.StreamResponse:
            await self.hold(seconds)
            return await handler(request)

        self.intercept(respond, times=times, on=on, where=where)

    async def hold(self, seconds: float) -> None:
        """Sleep, but let teardown cut it short."""
        # asyncio.timeout, not wait_for: no extra task to mistake for a leak.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.released.wait()

    def echo_credentials(self, status: int = 401, *, times: int | None = None, on: Iterable[str] = API) -> None:
        """A hostile or careless store: an error quoting what the request
        carried: the ``Authorization`` header whole, decoded (Basic) and its
        base64 cut short, then the other headers (a token header...)."""

        async def respond(request: web.Request) -> web.StreamResponse:
            authorization = request.headers.get("Authorization", "")
            encoded = authorization.removeprefix("Basic ")
            try:
                decoded = base64.b64decode(encoded, validate=True).decode() if encoded != authorization else ""
            except ValueError:
                decoded = ""
            # Headers that may carry a credential first: messages get cut short.
            plain = {"host", "user-agent", "accept", "accept-encoding", "content-type", "content-length"}
            others = "; ".join(
                f"{k}: {v}" for k, v in sorted(request.headers.items(), key=lambda kv: kv[0].lower() in plain)
                if k != "Authorization"
            )
            message = (
                f"Invalid request. Authorization: {authorization} (decoded {decoded}), "
                f"seen before as {encoded[:20]}… and …{encoded[8:40]}…; {others}"
            )
            return self.error(status, message).response()

        self.answer_with(respond, times=times, on=on)

    def another_customer(self, times: int = 1) -> None:
        """Answer the next ``times`` reads with the store's next customer."""
        self._swaps += times

    def clear_faults(self) -> None:
        self.faults.clear()
        self._swaps = 0


def basic(user: str, password: str = "") -> str:
    """An HTTP Basic ``Authorization`` value, as a store expects it."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def basic_forms(authorization: str) -> list[str]:
    """A Basic header's secret forms: whole, its base64, unpadded."""
    encoded = authorization.removeprefix("Basic ")
    return [authorization, encoded, encoded.rstrip("=")]


def varied(base: dict[str, Any], total: int, vary: Callable[[dict[str, Any], int], None]) -> list[dict[str, Any]]:
    """``total`` deep copies of ``base``, the i-th changed in place by ``vary(copy, i)``."""
    customers = []
    for i in range(total):
        customer = copy.deepcopy(base)
        vary(customer, i)
        customers.append(customer)
    return customers


class TokenFake(Fake):
    """A platform that mints access tokens at ``token_path`` (Wix's client
    credentials, Zoho's refresh grant): the grants it was sent, the tokens it
    minted and which of them are still live. Subclasses check a grant and
    shape the answer; the bookkeeping is here."""

    list_path: ClassVar[str]  # the customer collection; `{list_path}/{id}` reads one

    def __init__(
        self,
        customers: list[dict[str, Any]] | None = None,
        *,
        expires_in: Any,
        token_prefix: str,
        token_delay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(customers, **kwargs)
        self.expires_in = expires_in
        self.token_delay = token_delay
        self.token_prefix = token_prefix
        self.minted: list[str] = []
        self.accepted: set[str] = set()  # live access tokens
        self.grants: list[Any] = []  # token request bodies (or queries)

    def kind(self, request: web.Request, body: bytes) -> str:
        if request.path == self.token_path:
            return "token"
        return "list" if request.path == self.list_path else "get"

    def secrets(self) -> list[str]:
        return [*super().secrets(), *self.minted]

    def revoke_all(self) -> None:
        """Every live token dies before its expiry (revoked, permissions changed)."""
        self.accepted.clear()

    async def received(self, grant: Any) -> None:
        """Records a token request, after the configured delay."""
        self.grants.append(grant)
        if self.token_delay:
            await asyncio.sleep(self.token_delay)

    def mint(self, suffix: str = "") -> str:
        """A new live access token."""
        value = f"{self.token_prefix}{len(self.minted) + 1}{suffix}"
        self.minted.append(value)
        self.accepted.add(value)
        return value
