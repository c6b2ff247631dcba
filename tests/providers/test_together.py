"""providers.together: calls made at the same time, their failures read in order."""

from __future__ import annotations

import asyncio

import pytest

from providers.errors import CustomerNotFound, ProviderRateLimited
from providers.together import together


async def test_results_in_call_order():
    async def late() -> str:
        await asyncio.sleep(0.01)
        return "customer"

    async def early() -> str:
        return "addresses"

    assert await together(late(), early()) == ["customer", "addresses"]


async def test_the_earliest_calls_error_speaks_and_every_call_ends():
    ended = []

    async def missing() -> None:
        raise CustomerNotFound("no such customer")

    async def slow_limited() -> None:
        await asyncio.sleep(0.01)
        ended.append("addresses")
        raise ProviderRateLimited("rate limit", retry_after=1.0)

    with pytest.raises(CustomerNotFound):
        await together(missing(), slow_limited())
    assert ended == ["addresses"]  # not left running


async def test_a_bug_is_never_hidden_behind_a_provider_error():
    async def limited() -> None:
        raise ProviderRateLimited("rate limit")

    async def bug() -> None:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        await together(limited(), bug())
