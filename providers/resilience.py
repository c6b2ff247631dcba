"""Retries with full-jitter backoff, and a circuit breaker per store.

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
from typing import Awaitable, Callable, Hashable, TypeVar

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
    __slots__ = ("consecutive", "window_start", "calls", "failures", "opened_at", "probing")

    def __init__(self, now: float) -> None:
        self.consecutive = 0
        self.window_start = now
        self.calls = 0
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False

    def count(self, failed: bool, now: float, window: float) -> None:
        if now - self.window_start >= window:
            self.window_start, self.calls, self.failures = now, 0, 0
        self.calls += 1
        self.failures += failed
        self.consecutive = self.consecutive + 1 if failed else 0


class CircuitBreaker:
    """Per key: the HTTP layer uses (provider, store, origin), so stores that
    share an API host (BigCommerce, Wix, Commerce7, Zoho) never pause each
    other. The circuit opens for ``cooldown`` seconds when
    a store looks down, not merely flaky: after ``threshold`` consecutive
    failures (a dead store with little traffic), or when at least
    ``failure_ratio`` of the ``min_calls`` or more calls of the current
    ``window`` failed (a dead store under load). A store failing one call in
    five keeps being called: each call there still has a good chance, and
    tripping on runs of bad luck would turn 80% success into 0%. After the
    cool-down one probe is let through; its outcome closes or re-opens it."""

    def __init__(
        self,
        threshold: int = 10,
        cooldown: float = 30.0,
        *,
        failure_ratio: float = 0.5,
        min_calls: int = 40,
        window: float = 10.0,
        max_keys: int = 10_000,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failure_ratio = failure_ratio
        self.min_calls = min_calls
        self.window = window
        self.max_keys = max_keys
        self._circuits: dict[Hashable, _Circuit] = {}

    def before(self, key: Hashable) -> None:
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return
        if time.monotonic() - circuit.opened_at < self.cooldown or circuit.probing:
            raise CircuitOpen(
                "the provider failed repeatedly; calls are paused for a cool-down"
            )
        circuit.probing = True  # half-open: this call is the probe

    def success(self, key: Hashable) -> None:
        circuit = self._circuits.get(key)
        if circuit is None:
            return  # a store that never failed needs no state: keeps the table to failing ones
        now = time.monotonic()
        if circuit.opened_at is not None and not circuit.probing:
            return  # a call from before the circuit opened: only the probe may close it
        circuit.count(False, now, self.window)
        circuit.opened_at = None
        circuit.probing = False

    def failure(self, key: Hashable) -> None:
        now = time.monotonic()
        circuit = self._circuits.get(key)
        if circuit is None:
            if len(self._circuits) >= self.max_keys:
                self._circuits.clear()  # rare; losing breaker state is harmless
            circuit = self._circuits[key] = _Circuit(now)
        if circuit.opened_at is not None and not circuit.probing:
            return  # a call from before the circuit opened: it must not extend the cool-down
        circuit.count(True, now, self.window)
        if circuit.probing or self._tripped(circuit):
            circuit.opened_at = now
            circuit.probing = False
            circuit.window_start, circuit.calls, circuit.failures = now, 0, 0

    def _tripped(self, circuit: _Circuit) -> bool:
        if circuit.consecutive >= self.threshold:
            return True
        return circuit.calls >= self.min_calls and circuit.failures >= self.failure_ratio * circuit.calls

    def state(self, key: Hashable) -> str:
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return "closed"
        if time.monotonic() - circuit.opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def open_count(self) -> int:
        return sum(1 for k in self._circuits if self.state(k) != "closed")
