"""Request context as a pure ASGI middleware: request id, one log line per
request, and the last line of defence that turns a bug into a problem+json
500 (with the request id to report) instead of a bare stack trace.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keys import secrets

from . import forwarded, logs
from .problems import ApiError

access_log = logging.getLogger("shoprelay.access")
error_log = logging.getLogger("shoprelay.error")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,128}$")
MAX_PATH_BYTES = 2048
MAX_QUERY_BYTES = 8192
# Probes and scrapes (a compose healthcheck every 10 s): DEBUG when they
# succeed, so they do not bury the requests that matter.
_PROBE_ROUTES = frozenset({"/health", "/ready", "/metrics"})


def client_address(request: Any) -> str:
    """Who is asking, for per-address throttling: the peer, or the client
    behind it when the peer is one of SHOPRELAY_TRUSTED_PROXIES."""
    client = request.scope.get("client")
    peer = client[0] if client else ""
    runtime = getattr(request.app.state, "runtime", None)
    trusted = getattr(runtime, "trusted_proxies", ())
    if not trusted:
        return peer
    return forwarded.client_of(peer, request.headers.getlist("x-forwarded-for"), trusted)


def request_context(scope: Scope) -> dict[str, Any]:
    """Per-request fields the handlers fill in for the log line."""
    return scope.setdefault("shoprelay", {})


def begin(scope: Scope) -> dict[str, Any]:
    """The request's log context, with its request id."""
    context = request_context(scope)
    context["request_id"] = _request_id(scope)
    return context


def with_context_headers(headers: list[tuple[bytes, bytes]], context: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """A response's headers with the ones the handlers asked for
    (``response_headers``) and the request id, which replaces any other."""
    kept = [h for h in headers if h[0].lower() != b"x-request-id"]
    extra = [(name.encode(), value.encode()) for name, value in context.get("response_headers", {}).items()]
    return [*kept, *extra, (b"x-request-id", context["request_id"].encode())]


def finish(scope: Scope, context: dict[str, Any], status: int, started: float) -> None:
    """The request's metrics and its access line. ``status`` 0: no answer was sent (a 500)."""
    elapsed = time.perf_counter() - started
    status = status or 500
    metrics = _metrics(scope)
    if metrics is not None:
        count_request(metrics, scope, status, elapsed)
    access_line(scope, context, status, elapsed)


def count_request(metrics: Any, scope: Scope, status: int, elapsed: float) -> None:
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    method = scope.get("method", "")
    metrics.requests.labels(route, method, str(status)).inc()
    metrics.latency.labels(route, method).observe(elapsed)


def access_line(scope: Scope, context: dict[str, Any], status: int, elapsed: float) -> None:
    """The request's line in the access log (INFO; DEBUG for a probe that succeeded)."""
    route = getattr(scope.get("route"), "path", None)
    level = logging.DEBUG if route in _PROBE_ROUTES and status < 400 else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    fields = {
        "request_id": context["request_id"],
        "method": scope.get("method"),
        "route": route,
        "status": status,
        "latency_ms": round(elapsed * 1000, 2),
        "tenant_id": context.get("tenant_id"),
        "connection_id": context.get("connection_id"),
        "provider": context.get("provider"),
        "upstream_status": context.get("upstream_status"),
        "attempts": context.get("attempts"),
        "error_code": context.get("error_code"),
        "field_mapping_errors": context.get("field_mapping_errors"),
    }
    sink = logs.direct_sink(access_log, level)
    if sink is not None:  # the same line, without a LogRecord: this runs once per request
        sink.write_entry(logging.getLevelName(level).lower(), access_log.name, "request", fields)
    else:
        access_log.log(level, "request", extra=fields)


def _metrics(scope: Scope) -> Any:
    runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
    return getattr(runtime, "metrics", None)


async def internal_error(scope: Scope, receive: Receive, send: Send, request_id: str, answered: bool) -> None:
    """A bug: logged with its traceback and, when no answer has begun,
    answered 500 with the request id to quote."""
    error_log.exception("unhandled error", extra={"request_id": request_id})
    if not answered:
        problem = ApiError(500, "internal_error", "an unexpected error occurred; quote the request_id")
        await problem.response(request_id)(scope, receive, send)


def sending_with_context(send: Send, context: dict[str, Any], status: list[int]) -> Send:
    """``send`` with the context's headers added to the answer, whose
    status is kept in ``status[0]`` (0 until it begins)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
            message["headers"] = with_context_headers(message.get("headers", []), context)
        await send(message)

    return sending


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        context = begin(scope)
        status = [0]
        send_with_id = sending_with_context(send, context, status)
        try:
            refusal = too_long(scope)
            if refusal is not None:
                await refusal.response(context["request_id"])(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            await internal_error(scope, receive, send_with_id, context["request_id"], answered=status[0] != 0)
        finally:
            finish(scope, context, status[0], started)


def too_long(scope: Scope) -> ApiError | None:
    """The 414 for a path or query string over its bound, refused before routing."""
    if len(scope.get("raw_path") or scope.get("path", "").encode()) > MAX_PATH_BYTES:
        return ApiError(414, "invalid_request", f"the path exceeds {MAX_PATH_BYTES} bytes")
    if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
        return ApiError(414, "invalid_request", f"the query string exceeds {MAX_QUERY_BYTES} bytes")
    return None


_SECRET_PREFIXES = (
    secrets.API_KEY_PREFIX, secrets.CONNECTION_TOKEN_PREFIX, secrets.CONNECT_SESSION_PREFIX,
    secrets.CONNECT_CODE_PREFIX,
)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            # A key, token or the admin token pasted into the wrong header
            # must not be logged or echoed. (Equality, not containment, for
            # the admin token: this answer is an oracle, and one guess per
            # request at a 32+ character token is as good as none.)
            if (
                _CLIENT_REQUEST_ID.match(candidate)
                and not candidate.startswith(_SECRET_PREFIXES)
                and candidate != _admin_token(scope)
            ):
                return candidate
            break
    return "req_" + os.urandom(16).hex()  # a random 128 bits, as uuid4's, made for less


def _admin_token(scope: Scope) -> str | None:
    runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
    config = getattr(runtime, "config", None)
    return getattr(config, "admin_token", None)
