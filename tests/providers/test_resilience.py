"""Retries, backoff and the circuit breaker, without a clock: sleeps are recorded."""

import asyncio

import pytest

from providers import calls
from providers.errors import (
    CustomerNotFound,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UpstreamBlocked,
)
from providers.resilience import CircuitBreaker, CircuitOpen, RetryPolicy, retryable, with_retries


class Script:
    """Raises the given errors in order, then returns 'ok'."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def run(script, policy=RetryPolicy(max_attempts=3), timeout=10.0):
    sleeps = []

    async def fake_sleep(seconds):
        sleeps.append(seconds)

    calls.begin(timeout, "test")
    result = await with_retries(script, policy, sleep=fake_sleep)
    return result, sleeps


@pytest.mark.parametrize("error, expected", [
    (ProviderRateLimited("x", remote_status=429), True),
    (ProviderUnavailable("x"), True),  # connection failure
    (ProviderUnavailable("x", remote_status=502), True),
    (ProviderUnavailable("x", remote_status=503), True),
    (ProviderUnavailable("x", remote_status=504), True),
    (ProviderUnavailable("x", remote_status=500), False),
    (UpstreamBlocked("x"), False),
    (CircuitOpen("x"), False),
    (ProviderAuthFailed("x", remote_status=401), False),
    (CustomerNotFound("x", remote_status=404), False),
    (ProviderBadResponse("x", remote_status=400), False),
    (ProviderTimeout("x"), False),
])
def test_what_is_retried(error, expected):
    assert retryable(error) is expected


async def test_retries_then_succeeds_with_jittered_backoff():
    script = Script(ProviderUnavailable("x", remote_status=503), ProviderUnavailable("x"))
    result, sleeps = await run(script, RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=2))
    assert result == "ok" and script.calls == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.2
    assert calls.current().attempts == 3


async def test_provider_retry_after_wins():
    script = Script(ProviderRateLimited("x", remote_status=429, retry_after=1.5))
    _, sleeps = await run(script)
    assert sleeps == [1.5]


async def test_gives_up_after_max_attempts():
    script = Script(*[ProviderUnavailable("x", remote_status=502)] * 5)
    with pytest.raises(ProviderUnavailable):
        await run(script, RetryPolicy(max_attempts=3))
    assert script.calls == 3


async def test_never_retries_other_errors():
    script = Script(ProviderAuthFailed("x", remote_status=401))
    with pytest.raises(ProviderAuthFailed):
        await run(script)
    assert script.calls == 1


async def test_wait_beyond_the_deadline_returns_the_429_at_once():
    script = Script(ProviderRateLimited("x", remote_status=429, retry_after=30))
    with pytest.raises(ProviderRateLimited) as info:
        await run(script, timeout=5)
    assert info.value.retry_after == 30 and script.calls == 1


@pytest.fixture
def clock(monkeypatch):
    """The breaker's monotonic clock, moved by hand: clock[0] += seconds."""
    now = [1000.0]
    monkeypatch.setattr("providers.resilience.time.monotonic", lambda: now[0])
    return now


def test_breaker_opens_fails_fast_then_probes(clock):
    breaker = CircuitBreaker(threshold=3, cooldown=10)
    key, other = ("shopify", "https://a"), ("shopify", "https://b")
    for _ in range(3):
        breaker.before(key)
        breaker.failure(key)
    assert breaker.state(key) == "open"
    with pytest.raises(CircuitOpen):
        breaker.before(key)
    breaker.before(other)  # another store is unaffected
    clock[0] += 10
    assert breaker.state(key) == "half_open"
    breaker.before(key)  # the probe goes through
    with pytest.raises(CircuitOpen):
        breaker.before(key)  # ...alone
    breaker.failure(key)  # probe failed: open again
    assert breaker.state(key) == "open"
    clock[0] += 10
    breaker.before(key)
    breaker.success(key)
    assert breaker.state(key) == "closed"
    breaker.before(key)


def test_rate_limit_headers_are_normalised():
    bc = calls.rate_limit_from_headers({
        "X-Rate-Limit-Requests-Quota": "150", "X-Rate-Limit-Requests-Left": "149",
        "X-Rate-Limit-Time-Reset-Ms": "29000",
    })
    assert (bc.limit, bc.remaining, bc.reset_seconds) == (150, 149, 29)
    shopify = calls.rate_limit_from_headers({"X-Shopify-Shop-Api-Call-Limit": "32/40"})
    assert (shopify.limit, shopify.remaining) == (40, 8)
    generic = calls.rate_limit_from_headers({"RateLimit-Limit": "100", "RateLimit-Remaining": "5", "RateLimit-Reset": "7"})
    assert (generic.limit, generic.remaining, generic.reset_seconds) == (100, 5, 7)
    assert calls.rate_limit_from_headers({"Content-Type": "x"}) is None


def test_breaker_opens_when_most_calls_of_a_window_fail(clock):
    breaker = CircuitBreaker(threshold=100, cooldown=10, failure_ratio=0.5, min_calls=20, window=10)
    key = ("wix", "https://www.wixapis.com")
    for n in range(19):  # alternating: never 100 in a row, half of them failing
        (breaker.failure if n % 2 == 0 else breaker.success)(key)
    assert breaker.state(key) == "closed"  # too few calls to judge yet
    breaker.success(key)
    breaker.failure(key)  # 21 calls, 11 failed
    assert breaker.state(key) == "open"


def test_a_flaky_store_keeps_being_called(clock):
    # One call in five failing, in runs of bad luck of up to 9: the store still
    # answers most calls, so the circuit must stay closed.
    breaker = CircuitBreaker(threshold=10, cooldown=10, failure_ratio=0.5, min_calls=40, window=10)
    key = ("shopify", "https://a")
    for _ in range(50):
        for _ in range(9):
            breaker.failure(key)
        for _ in range(36):
            breaker.success(key)
        clock[0] += 1
    assert breaker.state(key) == "closed"


def test_the_window_forgets_old_failures(clock):
    breaker = CircuitBreaker(threshold=100, cooldown=10, failure_ratio=0.5, min_calls=20, window=10)
    key = ("shopify", "https://a")
    for _ in range(15):  # too few calls to judge, but they would count below
        breaker.failure(key)
    clock[0] += 10
    for _ in range(11):
        breaker.success(key)
    for _ in range(9):  # 9 of 20 in this window; 24 of 35 had the old ones counted
        breaker.failure(key)
    assert breaker.state(key) == "closed"


def test_calls_finishing_after_the_circuit_opened_neither_close_nor_extend_it(clock):
    breaker = CircuitBreaker(threshold=2, cooldown=10)
    key = ("shopify", "https://a")
    breaker.failure(key)
    breaker.failure(key)
    breaker.success(key)  # started before the circuit opened
    assert breaker.state(key) == "open"
    clock[0] += 5
    breaker.failure(key)  # so did this one: the cool-down still ends on time
    clock[0] += 5
    assert breaker.state(key) == "half_open"
