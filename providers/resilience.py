"""Retries with full-jitter backoff, and a circuit breaker per upstream.

Retried: connection failures, 429 and 502/503/504 (never other 4xx, never
500, never a refused destination), within the call's deadline and a
maximum number of attempts. A provider's own wait signal (Retry-After,
BigCommerce's reset, Shopify's throttle status) arrives as
``ProviderRateLimited.retry_after`` and wins over the computed backoff;
when that wait does not fit in the deadline, the 429 goes to the client
with its Retry-After instead of sleeping in vain.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Awaitable, Callable, TypeVar

import msgspec

from . import calls
from .errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    UpstreamBlocked,
)

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({502, 503, 504})


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    max_attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 2.0


def retryable(exc: ProviderError) -> bool:
    if isinstance(exc, ProviderRateLimited):
        return True
    if isinstance(exc, ProviderUnavailable) and not isinstance(exc, (UpstreamBlocked, CircuitOpen)):
        return exc.remote_status is None or exc.remote_status in RETRYABLE_STATUSES
    return False


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    record = calls.current()
    attempt = 0
    while True:
        attempt += 1
        record.attempts = attempt
        try:
            return await call()
        except ProviderError as exc:
            if not retryable(exc) or attempt >= policy.max_attempts:
                raise
            backoff = random.uniform(0, min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)))
            wait = backoff
            if isinstance(exc, ProviderRateLimited) and exc.retry_after is not None:
                wait = exc.retry_after
            remaining = record.remaining()
            # Keep a little of the budget for the attempt itself.
            if remaining is not None and wait > remaining - 0.05:
                raise
            await sleep(wait)


class CircuitOpen(ProviderUnavailable):
    """Calls to this upstream fail fast for a cool-down after repeated failures."""


class _Circuit:
    __slots__ = ("failures", "opened_at", "probing")

    def __init__(self) -> None:
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False


class CircuitBreaker:
    """Per (provider, origin): ``threshold`` consecutive failures open the
    circuit for ``cooldown`` seconds; then one probe is let through, and its
    outcome closes or re-opens the circuit."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0, max_keys: int = 10_000) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.max_keys = max_keys
        self._circuits: dict[tuple[str, str], _Circuit] = {}

    def before(self, key: tuple[str, str]) -> None:
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return
        if time.monotonic() - circuit.opened_at < self.cooldown or circuit.probing:
            raise CircuitOpen(
                "the provider failed repeatedly; calls are paused for a cool-down"
            )
        circuit.probing = True  # half-open: this call is the probe

    def success(self, key: tuple[str, str]) -> None:
        circuit = self._circuits.get(key)
        if circuit is not None:
            circuit.failures = 0
            circuit.opened_at = None
            circuit.probing = False

    def failure(self, key: tuple[str, str]) -> None:
        circuit = self._circuits.get(key)
        if circuit is None:
            if len(self._circuits) >= self.max_keys:
                self._circuits.clear()  # rare; losing breaker state is harmless
            circuit = self._circuits[key] = _Circuit()
        circuit.failures += 1
        if circuit.probing or circuit.failures >= self.threshold:
            circuit.opened_at = time.monotonic()
            circuit.probing = False

    def state(self, key: tuple[str, str]) -> str:
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return "closed"
        if time.monotonic() - circuit.opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def open_count(self) -> int:
        return sum(1 for k in self._circuits if self.state(k) != "closed")
