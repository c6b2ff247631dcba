"""What an OAuth install flow is: the contract between the framework
(routes.py) and one platform's flow (shopify.py, ...).

A flow sends the merchant's browser to the platform's consent screen
(``begin``), reads what the platform sends back to the callback
(``callback``) and answers with a :class:`Grant` (credentials and settings
of the new connection) or a :class:`Choice` the merchant makes first
(``chosen``). Everything a flow must remember between the two is kept
server-side, sealed, in a one-use attempt named by the ``state`` it mints
with :meth:`FlowContext.new_state`: the browser carries only that random
handle, never a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import msgspec
from starlette.requests import Request
from starlette.routing import BaseRoute

from providers.tokens import AccessToken

from ...provider_apps import OAUTH_PROVIDERS
from ...store.records import ConnectSession, Tenant
from . import attempts

if TYPE_CHECKING:
    from ...provider_apps import ResolvedApp


class FlowRefused(Exception):
    """The flow cannot go on. ``reason`` is a short code (``access_denied``,
    ``invalid_hmac``) kept as the session's error when ``fail_session``;
    ``message`` is the sentence the merchant reads.

    A platform's refusal (the merchant declined, the code was refused)
    fails the session. A callback that cannot be trusted (bad HMAC, unknown
    or foreign ``state``, a shop outside the platform) uses
    ``fail_session=False``: whoever forged it must not be able to end a
    merchant's session; the page says why and nothing is stored. ``field``
    names the typed input at fault (a malformed shop name) so ``begin``'s
    refusal comes back on the form."""

    def __init__(self, reason: str, message: str, *, fail_session: bool = True, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.fail_session = fail_session
        self.field = field


class Grant(msgspec.Struct, kw_only=True):
    """A connection to store: the provider's credentials and settings, the
    platform grant it comes from (connections sharing a ``grant_key``
    share one token), and the access token the exchange returned, which
    seeds the token store so the first read needs no refresh."""

    credentials: dict[str, Any]
    settings: dict[str, Any]
    grant_key: str | None = None
    token: AccessToken | None = None

    def __repr__(self) -> str:  # never the credentials
        return f"Grant(grant_key={self.grant_key!r}, settings={self.settings!r})"


class Choice(msgspec.Struct, kw_only=True):
    """The merchant picks one of ``options`` (value, label), e.g. a Zoho
    organisation; ``keep`` (sealed server-side) is what ``chosen`` needs."""

    field: str
    label: str
    options: list[tuple[str, str]]
    keep: dict[str, Any]

    def __repr__(self) -> str:  # keep may hold tokens
        return f"Choice(field={self.field!r}, options={len(self.options)})"


class Begin(msgspec.Struct):
    url: str  # where the browser goes: the platform's consent screen


class FlowContext:
    """What a flow may use for one request."""

    def __init__(
        self, *, runtime: Any, request: Request, session: ConnectSession, tenant: Tenant,
        app: "ResolvedApp | None", redirect_uri: str,
    ) -> None:
        self.runtime = runtime
        self.request = request
        self.session = session
        self.tenant = tenant
        self.app = app
        self.redirect_uri = redirect_uri
        self.http = runtime.http  # providers.http.UpstreamClient: the SSRF guard and timeouts
        self.provider = request.path_params.get("provider", "")

    async def new_state(self, data: dict[str, Any]) -> str:
        """A fresh ``state`` (256 random bits) standing for ``data``, sealed
        in a one-use attempt of this session, good for ten minutes. The
        app's client id goes with it: the callback must use the same app."""
        client_id = self.app.client_id if self.app is not None else None
        return await self.new_attempt({"step": attempts.CALLBACK, "client_id": client_id, "flow": data})

    async def new_attempt(self, record: dict[str, Any]) -> str:
        """The framework's: an attempt holding ``record`` as it is."""
        return await attempts.create(self.runtime, self.session, self.provider, record)


class OAuthFlow:
    """One platform's install flow. Subclasses are registered in ``FLOWS``
    by provider name (``@register``)."""

    provider: ClassVar[str]
    # Fields of the provider's connect form the merchant types before
    # consent (Shopify's shop name), rendered beside the button.
    inputs: ClassVar[list[str]] = []

    @property
    def needs_app(self) -> bool:
        """Whether it signs in with a provider app (WooCommerce's key handoff
        needs none): as the provider's registration says."""
        return OAUTH_PROVIDERS[self.provider].needs_app

    async def begin(self, ctx: FlowContext, typed: dict[str, str]) -> Begin:
        raise NotImplementedError

    async def callback(self, ctx: FlowContext, query: Mapping[str, str], data: dict[str, Any]) -> Grant | Choice:
        raise NotImplementedError

    async def chosen(self, ctx: FlowContext, keep: dict[str, Any], value: str) -> Grant:
        raise FlowRefused("no_choice", "This platform asks for no choice.", fail_session=False)

    def state_of(self, query: Mapping[str, str]) -> str | None:
        """Where the platform echoes our ``state`` (for platforms that carry
        it elsewhere, or not at all: override)."""
        return query.get("state")

    def routes(self) -> list[BaseRoute]:
        """Further routes the platform calls (BigCommerce's load and
        uninstall callbacks, WooCommerce's key POST)."""
        return []


FLOWS: dict[str, OAuthFlow] = {}


def register(cls: type[OAuthFlow]) -> type[OAuthFlow]:
    FLOWS[cls.provider] = cls()
    return cls
