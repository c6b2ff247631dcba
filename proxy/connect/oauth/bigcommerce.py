"""BigCommerce's single-click app install as a connect flow (reference/connect-flows.md A.2).

BigCommerce has no ``state``: the merchant is sent to the app's install URL
(``https://login.bigcommerce.com/app/{client_id}/install``, the origin
replaced by the app's ``settings.auth_url``), approves it, and BigCommerce
calls the app's auth callback with ``code``, ``scope``,
``context=stores/{hash}`` and ``account_uuid``. The code is exchanged at
``/oauth2/token`` for a permanent token: every documented field, sent as
the form BigCommerce's single-click app guide shows
(``application/x-www-form-urlencoded``; a newer page shows the same fields
as JSON).

Binding the callback to a connect session, without a ``state``:

* "Connect with BigCommerce" (the framework's start, with its CSRF token)
  mints an attempt for the session and sends the browser through ``/go``,
  which puts the attempt's state in a short-lived cookie of its own beside
  the session cookie (both ``SameSite=Lax``, sent on the top-level callback
  navigation) and then to BigCommerce. The callback spends the attempt once
  and checks it is the session cookie's: a callback a third site pushes
  into the merchant's browser has no attempt, so it connects nothing.
* An install with no attempt (started from BigCommerce's marketplace or
  control panel, inside its iframe, where our cookies are not sent) is
  exchanged at once (the code lives for seconds) with the app of the
  session's tenant if a session cookie came, else the operator's default
  app, and parked (unclaimed.py): the merchant gets a one-time claim code
  and claims the store inside a connect session ("I already installed the
  app"). The token is checked before it is parked.

A session cookie whose session is expired or finished stops the callback
before the exchange: nothing is stored and the page says why. A grant for
another store than the session reconnects is refused. The connection's
``grant_key`` is ``bigcommerce:{client_id}:{store_hash}``, which the
uninstall callback (bigcommerce_app.py) deletes by.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from typing import Any, Mapping

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from keys import secrets
from providers import calls
from providers.errors import ProviderError
from providers.token_endpoint import TokenEndpoint
from providers.tokens import MemoryTokenStore

from ... import accounts, params, verification
from ...clock import now_text
from ...provider_apps import ResolvedApp, callback_url, resolve
from .. import csrf, forms, page
from ..page import PageError
from . import attempts, routes as framework, unclaimed
from .flow import FLOWS, Begin, FlowContext, FlowRefused, Grant, OAuthFlow, register

PROVIDER = "bigcommerce"
DISPLAY = "BigCommerce"
LOGIN = "https://login.bigcommerce.com"
TOKEN_PATH = "/oauth2/token"
INSTALL_COOKIE = "shoprelay_bigcommerce_install"
INSTALL_COOKIE_AGE = 600  # the attempt's own lifetime
# What BigCommerce's control panel is served from: its pages frame ours
# (the auth callback of a marketplace install, the load callback).
CONTROL_PANEL = "https://*.bigcommerce.com https://*.mybigcommerce.com"

_CODE = re.compile(r"[\x21-\x7e]{1,512}")
_CONTEXT = re.compile(r"stores/([a-z0-9]{1,32})")
_SCOPE = re.compile(r"[\x21-\x7e]{1,128}( [\x21-\x7e]{1,128}){0,63}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def grant_key(client_id: str, store_hash: str) -> str:
    return f"{PROVIDER}:{client_id}:{store_hash}"


class Install:
    """The auth callback's query, checked: what the exchange sends back."""

    def __init__(self, query: Mapping[str, str]) -> None:
        code, scope, context = (query.get(name) for name in ("code", "scope", "context"))
        account = query.get("account_uuid")
        context_match = _CONTEXT.fullmatch(context or "")
        if not code or not _CODE.fullmatch(code) or not scope or not _SCOPE.fullmatch(scope) or context_match is None:
            raise PageError(400, "This install could not be read",
                            f"{DISPLAY} did not send what an install sends. Install the app again from {DISPLAY}.")
        if account is not None and not _UUID.fullmatch(account):
            raise PageError(400, "This install could not be read", f"Install the app again from {DISPLAY}.")
        self.code, self.scope, self.context = code, scope, context
        self.store_hash = context_match.group(1)


async def exchange(runtime: Any, app: ResolvedApp, install: Install) -> Grant:
    """The code for a token, checked on the store before anything keeps it.
    FlowRefused when BigCommerce refuses the code or the token reads no
    customers of that store."""
    fields = {
        "client_id": app.client_id, "client_secret": app.client_secret, "code": install.code,
        "context": install.context, "scope": install.scope, "grant_type": "authorization_code",
        "redirect_uri": callback_url(runtime.config, PROVIDER),
    }
    endpoint = TokenEndpoint(
        DISPLAY, runtime.http, app.origin(LOGIN) + TOKEN_PATH, fields, store=MemoryTokenStore(), send="form",
        extra=lambda body: {"context": body.get("context")},
    )
    timeout = runtime.config.request_timeout
    calls.begin(timeout, PROVIDER)
    try:
        async with asyncio.timeout(timeout):
            token = await endpoint.mint()
    except TimeoutError:
        raise FlowRefused("token_unavailable", f"{DISPLAY} did not answer in time. Install the app again.") from None
    except ProviderError as exc:
        raise FlowRefused("token_refused", f"{DISPLAY} did not accept this install ({_said(exc)}). "
                          "Install the app again.") from None
    if token.extra.get("context") != install.context:
        # The token would address another store than the install named.
        raise FlowRefused("foreign_store", f"{DISPLAY} answered for another store than the one installed.")
    settings: dict[str, Any] = {"store_hash": install.store_hash}
    if app.settings.get("base_url"):
        settings["base_url"] = app.settings["base_url"]
    grant = Grant(credentials={"access_token": token.access_token}, settings=settings,
                  grant_key=grant_key(app.client_id, install.store_hash))
    await check(runtime, grant)
    return grant


async def check(runtime: Any, grant: Grant) -> None:
    """One live read with the grant, as the key form makes (the app may lack
    the customers scope, or the store may have removed the app since)."""
    try:
        creds, parsed = accounts.validate_connection_input(
            PROVIDER, grant.credentials, grant.settings, allow_private_networks=runtime.config.allow_private_networks,
        )
        await verification.verify(runtime.http, PROVIDER, creds, parsed, runtime.config.request_timeout)
    except accounts.InvalidInput:
        raise FlowRefused("invalid_grant", f"{DISPLAY} sent a store or token this service cannot use.") from None
    except ProviderError as exc:
        raise FlowRefused("verification_failed", verification.problem(exc, PROVIDER).detail + ".") from None


def _said(exc: ProviderError) -> str:
    return str(exc).removeprefix(f"{DISPLAY} ").rstrip(".") or "refused"


async def same_store(runtime: Any, opened: page.Opened, grant: Grant) -> None:
    """A reconnect keeps its store: a grant for another one is refused."""
    reconnect = opened.session.reconnect_connection_id
    if reconnect is None:
        return
    connection = await runtime.store.get_connection(reconnect)
    if connection is not None and connection.settings.get("store_hash") != grant.settings["store_hash"]:
        raise FlowRefused("foreign_store", f"This link reconnects the {DISPLAY} store "
                          f"{connection.settings.get('store_hash')}; the app was installed on another store.",
                          fail_session=False)


async def finish(request: Request, opened: page.Opened, grant: Grant) -> Response:
    """Store the connection and send the browser on with its connect code."""
    await same_store(request.app.state.runtime, opened, grant)
    return await framework._complete(request, opened, FLOWS[PROVIDER], forms.form_for(PROVIDER), grant)


def refused_here(exc: FlowRefused, tenant: Any = None) -> PageError:
    """A refusal with no session to fail (a parked install): the page only,
    framable by the control panel it may be shown in."""
    return PageError(400, f"{DISPLAY} was not connected", exc.message, tenant=tenant,
                     headers=_framed_by_control_panel(tenant))


def _framed_by_control_panel(tenant: Any) -> dict[str, str]:
    """BigCommerce shows the install's and the app's pages in its control
    panel's iframe: those may be framed by it (and by the tenant's pages)."""
    return {"Content-Security-Policy": page.security_headers(tenant, (CONTROL_PANEL,))["Content-Security-Policy"]}


# -- the flow ----------------------------------------------------------------------


@register
class BigCommerceFlow(OAuthFlow):
    provider = PROVIDER
    inputs: list[str] = []
    claim_path = f"/connect/oauth/{PROVIDER}/claim"  # the form's "I already installed the app" link

    async def begin(self, ctx: FlowContext, typed: dict[str, str]) -> Begin:
        state = await ctx.new_state({})  # the framework keeps the app's client id with it
        return Begin(url=f"{page._base(ctx.request)}/connect/oauth/{PROVIDER}/go?" + urllib.parse.urlencode({"state": state}))

    def routes(self) -> list[Route]:
        from . import bigcommerce_app

        return [
            Route(f"/connect/oauth/{PROVIDER}/go", go, methods=["GET"]),
            Route(f"/connect/oauth/{PROVIDER}/callback", auth_callback, methods=["GET"]),
            Route(self.claim_path, claim_form, methods=["GET"]),
            Route(self.claim_path, claim, methods=["POST"]),
            Route(f"/connect/oauth/{PROVIDER}/load", bigcommerce_app.load, methods=["GET"]),
            Route(f"/connect/oauth/{PROVIDER}/uninstall", bigcommerce_app.uninstall, methods=["GET"]),
        ]


@params.accepts("state")
async def go(request: Request) -> Response:
    """The hop to BigCommerce that leaves the attempt's state in a cookie
    (the install URL carries none back)."""
    runtime = request.app.state.runtime
    opened = await page._opened(request)
    state = params.single(request.query_params, "state")
    found = await runtime.store.get_connect_attempt(secrets.digest(state)) if attempts.looks_like_state(state) else None
    if found is None or found[0].session_id != opened.session.id or found[0].provider != PROVIDER or found[0].used_at:
        raise PageError(400, "This link is not valid", "Start again from the connect page.", tenant=opened.tenant)
    app = await resolve(runtime, opened.tenant.id, PROVIDER)
    if app is None:
        raise PageError(404, f"{DISPLAY} cannot be connected this way", "Enter your keys instead.", tenant=opened.tenant)
    response = RedirectResponse(f"{app.origin(LOGIN)}/app/{urllib.parse.quote(app.client_id, safe='')}/install",
                                status_code=303, headers=page.security_headers(opened.tenant))
    public = urllib.parse.urlsplit(runtime.config.public_base)
    response.set_cookie(
        INSTALL_COOKIE, state, max_age=INSTALL_COOKIE_AGE, path=f"{page._base(request)}/connect/oauth/{PROVIDER}",
        httponly=True, samesite="lax", secure=public.scheme == "https" or request.url.scheme == "https",
    )
    return response


@params.platform_query
async def auth_callback(request: Request) -> Response:
    install = Install(framework._query(request))
    state = request.cookies.get(INSTALL_COOKIE)
    if state is not None and request.cookies.get(page.COOKIE) is not None:
        # Started from a connect session: if that session expired or
        # finished meanwhile, its page says so and nothing is exchanged.
        response = await _bound(request, await page._opened(request), install, state)
    else:
        # Started in BigCommerce: a session cookie, if its session is still
        # open, only says whose app to use.
        try:
            opened = await page._opened(request) if request.cookies.get(page.COOKIE) is not None else None
        except PageError:
            opened = None
        response = await _park(request, opened, install)
    response.delete_cookie(INSTALL_COOKIE, path=f"{page._base(request)}/connect/oauth/{PROVIDER}")
    return response


async def _bound(request: Request, opened: page.Opened, install: Install, state: str) -> Response:
    """The install this session started: its attempt spent once, then stored."""
    runtime = request.app.state.runtime
    flow = FLOWS[PROVIDER]
    claimed = await attempts.claim(runtime, state)  # once
    record = framework._checked(request, opened, flow, claimed, attempts.CALLBACK)  # this session's, this step's
    ctx = await framework._context(request, opened, flow)
    try:
        framework._same_app(ctx, record)
        grant = await exchange(runtime, ctx.app, install)
        return await finish(request, opened, grant)
    except FlowRefused as exc:
        raise await framework._failed(request, opened, flow, exc) from None


async def _park(request: Request, opened: page.Opened | None, install: Install) -> Response:
    runtime = request.app.state.runtime
    tenant = opened.tenant if opened is not None else None
    app = await _app_for(runtime, tenant.id if tenant is not None else None)
    if app is None:
        raise PageError(404, f"{DISPLAY} is not set up here",
                        "This service has no BigCommerce app to take the install.", tenant=tenant,
                        headers=_framed_by_control_panel(tenant))
    try:
        grant = await exchange(runtime, app, install)
    except FlowRefused as exc:
        raise refused_here(exc, tenant) from None  # no session asked for this install: none fails
    code, expires_at = await unclaimed.park(
        runtime, provider=PROVIDER, app_tenant_id=app.tenant_id, grant_key=grant.grant_key,
        data={"credentials": grant.credentials, "settings": grant.settings},
    )
    return page.render(request, "parked.html", {
        "display_name": DISPLAY, "claim_code": code, "expires_at": expires_at[:16].replace("T", " "),
    }, tenant=tenant, headers=_framed_by_control_panel(tenant))


async def _app_for(runtime: Any, tenant_id: str | None) -> ResolvedApp | None:
    """The session tenant's app (its own, else the operator's); with no
    session, the operator's default: the one app the callback can know."""
    return await resolve(runtime, tenant_id or "", PROVIDER)


# -- claiming a parked install ---------------------------------------------------


async def _claim_page(request: Request, opened: page.Opened, *, error: str | None = None, status: int = 200) -> Response:
    return page.render(request, "claim.html", {
        "display_name": DISPLAY, "provider": PROVIDER, "error": error,
        "csrf_token": csrf.token_for(opened.secret), "csrf_field": csrf.FIELD,
    }, status=status, tenant=opened.tenant)


def _offered(opened: page.Opened) -> None:
    if PROVIDER not in opened.session.providers:
        raise PageError(404, "This platform is not offered here", "Choose one of the platforms listed.",
                        tenant=opened.tenant)


@params.accepts()
async def claim_form(request: Request) -> Response:
    opened = await page._opened(request)
    _offered(opened)
    return await _claim_page(request, opened)


@params.accepts()
async def claim(request: Request) -> Response:
    runtime = request.app.state.runtime
    opened = await page._opened(request)
    _offered(opened)
    tenant = opened.tenant
    submitted = await page.posted_form(request, opened, f"{page._base(request)}{BigCommerceFlow.claim_path}")
    found = await unclaimed.claim(runtime, submitted.get("claim_code", ""), PROVIDER)
    if found is None or found[0].app_tenant_id not in (None, tenant.id):
        # Another tenant's own app took that install: its grant is not this tenant's to use.
        return await _claim_page(request, opened, status=422, error=(
            "That claim code is not known, was already used or has expired. "
            f"Check it, or install the app again from {DISPLAY}."))
    install, data = found
    grant = Grant(credentials=data["credentials"], settings=data["settings"], grant_key=install.grant_key)
    try:
        await check(runtime, grant)  # the app may have been uninstalled since
        return await finish(request, opened, grant)
    except FlowRefused as exc:
        # The claim was the merchant's, not the platform's: the session stays open for the key form.
        exc.fail_session = False
        raise await framework._failed(request, opened, FLOWS[PROVIDER], exc) from None
