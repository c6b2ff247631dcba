"""Platform calls made at the same time (a customer and its addresses).

``together`` waits for every call, so none is left running behind an error,
then raises: a bug (any other exception) first, else the earliest call's
ProviderError, which says most (the customer's own 404 before its
addresses' answer).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable

from .errors import ProviderError


async def together(*calls: Awaitable[Any]) -> list[Any]:
    results = await asyncio.gather(*calls, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        if not isinstance(failure, ProviderError):
            raise failure
    if failures:
        raise failures[0]
    return list(results)
