"""The tenant's own settings (``x-api-key``): ``GET``/``PATCH /tenant`` and
``POST /tenant/webhook-secret/rotate``. A key only ever reads and changes
its own tenant. The webhook secret is in an answer once, when it is made."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, params, tenant_settings
from ..bodies import TenantPatch, read_json
from ..problems import ApiError
from ..store.records import Tenant
from ..views import TenantSettings, TenantSettingsWithSecret
from .management import json_response, tenant_of


def _view(tenant: Tenant, secret: str | None) -> TenantSettings:
    view = TenantSettings.of(tenant)
    if secret is None:
        return view
    return TenantSettingsWithSecret(
        id=view.id, name=view.name, return_urls=view.return_urls, webhook_url=view.webhook_url,
        webhook_secret=secret,
    )


def _gone() -> ApiError:
    # The key was valid a moment ago; its tenant cannot be deleted today,
    # so this is only a race with a future tenant deletion.
    return ApiError(404, "not_found", "no tenant has that id")


@params.accepts()
async def get_tenant(request: Request) -> Response:
    owner = await tenant_of(request)
    tenant = await request.app.state.runtime.store.get_tenant(owner.tenant_id)
    if tenant is None:
        raise _gone()
    return json_response(TenantSettings.of(tenant))


@params.accepts()
async def patch_tenant(request: Request) -> Response:
    owner = await tenant_of(request)
    body = await read_json(request, TenantPatch)
    runtime = request.app.state.runtime
    try:
        tenant, secret = await tenant_settings.update_settings(
            runtime.store, runtime.keyring, owner.tenant_id,
            name=body.name, return_urls=body.return_urls, webhook_url=body.webhook_url,
            allow_private_networks=runtime.config.allow_private_networks,
        )
    except accounts.InvalidInput as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except accounts.UnknownTenant:
        raise _gone() from None
    return json_response(_view(tenant, secret))


@params.accepts()
async def rotate_webhook_secret(request: Request) -> Response:
    owner = await tenant_of(request)
    runtime = request.app.state.runtime
    try:
        tenant, secret = await tenant_settings.rotate_webhook_secret(
            runtime.store, runtime.keyring, owner.tenant_id
        )
    except tenant_settings.NoWebhookUrl as exc:
        raise ApiError(409, "conflict", f"{exc} (PATCH /tenant)") from None
    except accounts.UnknownTenant:
        raise _gone() from None
    return json_response(_view(tenant, secret))
