"""The ASGI application: routes, error rendering and the lifespan."""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from .config import Config
from .hot_routes import HotRoutes
from .middleware import RequestContextMiddleware, request_context
from .problems import ApiError
from . import gc_tuning
from .connect import exchange as connect_exchange, page as connect_page, sessions as connect_sessions
from .connect.oauth import routes as connect_oauth
from .routes import admin, management, provider_apps, reference, tenant, truto, webhooks
from .routes.customers import list_customers, retrieve_customer
from .routes.health import health, ready
from .runtime import Runtime
from .store import InvalidValue, StoreUnavailable


class Shoprelay(Starlette):
    """Starlette, with the customer reads answered by ``HotRoutes`` ahead of its layers."""

    hot: HotRoutes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        found = self.hot.match(scope)
        if found is None:
            await super().__call__(scope, receive, send)
        else:
            await self.hot.serve(self, *found, scope, receive, send)


def create_app(config: Config | None = None) -> Starlette:
    config = config or Config.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Runtime.running(config) as runtime:
            app.state.runtime = runtime
            gc_tuning.settle()
            yield

    customer_reads = [
        Route("/ecommerce/customers/{id}", retrieve_customer, methods=["GET"]),
        Route("/ecommerce/customers", list_customers, methods=["GET"]),
        # Truto's surface over the same pipeline (Bearer API key + integrated_account_id).
        Route("/unified/ecommerce/customers/{id}", truto.retrieve_customer, methods=["GET"]),
        Route("/unified/ecommerce/customers", truto.list_customers, methods=["GET"]),
    ]
    exception_handlers = {
        ApiError: _api_error,
        connect_page.PageError: _page_error,
        HTTPException: _http_error,
        StoreUnavailable: _store_unavailable,
        InvalidValue: _invalid_value,
        ClientDisconnect: _client_disconnect,
    }
    app = Shoprelay(
        routes=[
            # Served by HotRoutes; here too for HEAD, and for the OpenAPI check of the routes.
            *customer_reads,
            Route("/health", health, methods=["GET"]),
            Route("/openapi.json", reference.openapi_json, methods=["GET"]),
            Route("/docs", reference.docs, methods=["GET"]),
            Route("/docs/init.js", reference.docs_init, methods=["GET"]),
            Mount("/docs/assets", app=reference.assets),
            Route("/", reference.root, methods=["GET"]),
            Route("/metrics", reference.metrics, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/connections", management.create_connection, methods=["POST"]),
            Route("/connections", management.list_connections, methods=["GET"]),
            Route("/connections/{id}", management.get_connection, methods=["GET"]),
            Route("/connections/{id}", management.patch_connection, methods=["PATCH"]),
            Route("/connections/{id}", management.delete_connection, methods=["DELETE"]),
            Route("/connections/{id}/rotate-token", management.rotate_token, methods=["POST"]),
            Route("/field-mappings", management.create_field_mapping, methods=["POST"]),
            Route("/field-mappings", management.list_field_mappings, methods=["GET"]),
            Route("/field-mappings/{id}", management.delete_field_mapping, methods=["DELETE"]),
            Route("/tenant", tenant.get_tenant, methods=["GET"]),
            Route("/tenant", tenant.patch_tenant, methods=["PATCH"]),
            Route("/tenant/webhook-secret/rotate", tenant.rotate_webhook_secret, methods=["POST"]),
            Route("/webhook-deliveries", webhooks.list_deliveries, methods=["GET"]),
            Route("/provider-apps", provider_apps.list_apps, methods=["GET"]),
            Route("/provider-apps/{provider}", provider_apps.put_app, methods=["PUT"]),
            Route("/provider-apps/{provider}", provider_apps.get_app, methods=["GET"]),
            Route("/provider-apps/{provider}", provider_apps.delete_app, methods=["DELETE"]),
            Route("/admin/tenants", admin.create_tenant, methods=["POST"]),
            Route("/admin/tenants", admin.list_tenants, methods=["GET"]),
            Route("/admin/tenants/{id}/api-keys", admin.create_api_key, methods=["POST"]),
            Route("/admin/api-keys/{id}", admin.revoke_api_key, methods=["DELETE"]),
            # Connect: the JSON API (x-api-key), then the merchant's pages.
            Route("/connect/sessions", connect_sessions.create_session, methods=["POST"]),
            Route("/connect/sessions/{id}", connect_sessions.get_session, methods=["GET"]),
            Route("/connect/exchange", connect_exchange.exchange, methods=["POST"]),
            Route(connect_page.START_PATH, connect_page.start, methods=["GET"]),
            Route("/connect", connect_page.picker, methods=["GET"]),
            Route("/connect/providers/{provider}", connect_page.provider_form, methods=["GET"]),
            Route("/connect/providers/{provider}", connect_page.submit, methods=["POST"]),
            *connect_oauth.routes(),  # OAuth installs: start, callback, choose, and each flow's own
            Mount("/connect/assets", app=connect_page.assets),
        ],
        middleware=[Middleware(RequestContextMiddleware)],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    app.hot = HotRoutes(customer_reads, exception_handlers)
    # An API answers the path it was asked, not a redirect to a guess.
    app.router.redirect_slashes = False
    return app


def _render(request: Request, error: ApiError) -> Response:
    context = request_context(request.scope)
    context["error_code"] = error.code
    if connect_page.is_page(request.url.path):
        return connect_page.api_error_page(request, error)  # a person reads these
    return error.response(context.get("request_id", ""))


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, connect_page.PageError)
    return connect_page.error_page(request, exc)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _render(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = ApiError(404, "not_found", "no such route")
    elif exc.status_code == 405:
        error = ApiError(405, "method_not_allowed", "method not allowed on this route", headers=dict(exc.headers or {}))
    else:
        error = ApiError(exc.status_code, "invalid_request", str(exc.detail))
    return _render(request, error)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    return _render(request, ApiError(503, "store_unavailable", "the store does not answer; retry shortly", headers={"Retry-After": "1"}))


async def _invalid_value(request: Request, exc: Exception) -> Response:
    return _render(request, ApiError(400, "invalid_request", str(exc)))


async def _client_disconnect(request: Request, exc: Exception) -> Response:
    # The client left, or was closed for sending its body too slowly
    # (SHOPRELAY_CLIENT_READ_TIMEOUT): its fault, not ours, and nobody reads
    # this answer; it only keeps the access log honest.
    return _render(request, ApiError(400, "invalid_request", "the connection closed before the request body arrived"))
