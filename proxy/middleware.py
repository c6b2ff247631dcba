"""Request context as a pure ASGI middleware: request id, one log line per
request, and the last line of defence that turns a bug into a problem+json
500 (with the request id to report) instead of a bare stack trace.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keys import secrets

from . import forwarded
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


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def metrics(scope: Scope) -> Any:
        app = scope.get("app")
        runtime = getattr(getattr(app, "state", None), "runtime", None)
        return getattr(runtime, "metrics", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        context = request_context(scope)
        context["request_id"] = request_id
        status_holder = [0]
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                extra = [
                    (name.encode(), value.encode())
                    for name, value in context.get("response_headers", {}).items()
                ]
                message["headers"] = [*headers, *extra, header]
            await send(message)

        try:
            too_long = _too_long(scope)
            if too_long is not None:
                await too_long.response(request_id)(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error", extra={"request_id": request_id})
            if status_holder[0] == 0:
                problem = ApiError(500, "internal_error", "an unexpected error occurred; quote the request_id")
                await problem.response(request_id)(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            elapsed = time.perf_counter() - started
            route_path = getattr(route, "path", None) or "unmatched"
            status = status_holder[0] or 500
            metrics = self.metrics(scope)
            if metrics is not None:
                method = scope.get("method", "")
                metrics.requests.labels(route_path, method, str(status)).inc()
                metrics.latency.labels(route_path, method).observe(elapsed)
            level = logging.DEBUG if route_path in _PROBE_ROUTES and status < 400 else logging.INFO
            access_log.log(
                level,
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "route": getattr(route, "path", None),
                    "status": status_holder[0] or 500,
                    "latency_ms": round(elapsed * 1000, 2),
                    "tenant_id": context.get("tenant_id"),
                    "connection_id": context.get("connection_id"),
                    "provider": context.get("provider"),
                    "upstream_status": context.get("upstream_status"),
                    "attempts": context.get("attempts"),
                    "error_code": context.get("error_code"),
                    "field_mapping_errors": context.get("field_mapping_errors"),
                },
            )


def _too_long(scope: Scope) -> ApiError | None:
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
    return "req_" + uuid.uuid4().hex


def _admin_token(scope: Scope) -> str | None:
    runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
    config = getattr(runtime, "config", None)
    return getattr(config, "admin_token", None)
