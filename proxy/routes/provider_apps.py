"""A tenant's own provider apps (``x-api-key``): ``PUT``/``GET``/``DELETE
/provider-apps/{provider}`` and ``GET /provider-apps``. A key only ever sees
its own tenant's apps (never the operator's default, never another
tenant's); the client secret goes in and never comes out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import params, provider_apps
from ..bodies import ProviderAppPut, read_json
from ..middleware import request_context
from ..problems import ApiError, invalid_parameter
from ..store import Conflict
from ..store.records import ProviderApp
from ..views import ProviderAppList, ProviderAppView
from .management import json_response, tenant_of


def _view(request: Request, app: ProviderApp) -> ProviderAppView:
    config = request.app.state.runtime.config
    return ProviderAppView.of(app, provider_apps.callback_url(config, app.provider))


def _provider(request: Request) -> str:
    """The path's provider, if an app can be set for it: else 404, as for
    any path naming something that is not there."""
    provider = request.path_params["provider"]
    try:
        provider_apps.check_provider(provider)
    except provider_apps.UnknownProvider as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    request_context(request.scope)["provider"] = provider
    return provider


def _none() -> ApiError:
    return ApiError(404, "not_found", "this tenant has no app for that provider")


@params.accepts()
async def put_app(request: Request) -> Response:
    owner = await tenant_of(request)
    provider = _provider(request)
    body = await read_json(request, ProviderAppPut)
    runtime = request.app.state.runtime
    try:
        app, created = await provider_apps.put_app(
            runtime.store, runtime.keyring, owner.tenant_id, provider,
            body.client_id, body.client_secret, body.scopes, body.settings,
            allow_private_networks=runtime.config.allow_private_networks,
        )
    except provider_apps.InvalidApp as exc:
        raise invalid_parameter(exc.field, exc.detail) from None
    except Conflict:
        # The tenant went away under the key (no deletion exists today).
        raise ApiError(404, "not_found", "no tenant has that id") from None
    return json_response(_view(request, app), 201 if created else 200)


@params.accepts()
async def get_app(request: Request) -> Response:
    owner = await tenant_of(request)
    provider = _provider(request)
    app = await request.app.state.runtime.store.get_provider_app(owner.tenant_id, provider)
    if app is None:
        raise _none()
    return json_response(_view(request, app))


@params.accepts()
async def delete_app(request: Request) -> Response:
    owner = await tenant_of(request)
    provider = _provider(request)
    if not await request.app.state.runtime.store.delete_provider_app(owner.tenant_id, provider):
        raise _none()
    return Response(status_code=204)


@params.accepts()
async def list_apps(request: Request) -> Response:
    owner = await tenant_of(request)
    apps = await request.app.state.runtime.store.list_provider_apps(owner.tenant_id)
    return json_response(ProviderAppList([_view(request, app) for app in apps]))
