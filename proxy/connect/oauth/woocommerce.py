"""WooCommerce's key handoff as a connect flow (reference/connect-flows.md A.3).

The merchant types the store's URL (checked as a connection's ``store_url``,
SSRF guard included) and is sent to ``{store_url}/wc-auth/v1/authorize``
with ``app_name`` (the tenant's name), ``scope=read``, ``user_id``,
``return_url`` and ``callback_url={public}/connect/woocommerce/keys/{handle}``.
The store makes a key pair and POSTs it there as JSON, server to server,
before sending the browser to ``return_url``.

That POST is not signed and does not name the store, so it counts only when:

* ``{handle}`` is a live, unused attempt of this flow (a 256-bit state, one
  use, ten minutes) and the body's ``user_id`` is that attempt's (a second
  random value, compared in constant time);
* the keys read customers of the store URL recorded in the attempt (keys
  that work on some other store are useless here).

Then the session is completed there and then: the connection (and its
``connection.created`` event) stand even if the browser never returns. The
connect code is sealed into the attempt; the browser, back at ``return_url``
with its session cookie, is sent on to the tenant's return URL with it (the
code is handed out once). Every other answer to the POST is a problem+json
error, and WooCommerce deletes keys it could not hand over. The keys are
never logged and never shown to a browser.
"""

from __future__ import annotations

import hmac
import secrets as random
import urllib.parse
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from yarl import URL

from keys import secrets
from providers import registry
from providers.errors import ProviderError
from providers.http import guard_refusal

from ... import accounts, params, verification
from ...bodies import read_json
from ...clock import now_text
from ...middleware import request_context
from ...problems import ApiError
from ...store.records import ConnectAttempt
from .. import completion, forms, page
from ..page import PageError
from ..sessions import PENDING, status_of
from . import attempts
from .flow import Begin, FlowContext, FlowRefused, OAuthFlow, register

PROVIDER = "woocommerce"
DISPLAY = "WooCommerce"
AUTHORIZE_PATH = "/wc-auth/v1/authorize"
KEYS_PATH = "/connect/woocommerce/keys"
MAX_KEYS_BODY = 4096  # five short fields; WooCommerce's own body is a few hundred bytes
_USER_ID_BYTES = 24  # 192 bits
READABLE = frozenset({"read", "read_write"})


class Keys(msgspec.Struct):
    """The POSTed body, as class-wc-auth.php sends it (fields it may add are ignored)."""

    key_id: int | str
    user_id: int | str
    consumer_key: str
    consumer_secret: str
    key_permissions: str

    def __repr__(self) -> str:  # never print the keys
        return f"Keys(key_id={self.key_id!r}, key_permissions={self.key_permissions!r})"


def store_url_of(runtime: Any, typed: str | None) -> str:
    """The typed store URL in its normal form, checked as a connection's
    ``store_url`` is, SSRF guard included; FlowRefused saying what is wrong."""
    settings_type = registry.get(PROVIDER).settings_type
    try:
        settings = msgspec.convert({"store_url": (typed or "").strip()}, settings_type)
    except msgspec.ValidationError as exc:
        message = str(exc).split(" - at ", 1)[0]
        raise FlowRefused("invalid_store_url", message[:1].upper() + message[1:] + ".", fail_session=False,
                          field="store_url") from None
    refusal = guard_refusal(URL(settings.store_url), runtime.config.allow_private_networks)
    if refusal is not None:
        raise FlowRefused("invalid_store_url", f"The store URL cannot be used: {refusal}.", fail_session=False,
                          field="store_url")
    return settings.store_url


async def _note(runtime: Any, attempt: ConnectAttempt, record: dict[str, Any], **outcome: Any) -> None:
    """Keep the POST's outcome in the attempt (its unsealed ``record``), for the browser's return."""
    await attempts.replace_data(runtime, attempt, {**record, "outcome": outcome})


@register
class WooCommerceFlow(OAuthFlow):
    provider = PROVIDER
    inputs = ["store_url"]

    async def begin(self, ctx: FlowContext, typed: dict[str, str]) -> Begin:
        store_url = store_url_of(ctx.runtime, typed.get("store_url"))
        user_id = random.token_urlsafe(_USER_ID_BYTES)
        handle = await ctx.new_state({"store_url": store_url, "user_id": user_id})
        public = ctx.runtime.config.public_base
        query = {
            "app_name": ctx.tenant.name, "scope": "read", "user_id": user_id,
            "return_url": f"{public}/connect/oauth/{PROVIDER}/callback?" + urllib.parse.urlencode({"state": handle}),
            "callback_url": f"{public}{KEYS_PATH}/{handle}",
        }
        return Begin(url=f"{store_url}{AUTHORIZE_PATH}?" + urllib.parse.urlencode(query))

    def routes(self) -> list[Route]:
        return [
            Route(KEYS_PATH + "/{handle}", receive_keys, methods=["POST"]),
            Route(f"/connect/oauth/{PROVIDER}/callback", returned, methods=["GET"]),
        ]


# -- the store's POST ---------------------------------------------------------------


def _unknown() -> ApiError:
    # One answer for every attempt that is not this one: unknown, spent,
    # expired, another flow's, or a user_id that does not match.
    return ApiError(404, "not_found", "no connect attempt is waiting for keys here")


@params.accepts()
async def receive_keys(request: Request) -> Response:
    """``POST /connect/woocommerce/keys/{handle}``: JSON in, problem+json out
    (page.is_page: this is the store's server talking, not a person)."""
    runtime = request.app.state.runtime
    handle = request.path_params["handle"]
    if not attempts.looks_like_state(handle):
        raise _unknown()
    keys = await _read_keys(request)
    state_digest = secrets.digest(handle)
    found = await runtime.store.get_connect_attempt(state_digest)
    if found is None:
        raise _unknown()
    attempt, sealed = found
    record = attempts.unseal(runtime, attempt.tenant_id, attempt.id, sealed)
    data = record.get("flow") if record is not None else None  # what begin kept
    if (
        attempt.provider != PROVIDER or attempt.used_at is not None or attempt.expires_at <= now_text()
        or data is None or not hmac.compare_digest(str(keys.user_id).encode(), str(data.get("user_id")).encode())
    ):
        raise _unknown()
    # Spent now, before the live check: of two racing POSTs one goes on.
    if await runtime.store.claim_connect_attempt(state_digest, now_text()) is None:
        raise _unknown()
    request_context(request.scope)["tenant_id"] = attempt.tenant_id
    request_context(request.scope)["provider"] = PROVIDER
    try:
        code = await _connect(runtime, attempt, data, keys)
    except ApiError as error:
        await _note(runtime, attempt, record or {}, error=error.detail)  # what the merchant is told on return
        raise
    await _note(runtime, attempt, record or {}, connect_code=code)
    return Response(b'{"status":"connected"}', media_type="application/json", headers={"Cache-Control": "no-store"})


async def _read_keys(request: Request) -> Keys:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "invalid_request", "send the keys as application/json")
    return await read_json(request, Keys, limit=MAX_KEYS_BODY)


async def _connect(runtime: Any, attempt: ConnectAttempt, data: dict[str, Any], keys: Keys) -> str:
    """Check the keys on the recorded store and complete the session;
    returns the connect code."""
    session = await runtime.store.get_connect_session(attempt.session_id)
    tenant = await runtime.store.get_tenant(attempt.tenant_id)
    if session is None or tenant is None or status_of(session, now_text()) != PENDING:
        raise _unknown()  # the session expired or finished meanwhile
    if keys.key_permissions not in READABLE:
        raise ApiError(422, "verification_failed", f"the keys were made without read access ({keys.key_permissions!r:.20})")
    credentials = {"consumer_key": keys.consumer_key, "consumer_secret": keys.consumer_secret}
    settings = {"store_url": data["store_url"]}
    try:
        creds, parsed = accounts.validate_connection_input(
            PROVIDER, credentials, settings, allow_private_networks=runtime.config.allow_private_networks,
        )
    except accounts.InvalidInput as exc:
        raise ApiError(422, "verification_failed", str(exc).removeprefix(f"{PROVIDER}: ")) from None
    try:
        async with runtime.directory.tenant_calls.slot(tenant.id):
            await verification.verify(runtime.http, PROVIDER, creds, parsed, runtime.config.request_timeout)
    except ProviderError as exc:
        # Whatever stopped the check (refused, or the store unreachable or
        # slow), these keys are not accepted: WooCommerce deletes them.
        problem = verification.problem(exc, PROVIDER)
        raise ApiError(422, "verification_failed", problem.detail, headers=problem.headers) from None
    try:
        return await completion.complete(runtime, session, tenant, PROVIDER, credentials, settings)
    except completion.SessionGone:
        raise _unknown() from None


# -- the browser's return ------------------------------------------------------------


@params.platform_query
async def returned(request: Request) -> Response:
    """``return_url``: the browser back from the store. What happened is read
    from the attempt (``success=1`` proves nothing); the attempt must be the
    session cookie's."""
    runtime = request.app.state.runtime
    secret = request.cookies.get(page.COOKIE)
    session = None
    if secret and secrets.looks_like(secret, secrets.CONNECT_SESSION_PREFIX):
        session = await runtime.store.find_connect_session(secrets.digest(secret))
    state = params.single(request.query_params, "state") or ""
    found = await runtime.store.get_connect_attempt(secrets.digest(state)) if attempts.looks_like_state(state) else None
    if session is None or found is None or found[0].session_id != session.id or found[0].provider != PROVIDER:
        raise PageError(403, "Open your connection link",
                        "This page works from the link you were given. Open it again, or ask for a new one.")
    attempt, sealed = found
    tenant = await runtime.store.get_tenant(session.tenant_id)
    record = attempts.unseal(runtime, attempt.tenant_id, attempt.id, sealed) or {}
    outcome = record.get("outcome") or {}
    opened = page.Opened(session, tenant, secret)  # type: ignore[arg-type]
    if code := outcome.get("connect_code"):
        await attempts.replace_data(runtime, attempt, {**record, "outcome": {"handed_out": True}})  # once
        return page._finished(request, opened, forms.form_for(PROVIDER), code)
    retry = (f"{page._base(request)}/connect/providers/{PROVIDER}", "Try again")
    if status_of(session, now_text()) != PENDING:
        await page._opened(request)  # expired, used or failed: that page says so
    if outcome.get("error"):
        raise PageError(422, f"{DISPLAY} was not connected",
                        f"The keys your store sent did not work: {outcome['error']}.", tenant=tenant, link=retry)
    if params.single(request.query_params, "success") == "0":
        # The merchant said no in their store: the platform's refusal ends the session.
        await runtime.store.claim_connect_attempt(attempt.state_digest, now_text())
        await runtime.store.fail_connect_session(session.id, "access_denied", now_text())
        raise PageError(400, f"{DISPLAY} was not connected",
                        f"You did not approve the app in your store. Go back to {tenant.name} to start again.",
                        tenant=tenant)
    if attempt.used_at is None:
        raise PageError(409, f"{DISPLAY} did not send the keys",
                        "Your store did not send the keys to this service: it must be able to reach this "
                        "service's public address. Try again, or enter your keys instead.", tenant=tenant, link=retry)
    raise PageError(410, "This link was already used", f"Go back to {tenant.name}.", tenant=tenant)
