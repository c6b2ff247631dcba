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
    app = None
    if flow.needs_app:
        try:
            app = await provider_apps.resolve(runtime, tenant_id, form.provider)
        except UnreadableCredentials as exc:  # the operator's keyring: the key form still works
            log.error("provider app of %s cannot be read: %s", form.provider, exc)
            return None
        if app is None:
            return None
    inputs = [field for name in flow.inputs if (field := form.field(name)) is not None]
    return Offer(flow=flow, app=app, inputs=inputs)
