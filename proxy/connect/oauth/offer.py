"""Whether the connect form offers "Connect with PLATFORM": a flow exists
for the provider and, when it needs one, a provider app resolves for the
session's tenant (its own, else the operator's default)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec

from ... import provider_apps
from ...accounts import UnreadableCredentials
from .. import forms
from .flow import FLOWS, OAuthFlow

if TYPE_CHECKING:
    from ...provider_apps import ResolvedApp

log = logging.getLogger("shoprelay.connect")


class Offer(msgspec.Struct, frozen=True, kw_only=True):
    flow: OAuthFlow
    app: "ResolvedApp | None"
    inputs: list[forms.Field]  # the provider form's fields the merchant types first

    def __repr__(self) -> str:  # the app holds its secret
        return f"Offer(provider={self.flow.provider!r})"


async def offer_for(runtime: Any, tenant_id: str, form: forms.Form) -> Offer | None:
    flow = FLOWS.get(form.provider)
    if flow is None:
        return None
    app = await app_for(runtime, tenant_id, flow)
    if flow.needs_app and app is None:
        return None
    inputs = [field for name in flow.inputs if (field := form.field(name)) is not None]
    return Offer(flow=flow, app=app, inputs=inputs)


async def app_for(runtime: Any, tenant_id: str, flow: OAuthFlow) -> "ResolvedApp | None":
    """The provider app ``flow`` signs in with for this tenant: its own, else
    the operator's default. None when the flow needs none, or none resolves;
    one that cannot be decrypted is logged and is None too (the operator's
    keyring: the key form still works)."""
    if not flow.needs_app:
        return None
    try:
        return await provider_apps.resolve(runtime, tenant_id, flow.provider)
    except UnreadableCredentials as exc:
        log.error("provider app of %s cannot be read: %s", flow.provider, exc)
        return None
