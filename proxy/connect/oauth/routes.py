"""The OAuth install routes of the connect page (HTML for a person, like
page.py):

* ``POST /connect/oauth/{provider}/start``: the "Connect with PLATFORM"
  button (``csrf_token`` and the flow's inputs) -> 303 to the consent screen;
* ``GET /connect/oauth/{provider}/callback``: the platform sends the
  browser back. The attempt behind ``state`` is claimed (one use, ten
  minutes) and must belong to the session of the browser's cookie; then
  the flow checks and exchanges what came (Shopify's HMAC...) and the
  connection is stored as a key-form submission's is (completion.py);
* ``POST /connect/oauth/{provider}/choose``: the merchant's pick when the
  platform offers several stores (a Choice), under its own one-use state.

A platform's refusal (``error=access_denied``, a refused code) fails the
session with the reason and says so; a callback that cannot be trusted
stores nothing and changes nothing. No token ever goes into a URL: the
browser carries only ``state`` and, at the end, the one-time connect code.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ... import params, provider_apps
from ...clock import now_text
from ...middleware import request_context
from .. import completion, csrf, page
from ..page import PATH, Opened, PageError
from . import attempts
from .flow import FLOWS, Choice, FlowContext, FlowRefused, Grant, OAuthFlow
from .offer import app_for, offer_for

log = logging.getLogger("shoprelay.connect")

MAX_QUERY_FIELDS = 30
MAX_QUERY_VALUE = 2048
_REASON = re.compile(r"^[a-z0-9_.-]{1,64}$")
CHOSEN = "choice"  # the choice page's field


def _form_link(request: Request, provider: str) -> tuple[str, str]:
    return (f"{page._base(request)}{PATH}/providers/{provider}", "Try again")


def _flow(request: Request, opened: Opened) -> tuple[OAuthFlow, Any]:
    form = page._offered(request, opened)
    flow = FLOWS.get(form.provider)
    if flow is None:
        raise PageError(404, "This platform has no sign-in here", "Enter your keys on the form instead.",
                        tenant=opened.tenant, link=_form_link(request, form.provider))
    return flow, form


async def _context(request: Request, opened: Opened, flow: OAuthFlow) -> FlowContext:
    runtime = request.app.state.runtime
    app = await app_for(runtime, opened.tenant.id, flow)
    if flow.needs_app and app is None:
        raise PageError(404, "This sign-in is not available",
                        "Enter your keys on the form instead.", tenant=opened.tenant,
                        link=_form_link(request, flow.provider))
    return FlowContext(
        runtime=runtime, request=request, session=opened.session, tenant=opened.tenant, app=app,
        redirect_uri=provider_apps.callback_url(runtime.config, flow.provider),
    )


@params.accepts()
async def start(request: Request) -> Response:
    runtime = request.app.state.runtime
    opened = await page._opened(request)
    flow, form = _flow(request, opened)
    tenant = opened.tenant
    submitted = await page.posted_form(request, opened, _form_link(request, form.provider)[0])
    unknown = [name for name in submitted if name not in flow.inputs]
    if unknown:
        raise PageError(400, "This form could not be read", "Submit the form from the page.", tenant=tenant)
    typed = {name: submitted.get(name, "").strip() for name in flow.inputs}
    ctx = await _context(request, opened, flow)
    try:
        begin = await flow.begin(ctx, typed)
    except FlowRefused as exc:
        if exc.fail_session:
            raise await _failed(request, opened, flow, exc) from None
        offer = await offer_for(runtime, tenant.id, form)
        return page._form_page(request, opened, form, typed, error=exc.message, field=exc.field, status=422,
                               oauth=offer, error_in="oauth")
    return RedirectResponse(begin.url, status_code=303, headers=page.security_headers(tenant))


@params.platform_query
async def callback(request: Request) -> Response:
    query = _query(request)
    opened = await page._opened(request)
    flow, form = _flow(request, opened)
    claimed = await attempts.claim(request.app.state.runtime, flow.state_of(query))
    data = _checked(request, opened, flow, claimed, attempts.CALLBACK)
    ctx = await _context(request, opened, flow)
    try:
        _same_app(ctx, data)
        if "error" in query:
            raise _platform_error(form.display_name, query["error"])
        outcome = await flow.callback(ctx, query, data.get("flow") or {})
    except FlowRefused as exc:
        raise await _failed(request, opened, flow, exc) from None
    if isinstance(outcome, Choice):
        return await _choice_page(request, opened, ctx, form, outcome, data)
    return await _complete(request, opened, flow, form, outcome)


@params.accepts()
async def choose(request: Request) -> Response:
    runtime = request.app.state.runtime
    opened = await page._opened(request)
    flow, form = _flow(request, opened)
    submitted = await page._form_body(request, opened)
    if not csrf.valid(opened.secret, submitted.pop(csrf.FIELD, None)):
        raise PageError(403, "This form has expired", "Start again from the form.", tenant=opened.tenant,
                        link=_form_link(request, form.provider))
    claimed = await attempts.claim(runtime, submitted.get("state"))
    data = _checked(request, opened, flow, claimed, attempts.CHOOSE)
    choice = data.get("choice") or {}
    value = submitted.get(CHOSEN, "")
    if value not in {option[0] for option in choice.get("options", [])}:
        raise PageError(400, "This choice is not one offered", "Start again from the form.",
                        tenant=opened.tenant, link=_form_link(request, form.provider))
    ctx = await _context(request, opened, flow)
    try:
        _same_app(ctx, data)
        grant = await flow.chosen(ctx, choice.get("keep") or {}, value)
    except FlowRefused as exc:
        raise await _failed(request, opened, flow, exc) from None
    return await _complete(request, opened, flow, form, grant)


# -- steps -----------------------------------------------------------------------------


def _query(request: Request) -> dict[str, str]:
    """The callback's parameters, each once and bounded: a repeated one
    could be read one way by us and another by whoever signed it."""
    pairs = request.query_params.multi_items()
    seen: dict[str, str] = {}
    if len(pairs) > MAX_QUERY_FIELDS:
        raise PageError(400, "This address is not right", "Start again from the app.")
    for name, value in pairs:
        if name in seen or len(value) > MAX_QUERY_VALUE or len(name) > 64:
            raise PageError(400, "This address is not right", "Start again from the app.")
        seen[name] = value
    return seen


def _checked(
    request: Request, opened: Opened, flow: OAuthFlow, claimed: tuple[Any, dict[str, Any]] | None, step: str,
) -> dict[str, Any]:
    """The claimed attempt's data, if it is this session's, this platform's
    and this step's (a choice's state is no callback's, and the reverse)."""
    if claimed is not None and claimed[1].get("step") != step:
        claimed = None
    if claimed is None:
        # Unknown, used (a replay), expired or malformed: nothing changes.
        raise PageError(400, "This sign-in cannot be completed",
                        "It was already used, has expired or did not start here. Start again from the form.",
                        tenant=opened.tenant, link=_form_link(request, flow.provider))
    attempt, data = claimed
    request_context(request.scope)["provider"] = flow.provider
    if attempt.session_id != opened.session.id or attempt.provider != flow.provider:
        # Another browser's state (a login CSRF, a forwarded link): refused
        # without touching either session.
        log.warning("connect session %s: a callback carried another session's state", opened.session.id)
        raise PageError(403, "This sign-in did not start in this browser",
                        "Start again from the form, in this browser.", tenant=opened.tenant,
                        link=_form_link(request, flow.provider))
    return data


def _same_app(ctx: FlowContext, data: dict[str, Any]) -> None:
    """The code was issued to the app that began: if the app was replaced
    meanwhile, exchanging it with the new one's secret cannot work."""
    began_with = data.get("client_id")
    now_with = ctx.app.client_id if ctx.app is not None else None
    if began_with != now_with:
        raise FlowRefused("app_changed", "The app was changed while you were signing in. Start again.",
                          fail_session=False)


def _platform_error(platform: str, code: str) -> FlowRefused:
    """``error=...`` from the platform: the merchant declined, or the
    platform refused the request. Its own words are not shown (anyone can
    put text in a URL); a code we know is explained."""
    reason = code if _REASON.match(code) else "refused"
    if reason == "access_denied":
        message = f"You did not allow access on {platform}, so your store was not connected."
    else:
        message = f"{platform} refused the request ({reason}), so your store was not connected."
    return FlowRefused(reason, message)


async def _failed(request: Request, opened: Opened, flow: OAuthFlow, exc: FlowRefused) -> PageError:
    """The page saying why; a platform's refusal also fails the session."""
    tenant = opened.tenant
    log.info("connect session %s: %s flow stopped (%s)", opened.session.id, flow.provider, exc.reason)
    if exc.fail_session:
        await request.app.state.runtime.store.fail_connect_session(opened.session.id, exc.reason, now_text())
        return PageError(400, "Your store was not connected",
                         f"{exc.message} Go back to {tenant.name} to start again.", tenant=tenant)
    return PageError(400, "This sign-in cannot be completed", exc.message, tenant=tenant,
                     link=_form_link(request, flow.provider))


async def _choice_page(
    request: Request, opened: Opened, ctx: FlowContext, form: Any, choice: Choice, data: dict[str, Any],
) -> Response:
    options = [(str(v), str(label)) for v, label in choice.options][:200]
    if not options:
        raise await _failed(request, opened, FLOWS[form.provider], FlowRefused(
            "nothing_to_choose", f"{form.display_name} offered nothing to connect."))
    state = await ctx.new_attempt({"step": attempts.CHOOSE, "client_id": data.get("client_id"), "choice": {
        "field": choice.field, "label": choice.label, "options": options, "keep": choice.keep,
    }})
    return page.render(request, "choice.html", {
        "form": form, "label": choice.label, "options": options, "state": state, "field": CHOSEN,
        "csrf_token": csrf.token_for(opened.secret), "csrf_field": csrf.FIELD,
    }, tenant=opened.tenant)


async def _complete(request: Request, opened: Opened, flow: OAuthFlow, form: Any, grant: Grant) -> Response:
    runtime = request.app.state.runtime
    try:
        code = await completion.complete(
            runtime, opened.session, opened.tenant, flow.provider, grant.credentials, grant.settings,
            grant_key=grant.grant_key, token=grant.token,
        )
    except completion.SessionGone:
        await page._session_for(request, opened.secret, from_link=False)
        raise PageError(410, "This link can no longer be used", "Start again from the app.",
                        tenant=opened.tenant) from None
    return page._finished(request, opened, form, code)


def routes() -> list[BaseRoute]:
    """Each flow's own routes, then the framework's (app.py mounts them).
    A flow's own come first: Starlette takes the first match, and a flow
    whose platform calls back without our ``state`` (BigCommerce's
    installs, WooCommerce's return after the key POST) serves its own
    ``/connect/oauth/{provider}/callback``."""
    base = f"{PATH}/oauth/{{provider}}"
    found: list[BaseRoute] = []
    for flow in FLOWS.values():
        found += flow.routes()
    return found + [
        Route(f"{base}/start", start, methods=["POST"]),
        Route(f"{base}/callback", callback, methods=["GET"]),
        Route(f"{base}/choose", choose, methods=["POST"]),
    ]


# Flows with routes of their own that render the connect page's pages
# import page.py, which imports this package: they register here, once
# page.py is whole.
from . import bigcommerce, woocommerce  # noqa: E402,F401
