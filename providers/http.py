"""The shared upstream HTTP layer: one aiohttp session, guarded and bounded.

Every provider call goes through :class:`UpstreamClient`, which

* refuses plain ``http`` and private, loopback or link-local destinations
  unless private networks are allowed. The check runs on the address the
  name *resolves to*, at connect time (a resolver wrapper), so a DNS name
  pointing at 169.254.169.254 is refused like the literal address;
* follows redirects only within the same origin (scheme, host, port), and
  checks each hop again;
* caps the response body (after decompression, so a gzip bomb stops at the
  cap) and turns every transport failure into a :mod:`providers.errors` class.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import math
import socket
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

import aiohttp
import msgspec
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.http_exceptions import ContentEncodingError
from multidict import CIMultiDictProxy
from yarl import URL

from . import calls
from .errors import (
    ConfigurationError,
    ProviderBadResponse,
    ProviderTimeout,
    ProviderUnavailable,
    UpstreamBlocked,
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Every upstream call names its client (Squarespace refuses calls without a User-Agent).
USER_AGENT = "shoprelay/0.1 (+https://github.com/shoprelay)"

if TYPE_CHECKING:
    from .resilience import CircuitBreaker


class UpstreamPolicy(msgspec.Struct, frozen=True, kw_only=True):
    allow_private_networks: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_response_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 3
    pool_size: int = 100
    # No bound per host: several platforms serve every store from one API
    # host, where such a bound would be one queue shared by all tenants. The
    # proxy bounds calls per connection and per tenant instead.
    pool_size_per_host: int = 0


# One answer for a name that does not resolve and for one that resolves to
# a refused address: callers must not be able to tell them apart.
HOST_REFUSED = "the upstream host does not resolve to a public address"


class BlockedAddress(OSError):
    """Raised inside the resolver; aiohttp wraps it, we unwrap it."""


# The interpreter's ``is_global`` tables differ between Python versions and
# miss ranges (192.0.0.0/24 is partly "global" in 3.11, fec0::/10 and
# ::/96 are "global" everywhere), so the ranges no upstream may ever be in
# are also written down here, from IANA's special-purpose registries.
_NEVER_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NEVER_V6 = tuple(
    ipaddress.IPv6Network(n)
    # Within 2000::/3: IETF protocol assignments (Teredo 2001::/32, ORCHID,
    # benchmarking), documentation.
    for n in ("2001::/23", "2001:db8::/32", "3fff::/20")
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known prefix, RFC 6052
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")  # RFC 3056


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries and would be delivered to:
    mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIXTOFOUR:
        return ip.sixtofour
    return None


def _v4_public(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not any(ip in net for net in _NEVER_V4)


def address_allowed(address: str, allow_private: bool) -> bool:
    """Whether an upstream may be at this address. IPv6 forms that carry an
    IPv4 address are judged by that address; every other IPv6 address must
    be global unicast (2000::/3), which leaves out the IPv4-compatible
    ::a.b.c.d, SIIT ::ffff:0:a.b.c.d, local-use NAT64 64:ff9b:1::/48,
    site-local fec0::/10, unique-local, link-local and multicast."""
    if allow_private:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_public(ip)
    embedded = _embedded_v4(ip)
    if embedded is not None:
        return _v4_public(embedded)
    return (
        ip in _GLOBAL_UNICAST_V6
        and ip.is_global
        and not any(ip in net for net in _NEVER_V6)
    )


def guard_refusal(url: URL, allow_private: bool) -> str | None:
    """Why the guard refuses this http(s) URL before any lookup, or None.

    Shared by every call (``UpstreamClient.check_url``) and by connection
    creation, so a setting the guard would refuse is refused when it is given,
    not at the first read. Names resolving to private addresses are only known
    at connect time (``GuardedResolver``)."""
    if url.scheme == "http" and not allow_private:
        return "plain http upstreams are refused; use https"
    host = (url.host or "").strip("[]")
    if _is_ip_literal(host) and not address_allowed(host, allow_private):
        return "the upstream address is not a public address"
    return None


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp does, then drops addresses the policy refuses."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = aiohttp.DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            try:
                results = await self._inner.resolve(host, port, family)
            except (UnicodeError, ValueError):
                # A name getaddrinfo cannot even encode (an empty or over-long
                # label), e.g. in a row stored before creation refused such
                # names: it does not resolve, like any unknown name.
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        except OSError:
            if self._allow_private:
                raise  # nothing is refused, so there is nothing to hide
            # A name that does not resolve must look exactly like one that
            # resolves to an internal address (same error, no retry, no
            # breaker count), or the guard's answers map internal DNS.
            results = []
        allowed = [r for r in results if address_allowed(r["host"], self._allow_private)]
        if not allowed:
            raise BlockedAddress("no public address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def create_session(policy: UpstreamPolicy) -> aiohttp.ClientSession:
    """The process-wide session; create it inside the running event loop."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(policy.allow_private_networks),
        limit=policy.pool_size,
        limit_per_host=policy.pool_size_per_host,
        ttl_dns_cache=60,
        enable_cleanup_closed=True,
    )
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=policy.connect_timeout,
        sock_connect=policy.connect_timeout,
        sock_read=policy.read_timeout,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        trust_env=False,
        # No cookies kept: the session is shared by every tenant, and several
        # platforms serve all stores from one API host, so a cookie one store's
        # answer set would go out with another tenant's calls. (And a call
        # then skips the jar's filtering, which costs CPU on every request.)
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=True,
        headers={"User-Agent": USER_AGENT},
    )


class UpstreamResponse(msgspec.Struct, frozen=True):
    status: int
    headers: CIMultiDictProxy[str] | Mapping[str, str]
    body: bytes
    url: str

    def json(self) -> Any:
        """The body decoded as JSON, or ProviderBadResponse."""
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError:
            raise ProviderBadResponse(
                "the provider answered with a body that is not JSON",
                remote_status=self.status,
            ) from None


class UpstreamClient:
    """A thin, policy-enforcing front of the shared session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: UpstreamPolicy,
        breaker: "CircuitBreaker | None" = None,
    ) -> None:
        self.session = session
        self.policy = policy
        self.breaker = breaker

    def check_url(self, url: str | URL) -> URL:
        """Refuse what the policy forbids before any connection is made."""
        parsed = url if isinstance(url, URL) else URL(url)
        if parsed.scheme not in ("https", "http") or not parsed.host:
            raise ConfigurationError(f"not an http(s) URL: {parsed.scheme}://...")
        refusal = guard_refusal(parsed, self.policy.allow_private_networks)
        if refusal is not None:
            raise UpstreamBlocked(refusal)
        return parsed

    async def request(
        self,
        method: str,
        url: str | URL,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        auth: aiohttp.BasicAuth | None = None,
        follow_redirects: bool = True,
    ) -> UpstreamResponse:
        """``follow_redirects=False`` answers a redirect as it came (a webhook
        sender treats one as a failed delivery)."""
        target = self.check_url(url)
        if params:
            target = target.update_query(params)
        body = msgspec.json.encode(json) if json is not None else data
        send_headers = dict(headers or {})
        if json is not None:
            send_headers.setdefault("Content-Type", "application/json")
        for _hop in range(self.policy.max_redirects + 1):
            response = await self._send(method, target, send_headers, body, auth)
            if response.status not in REDIRECT_STATUSES or not follow_redirects:
                return response
            target = self._redirect_target(target, response)
            if response.status == 303:
                method, body = "GET", None
        raise ProviderBadResponse("the provider redirected too many times")

    def _redirect_target(self, current: URL, response: UpstreamResponse) -> URL:
        location = response.headers.get("Location")
        if not location:
            raise ProviderBadResponse(
                "the provider redirected without a Location", remote_status=response.status
            )
        target = current.join(URL(location))
        if target.origin() != current.origin():
            raise ProviderBadResponse(
                "the provider redirected to another origin; refused",
                remote_status=response.status,
            )
        return self.check_url(target)

    async def _send(
        self,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: Any,
        auth: aiohttp.BasicAuth | None,
    ) -> UpstreamResponse:
        record = calls.current()
        # One circuit per store and origin (a store's API and token hosts
        # differ). A call for no named store (a connection being verified
        # before it exists) has no history to learn from: it bypasses it.
        breaker = self.breaker if record.store else None
        circuit = (record.provider, record.store, url.scheme, url.host, url.port)
        if breaker is not None:
            breaker.before(circuit)
        try:
            response = await self._exchange(method, url, headers, body, auth, record)
        except (ProviderUnavailable, ProviderTimeout) as exc:
            if breaker is not None and not isinstance(exc, UpstreamBlocked):
                breaker.failure(circuit)
            raise
        if breaker is not None:
            if response.status >= 500:
                breaker.failure(circuit)
            else:
                breaker.success(circuit)
        record.upstream_status = response.status
        state = calls.rate_limit_from_headers(response.headers)
        if state is not None:
            record.rate_limit = state
        return response

    async def _exchange(
        self,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: Any,
        auth: aiohttp.BasicAuth | None,
        record: calls.CallRecord,
    ) -> UpstreamResponse:
        # The call's deadline bounds every hop, so a slow upstream ends as a
        # ProviderTimeout here (counted by the breaker), not as a cancellation.
        deadline = record.deadline
        try:
            async with asyncio.timeout_at(deadline):
                async with self.session.request(
                    method,
                    url,
                    headers=headers,
                    data=body,
                    auth=auth,
                    allow_redirects=False,
                ) as resp:
                    payload = await self._read_capped(resp)
                    return UpstreamResponse(resp.status, resp.headers, payload, str(resp.url))
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            raise ProviderTimeout("the provider did not answer in time") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddress):
                raise UpstreamBlocked(HOST_REFUSED) from None
            if isinstance(exc, aiohttp.ClientConnectorDNSError):
                raise ProviderUnavailable("the provider's host name does not resolve") from None
            raise ProviderUnavailable("could not connect to the provider") from None
        except aiohttp.ClientPayloadError as exc:
            if isinstance(exc.__cause__, ContentEncodingError):
                raise ProviderBadResponse("the provider's body could not be decoded") from None
            # The connection ended before the body did: a reset like one
            # before the answer (so retried), not a bad payload.
            raise ProviderUnavailable("the connection to the provider broke off") from None
        except aiohttp.InvalidURL:
            raise ConfigurationError("the upstream URL is invalid") from None
        except (aiohttp.ClientError, OSError):
            raise ProviderUnavailable("the connection to the provider failed") from None

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        cap = self.policy.max_response_bytes
        declared = resp.content_length
        if declared is not None and "Content-Encoding" not in resp.headers:
            if declared > cap:
                raise ProviderBadResponse(
                    f"the provider's response exceeds {cap} bytes", remote_status=resp.status
                )
            # Not compressed, so the declared length is what arrives (aiohttp
            # stops at it): read in one go, not chunk by chunk.
            return await resp.read()
        chunks = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > cap:
                raise ProviderBadResponse(
                    f"the provider's response exceeds {cap} bytes", remote_status=resp.status
                )
            chunks.append(chunk)
        return b"".join(chunks)


@functools.lru_cache(maxsize=4096)  # store hosts repeat on every call
def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds (``2``, ``2.0``) or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
        return max(0.0, seconds)
    # Neither NaN nor infinity ("inf", "1e400"): a wait must end.
    return seconds if 0 <= seconds < math.inf else None
