"""``GET /webhook-deliveries`` (``x-api-key``): the tenant's recent webhook
events and how their delivery went, newest first. The bodies are not
repeated here (the tenant's endpoint has them); neither is the URL or the
secret."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import params
from ..views import WebhookDelivery, WebhookDeliveryList
from .management import json_response, tenant_of

DEFAULT_PAGE = 50
MAX_PAGE = 100


@params.accepts("limit")
async def list_deliveries(request: Request) -> Response:
    owner = await tenant_of(request)
    limit = params.integer(request.query_params, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    events = await request.app.state.runtime.store.list_webhook_events(owner.tenant_id, limit)
    return json_response(WebhookDeliveryList([WebhookDelivery.of(e) for e in events]))
