"""The hosted connect page: where a merchant links their own store.

``GET /connect/start?token=`` (the ``connect_url``) trades the URL token for
a cookie and redirects (303) to ``/connect``, so the token leaves the address
bar. ``/connect`` lists the offered platforms; ``/connect/providers/{name}``
is that platform's form (forms.py), posted back as
``application/x-www-form-urlencoded`` with a ``csrf_token`` (csrf.py). A
submission makes one live call (verification.verify): refused, the form
comes back (422) with the platform's reason and the merchant's non-secret
input; accepted, the connection is stored (completion.py) and the browser
goes to the tenant's ``return_url`` with a one-time ``connect_code``, or to
a "connected" page that hands the code to ``window.opener``.

The pages are server-rendered (Jinja2), complete without JavaScript, and load
nothing from another host. Every answer says ``Cache-Control: no-store``,
``Referrer-Policy: no-referrer`` and a Content-Security-Policy of
``default-src 'self'`` whose ``frame-ancestors`` are the origins of the
tenant's ``return_urls`` (else ``'none'``). Errors are pages for a person
(app.py renders them here), never problem+json.
"""

from __future__ import annotations

import pathlib
import urllib.parse
from datetime import datetime
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from keys import secrets
from providers import registry
from providers.errors import ProviderError

from .. import accounts, params, verification
from ..bodies import read_body
from ..clock import now_text
from ..middleware import request_context
from ..problems import ApiError
from ..store.records import ConnectSession, Tenant
from . import completion, csrf, forms
from .oauth.offer import Offer, offer_for
from .sessions import COMPLETED, EXPIRED, PENDING, START_PATH, origin_of, status_of

_HERE = pathlib.Path(__file__).parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))
assets = StaticFiles(directory=str(_HERE / "static"))

COOKIE = "shoprelay_connect"
PATH = "/connect"
MAX_ATTEMPTS = 10  # form submissions per session: each may make a live call
MAX_FIELDS = 50
FORM_TYPE = "application/x-www-form-urlencoded"
TOO_MANY_ATTEMPTS = "too_many_attempts"  # session.error


class PageError(Exception):
    """An answer for a person: a page with a title and a sentence or two."""

    def __init__(
        self, status: int, title: str, text: str, *, tenant: Tenant | None = None,
        link: tuple[str, str] | None = None, headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.text = text
        self.tenant = tenant
        self.link = link
        self.headers = headers or {}


class Opened(msgspec.Struct):
    session: ConnectSession
    tenant: Tenant
    secret: str  # the cookie's value: the session token


def is_page(path: str) -> bool:
    """Whether ``path`` is one of the page's (HTML) routes rather than the
    JSON API under /connect."""
    if path != PATH and not path.startswith(PATH + "/"):
        return False
    # WooCommerce's key POST is the store's server talking: problem+json.
    return not (path.startswith(PATH + "/sessions") or path == PATH + "/exchange"
                or path.startswith(PATH + "/woocommerce/keys/"))


def _base(request: Request) -> str:
    """The path prefix of SHOPRELAY_PUBLIC_URL (behind a proxy that mounts
    the service under one), for links and the cookie's path."""
    return urllib.parse.urlsplit(request.app.state.runtime.config.public_base).path.rstrip("/")


def security_headers(tenant: Tenant | None, framed_by: tuple[str, ...] = ()) -> dict[str, str]:
    """``framed_by``: origins that may frame the page besides the tenant's own."""
    ancestors = " ".join([*framed_by, *_origins(tenant)]) or "'none'"
    return {
        "Content-Security-Policy": f"default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {ancestors}",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def _origins(tenant: Tenant | None) -> list[str]:
    """The origins of the tenant's return URLs: the pages that may frame
    this one and receive its postMessage."""
    return sorted({o for o in (origin_of(u) for u in (tenant.return_urls if tenant else [])) if o})


def render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200,
    tenant: Tenant | None = None, headers: dict[str, str] | None = None,
) -> Response:
    values = {"tenant_name": tenant.name if tenant else None, "base": _base(request), **context}
    return templates.TemplateResponse(
        request, template, values, status_code=status, headers={**security_headers(tenant), **(headers or {})},
    )


def error_page(request: Request, exc: PageError) -> Response:
    return render(
        request, "message.html", {"title": exc.title, "text": exc.text, "link": exc.link},
        status=exc.status, tenant=exc.tenant, headers=exc.headers,
    )


def api_error_page(request: Request, error: ApiError) -> Response:
    """An error raised on the way (unknown route, body too large, store
    down) as a page for a person."""
    titles = {400: "This address is not right", 404: "Page not found", 405: "Not allowed here",
              413: "Too much data", 503: "Try again shortly"}
    title = titles.get(error.status, "Something went wrong")
    detail = error.detail if error.parameter else error.detail[:1].upper() + error.detail[1:]
    text = ("This address is not part of the connect page. Open the link you were given again."
            if error.status == 404 else detail + ".")
    if error.status >= 500:
        text = "We could not finish this just now. Wait a moment and try again."
    return error_page(request, PageError(error.status, title, text, headers=error.headers))


# -- the session behind a page ---------------------------------------------------


async def _session_for(request: Request, secret: str | None, *, from_link: bool) -> Opened:
    """The open (pending, unexpired) session a token names, or the page
    saying why there is none. Nothing is written on the way."""
    store = request.app.state.runtime.store
    session = None
    if secret and secrets.looks_like(secret, secrets.CONNECT_SESSION_PREFIX):
        session = await store.find_connect_session(secrets.digest(secret))
    if session is None:
        if from_link:
            raise PageError(404, "This link is not valid",
                            "Check that you opened the whole link, or ask for a new one.")
        raise PageError(403, "Open your connection link",
                        "This page works from the link you were given. Open it again, or ask for a new one.")
    tenant = await store.get_tenant(session.tenant_id)
    if tenant is None:
        raise PageError(404, "This link is not valid", "Ask for a new one.")
    request_context(request.scope)["tenant_id"] = tenant.id
    status = status_of(session, now_text())
    if status == EXPIRED:
        raise PageError(410, "This link has expired",
                        f"Go back to {tenant.name} and start connecting your store again.", tenant=tenant)
    if status == COMPLETED:
        raise PageError(410, "This link was already used",
                        f"Your store is connected to {tenant.name}. You can close this window.", tenant=tenant)
    if status != PENDING:
        raise PageError(410, "This link can no longer be used",
                        f"Go back to {tenant.name} and start again.", tenant=tenant)
    return Opened(session, tenant, secret)  # type: ignore[arg-type]


async def _opened(request: Request) -> Opened:
    return await _session_for(request, request.cookies.get(COOKIE), from_link=False)


def _offered(request: Request, opened: Opened) -> forms.Form:
    provider = request.path_params["provider"]
    if provider in opened.session.providers:
        try:
            request_context(request.scope)["provider"] = provider
            return forms.form_for(provider)
        except registry.UnknownProvider:
            pass
    raise PageError(404, "This platform is not offered here", "Choose one of the platforms listed.",
                    tenant=opened.tenant, link=(_base(request) + PATH, "See the platforms"))


def _choices(session: ConnectSession) -> list[tuple[str, str]]:
    choices = []
    for name in session.providers:
        try:
            choices.append((name, registry.get(name).display_name))
        except registry.UnknownProvider:  # uninstalled since the session was made
            continue
    return choices


# -- routes ----------------------------------------------------------------------------


@params.accepts("token")
async def start(request: Request) -> Response:
    """The connect_url: the token becomes a cookie and leaves the address bar."""
    secret = params.single(request.query_params, "token")
    opened = await _session_for(request, secret, from_link=True)
    base = _base(request)
    response = RedirectResponse(base + PATH, status_code=303, headers=security_headers(opened.tenant))
    expires = datetime.fromisoformat(opened.session.expires_at.replace("Z", "+00:00"))
    remaining = int((expires - datetime.fromisoformat(now_text().replace("Z", "+00:00"))).total_seconds())
    public = urllib.parse.urlsplit(request.app.state.runtime.config.public_base)
    response.set_cookie(
        COOKIE, opened.secret, max_age=max(1, remaining), path=base + PATH, httponly=True, samesite="lax",
        secure=public.scheme == "https" or request.url.scheme == "https",
    )
    return response


@params.accepts()
async def picker(request: Request) -> Response:
    opened = await _opened(request)
    choices = _choices(opened.session)
    if len(choices) == 1:  # nothing to choose: straight to the form
        return RedirectResponse(f"{_base(request)}{PATH}/providers/{choices[0][0]}", status_code=303,
                                headers=security_headers(opened.tenant))
    return render(request, "picker.html", {"choices": choices}, tenant=opened.tenant)


async def _oauth(request: Request, opened: Opened, form: forms.Form) -> Offer | None:
    """The "Connect with PLATFORM" button, where a flow and an app exist."""
    return await offer_for(request.app.state.runtime, opened.tenant.id, form)


@params.accepts()
async def provider_form(request: Request) -> Response:
    opened = await _opened(request)
    form = _offered(request, opened)
    values = {f.name: f.default for f in form.fields if f.default is not None}
    if opened.session.reconnect_connection_id:
        # A reconnect starts from the connection's settings (never its secrets).
        connection = await request.app.state.runtime.store.get_connection(opened.session.reconnect_connection_id)
        if connection is not None and connection.tenant_id == opened.tenant.id:
            values.update({k: str(v) for k, v in connection.settings.items() if v is not None and k in form.names})
    return _form_page(request, opened, form, values, oauth=await _oauth(request, opened, form))


@params.accepts()
async def submit(request: Request) -> Response:
    runtime = request.app.state.runtime
    opened = await _opened(request)
    form = _offered(request, opened)
    session, tenant = opened.session, opened.tenant
    submitted = await posted_form(request, opened, f"{_base(request)}{PATH}/providers/{form.provider}")
    kept = {f.name: submitted[f.name] for f in form.fields if not f.secret and f.name in submitted}
    secrets_typed = [submitted[f.name] for f in form.fields if f.secret and submitted.get(f.name)]

    async def again(**shown: Any) -> Response:
        # The OAuth offer (a provider-app read and decrypt) only for a form shown again.
        oauth = await _oauth(request, opened, form)
        return _form_page(request, opened, form, kept, hide=secrets_typed, oauth=oauth, **shown)

    try:
        credentials, settings = forms.read(form, submitted)
        creds, parsed = accounts.validate_connection_input(
            form.provider, credentials, settings, allow_private_networks=runtime.config.allow_private_networks,
        )
    except forms.FormError as exc:
        return await again(error=str(exc), field=exc.field, status=exc.status)
    except accounts.InvalidInput as exc:
        message = str(exc).removeprefix(f"{form.provider}: ")
        return await again(error=message, field=forms.field_named_in(form, message), status=422)
    try:
        async with runtime.directory.tenant_calls.slot(tenant.id):
            await verification.verify(runtime.http, form.provider, creds, parsed, runtime.config.request_timeout)
    except ProviderError as exc:
        problem = verification.problem(exc, form.provider)
        return await again(error=problem.detail, status=problem.status, headers=problem.headers)
    except ApiError as exc:  # the tenant's calls are all busy
        return await again(error=exc.detail, status=exc.status, headers=exc.headers)
    try:
        code = await completion.complete(runtime, session, tenant, form.provider, credentials, settings)
    except completion.SessionGone:
        # Another submission (or the clock) got there first: say which.
        await _session_for(request, opened.secret, from_link=False)
        raise PageError(410, "This link can no longer be used", "Start again from the app.", tenant=tenant) from None
    return _finished(request, opened, form, code)


def _finished(request: Request, opened: Opened, form: forms.Form, code: str) -> Response:
    session, tenant = opened.session, opened.tenant
    if session.return_url:
        return RedirectResponse(_with_code(session.return_url, code, session.id), status_code=303,
                                headers=security_headers(tenant))
    origins = _origins(tenant)
    message = {"type": "shoprelay.connect", "session_id": session.id, "connect_code": code}
    return render(request, "connected.html", {
        "display_name": form.display_name, "handoff": {"message": message, "origins": origins},
    }, tenant=tenant)


def _with_code(return_url: str, code: str, session_id: str) -> str:
    parts = urllib.parse.urlsplit(return_url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
             if k not in ("connect_code", "session_id")]
    query += [("connect_code", code), ("session_id", session_id)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


async def posted_form(request: Request, opened: Opened, form_url: str) -> dict[str, str]:
    """A form of the session's pages as posted, its ``csrf_token`` checked and
    taken out. Each counts as one of the session's ``MAX_ATTEMPTS`` (it may
    make a live call, or guess a code); past them the session fails."""
    runtime = request.app.state.runtime
    session, tenant = opened.session, opened.tenant
    if await runtime.store.count_connect_attempt(session.id) > MAX_ATTEMPTS:
        await runtime.store.fail_connect_session(session.id, TOO_MANY_ATTEMPTS, now_text())
        raise PageError(429, "Too many attempts",
                        f"This link can no longer be used. Go back to {tenant.name} and start again.", tenant=tenant)
    submitted = await _form_body(request, opened)
    if not csrf.valid(opened.secret, submitted.pop(csrf.FIELD, None)):
        raise PageError(403, "This form has expired", "Open the form again and submit it from there.",
                        tenant=tenant, link=(form_url, "Open the form again"))
    return submitted


async def _form_body(request: Request, opened: Opened) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != FORM_TYPE:
        raise PageError(415, "This form could not be read", "Submit the form from the page.", tenant=opened.tenant)
    body = await read_body(request)
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "This form could not be read", "Submit the form from the page.",
                        tenant=opened.tenant) from None
    submitted: dict[str, str] = {}
    for name, value in pairs:
        if name in submitted:
            raise PageError(400, "This form could not be read", "A field was sent twice.", tenant=opened.tenant)
        submitted[name] = value
    return submitted


def _form_page(
    request: Request, opened: Opened, form: forms.Form, values: dict[str, str], *, error: str | None = None,
    field: str | None = None, status: int = 200, hide: list[str] = (), headers: dict[str, str] | None = None,  # type: ignore[assignment]
    oauth: Offer | None = None, error_in: str = "keys",
) -> Response:
    if error:
        # Defence in depth: a message never carries what the merchant typed as a secret.
        for secret in sorted(hide, key=len, reverse=True):
            if len(secret) >= 4:
                error = error.replace(secret, "***")
    at_fault = form.field(field)
    if at_fault is not None and error_in == "oauth":
        at_fault = at_fault if oauth is not None and at_fault in oauth.inputs else None
    # Focus goes to the first error: the field named, else (the platform
    # refused the keys, which must be typed again) the first secret field.
    focus = field if at_fault is not None else next((f.name for f in form.fields if f.secret), None) if error else None
    if error and error_in == "oauth":
        focus = at_fault.name if at_fault is not None else None
    advanced_open = any(
        values.get(f.name) not in (None, "", f.default) or f.name == field for f in form.advanced
    )
    return render(request, "form.html", {
        "form": form, "values": values, "error": error, "error_field": at_fault.name if at_fault else None,
        "error_label": at_fault.label if at_fault else None, "focus": focus, "advanced_open": advanced_open,
        "csrf_token": csrf.token_for(opened.secret), "csrf_field": csrf.FIELD,
        "several": len(_choices(opened.session)) > 1, "reconnect": bool(opened.session.reconnect_connection_id),
        "oauth": oauth, "error_in": error_in,
    }, status=status, tenant=opened.tenant, headers=headers)


__all__ = ["START_PATH", "PageError", "is_page", "start", "picker", "provider_form", "submit", "assets"]
