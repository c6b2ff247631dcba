"""The customer reads, answered without Starlette's layers.

Starlette answers a request through five ASGI layers (its error middleware,
ours, the exception middleware, the router, the endpoint's wrapper), each
wrapping ``send`` once more; on the customer reads, which are nearly all of
the traffic, that was a tenth of the CPU per request (issue 17). Here those
few routes are matched by their own pattern and run with the same endpoint,
the same exception handlers, the same request context (request id, bounds on
the path and query, access line, metrics) and the same 500 for a bug. Every
other request, and HEAD, goes through Starlette as before.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .middleware import begin, finish, internal_error, sending_with_context, too_long, with_context_headers

ExceptionHandler = Callable[[Request, Exception], Any]


class HotRoutes:
    def __init__(self, routes: Iterable[Route], handlers: dict[Any, ExceptionHandler]) -> None:
        self.routes = [route for route in routes if route.methods == {"GET", "HEAD"}]
        # Only exception classes: Starlette also keys handlers by status code,
        # which an endpoint raising HTTPException would need (ours do not).
        self.handlers = {kind: handler for kind, handler in handlers.items() if isinstance(kind, type)}

    def match(self, scope: Scope) -> tuple[Route, dict[str, Any]] | None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return None
        path = scope["path"]
        for route in self.routes:
            found = route.path_regex.match(path)
            if found is not None:
                params = {
                    name: route.param_convertors[name].convert(value) for name, value in found.groupdict().items()
                }
                return route, params
        return None

    async def serve(
        self, app: Any, route: Route, params: dict[str, Any], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """What Starlette and RequestContextMiddleware would do for this route, in one frame."""
        started = time.perf_counter()
        scope["app"] = app
        context = begin(scope)
        status = 0
        try:
            refusal = too_long(scope)
            if refusal is not None:  # refused before routing, as RequestContextMiddleware does
                response = refusal.response(context["request_id"])
            else:
                scope["router"] = app.router
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = params
                request = Request(scope, receive)
                try:
                    response = await route.endpoint(request)
                except Exception as exc:
                    handler = self._handler_for(exc)
                    if handler is None:
                        raise
                    response = await handler(request, exc)
                    exc.__traceback__ = None  # as Starlette does: the frames are not kept alive
            status = response.status_code
            await _send_response(response, context, scope, receive, send)
        except Exception:
            await internal_error(
                scope, receive, sending_with_context(send, context, [0]), context["request_id"], answered=status != 0
            )
        finally:
            finish(scope, context, status, started)

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        for kind in type(exc).__mro__:
            if kind in self.handlers:
                return self.handlers[kind]
        return None


async def _send_response(
    response: Response, context: dict[str, Any], scope: Scope, receive: Receive, send: Send
) -> None:
    if type(response) is Response and response.background is None:
        # A whole body in hand: two messages, no wrapper.
        headers = with_context_headers(response.raw_headers, context)
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
        return
    await response(scope, receive, sending_with_context(send, context, [0]))  # streamed (Truto's stream format)
