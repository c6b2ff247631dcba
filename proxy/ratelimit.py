"""Inbound protection: token buckets per tenant, per connection, and for
failed authentication per client address.

Buckets live in bounded LRU maps, so a flood of distinct keys or addresses
cannot grow memory without limit. All state is per process: with N
replicas the effective limit is up to N times the configured one.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict

from .problems import ApiError


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "updated")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, now: float | None = None) -> bool:
        self._refill(now if now is not None else time.monotonic())
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def empty(self, now: float | None = None) -> bool:
        self._refill(now if now is not None else time.monotonic())
        return self.tokens < 1

    def seconds_until_token(self) -> float:
        return max(0.0, (1 - self.tokens) / self.rate) if self.rate > 0 else 3600.0


class Limiter:
    """Buckets by key; ``rate <= 0`` disables the limit."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def bucket(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.rate, self.burst)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def check(self, key: str, what: str) -> None:
        """Take a token or raise 429 ``rate_limited`` with the standard headers."""
        if not self.enabled:
            return
        bucket = self.bucket(key)
        if not bucket.take():
            raise limited(bucket, f"too many requests for this {what}; slow down")


def limited(bucket: TokenBucket, detail: str) -> ApiError:
    wait = max(1, math.ceil(bucket.seconds_until_token()))
    return ApiError(
        429,
        "rate_limited",
        detail,
        headers={
            "Retry-After": str(wait),
            "RateLimit-Limit": str(int(bucket.burst)),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(wait),
        },
    )


class AuthFailureThrottle:
    """Slows down guessing from one address: each failed authentication
    spends a token; with none left, wrong credentials are answered 429
    instead of 401. It only ever judges failures: a valid credential is
    accepted whatever the address's budget (callers check it first).

    IPv6 clients are counted per /64, the block one subscriber usually
    holds, so walking through its addresses does not buy new budgets."""

    def __init__(self, rate: float, burst: float) -> None:
        self._limiter = Limiter(rate, burst)

    def blocked(self, address: str) -> TokenBucket | None:
        if not self._limiter.enabled:
            return None
        bucket = self._limiter.bucket(_subscriber(address))
        return bucket if bucket.empty() else None

    def failed(self, address: str) -> None:
        if self._limiter.enabled:
            self._limiter.bucket(_subscriber(address)).take()

    def refuse(self, address: str) -> None:
        """A failed authentication from ``address``: raises 429 once its
        budget is spent, else counts it (the caller then answers 401)."""
        blocked = self.blocked(address)
        if blocked is not None:
            raise limited(blocked, "too many failed authentications from this address")
        self.failed(address)


def _subscriber(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return address
