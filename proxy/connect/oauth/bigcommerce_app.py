"""BigCommerce's load and uninstall callbacks (reference/connect-flows.md A.2).

``GET /connect/oauth/bigcommerce/load`` (the merchant opens the app in the
control panel) and ``GET /connect/oauth/bigcommerce/uninstall`` (the merchant
removed it) carry only ``signed_payload_jwt``; signed_payload.py checks it
with the secret of the app its ``aud`` names. Load shows a small page (the
control panel frames it). Uninstall deletes every connection made from that
grant (``bigcommerce:{client_id}:{store_hash}``), whichever tenant holds it,
each with its ``connection.deleted`` event; the token died with the install.
An unverified payload changes nothing and is answered 401.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import accounts, params
from ...provider_apps import ResolvedApp, resolve
from ..page import PageError, render
from . import signed_payload
from .bigcommerce import DISPLAY, PROVIDER, _framed_by_control_panel, grant_key

log = logging.getLogger("shoprelay.connect")


async def _apps_named(runtime: Any, client_id: str) -> list[ResolvedApp]:
    """The BigCommerce apps (tenants' own and the operator's) with that client id."""
    found = []
    for app in await runtime.store.list_provider_apps(None, everyone=True):
        if app.provider == PROVIDER and app.client_id == client_id:
            resolved = await resolve(runtime, app.tenant_id or "", PROVIDER)
            if resolved is not None and resolved.client_id == client_id:
                found.append(resolved)
    return found


async def verified(request: Request) -> signed_payload.SignedPayload:
    """The payload, verified with the secret of the app it names; else 401."""
    token = params.single(request.query_params, "signed_payload_jwt") or ""
    client_id = signed_payload.audience(token)
    problem = "the request does not carry a signed payload from BigCommerce"
    for app in await _apps_named(request.app.state.runtime, client_id) if client_id else []:
        try:
            return signed_payload.verify(token, app.client_id, app.client_secret)
        except signed_payload.InvalidPayload as exc:
            problem = str(exc)
    raise PageError(401, "This request is not from BigCommerce", problem[:1].upper() + problem[1:] + ".",
                    headers=_framed_by_control_panel(None))


@params.accepts("signed_payload_jwt")
async def load(request: Request) -> Response:
    payload = await verified(request)
    runtime = request.app.state.runtime
    count = len(await runtime.store.connections_with_grant(grant_key(payload.client_id, payload.store_hash)))
    text = (f"This store is connected to {count} app{'s' if count != 1 else ''} through shoprelay."
            if count else "This store is not connected to an app yet: open the connection link the app gives you.")
    return render(request, "message.html", {"title": f"{DISPLAY} store {payload.store_hash}", "text": text,
                                            "link": None}, headers=_framed_by_control_panel(None))


@params.accepts("signed_payload_jwt")
async def uninstall(request: Request) -> Response:
    payload = await verified(request)
    runtime = request.app.state.runtime
    deleted = 0
    for connection in await runtime.store.connections_with_grant(grant_key(payload.client_id, payload.store_hash)):
        if await accounts.delete_connection(runtime.store, connection):
            deleted += 1
    if deleted:
        await runtime.directory.poll_once()  # their tokens stop working now, not at the next poll
        runtime.webhooks.wake()
    log.info("bigcommerce uninstall: store %s, %d connection(s) deleted", payload.store_hash, deleted)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
