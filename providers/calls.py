"""What one provider call carries across layers without threading it
through every signature: the deadline, the provider's name and the store
(with the origin, the circuit breaker's key), and what happened (attempts,
upstream status, the provider's own rate-limit state), and what the field
mappings will read of the answer. The proxy opens a
:class:`CallRecord` per request."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import msgspec


class RateLimitState(msgspec.Struct, kw_only=True):
    limit: float | None = None
    remaining: float | None = None
    reset_seconds: float | None = None


class CallRecord(msgspec.Struct, kw_only=True):
    deadline: float | None = None  # event-loop time
    provider: str = ""
    # Which store the call is for (the proxy passes the connection id). Several
    # platforms serve every store from one API host, so the breaker keys on
    # the store: one merchant's broken store must not pause another's.
    store: str = ""
    attempts: int = 0
    upstream_status: int | None = None
    rate_limit: RateLimitState | None = None
    # The JMESPath expressions of the field mappings applied to the answer:
    # a provider that chooses what to ask for (Shopify's GraphQL selection)
    # asks for what they read and no more.
    mapped: tuple[str, ...] = ()
    # Whether the caller reads the platform's JSON as it came (remote_data,
    # field mappings, the raw format). When it does not, a provider may decode
    # the answer straight into its payload Structs and keep no plain copy.
    keep_raw: bool = True

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - asyncio.get_running_loop().time()


_current: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "shoprelay_call", default=None
)


def current() -> CallRecord:
    """The record of the call in progress (a throwaway one outside any)."""
    record = _current.get()
    if record is None:
        record = CallRecord()
        _current.set(record)
    return record


def begin(
    timeout: float | None = None, provider: str = "", store: str = "", mapped: tuple[str, ...] = (),
    keep_raw: bool = True,
) -> CallRecord:
    deadline = asyncio.get_running_loop().time() + timeout if timeout is not None else None
    record = CallRecord(deadline=deadline, provider=provider, store=store, mapped=mapped, keep_raw=keep_raw)
    _current.set(record)
    return record


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def rate_limit_from_headers(headers: Any) -> RateLimitState | None:
    """The provider's rate-limit state from the headers providers document:
    BigCommerce ``X-Rate-Limit-*``, Shopify REST ``X-Shopify-Shop-Api-Call-Limit``,
    and the common ``RateLimit-*`` / ``X-RateLimit-*`` families."""
    get = headers.get
    if get("X-Rate-Limit-Requests-Quota") is not None:
        reset_ms = _number(get("X-Rate-Limit-Time-Reset-Ms"))
        return RateLimitState(
            limit=_number(get("X-Rate-Limit-Requests-Quota")),
            remaining=_number(get("X-Rate-Limit-Requests-Left")),
            reset_seconds=reset_ms / 1000 if reset_ms is not None else None,
        )
    call_limit = get("X-Shopify-Shop-Api-Call-Limit")
    if call_limit and "/" in call_limit:
        used, _, size = call_limit.partition("/")
        used_n, size_n = _number(used), _number(size)
        if used_n is not None and size_n is not None:
            return RateLimitState(limit=size_n, remaining=max(0.0, size_n - used_n))
    for prefix in ("RateLimit-", "X-RateLimit-"):
        if get(prefix + "Limit") is not None or get(prefix + "Remaining") is not None:
            return RateLimitState(
                limit=_number(get(prefix + "Limit")),
                remaining=_number(get(prefix + "Remaining")),
                reset_seconds=_number(get(prefix + "Reset")),
            )
    return None
