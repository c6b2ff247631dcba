"""Connect sessions: ``POST /connect/sessions`` and ``GET /connect/sessions/{id}``
(``x-api-key``).

A session is a short-lived link (``connect_url``) a tenant sends its merchant
to. The link carries a 256-bit token; only its SHA-256 digest is stored, and
the browser trades it for a cookie on first use (page.py). The link stays
good until the session completes or expires (``SHOPRELAY_CONNECT_SESSION_TTL``,
30 minutes by default), so a mail client's link preview cannot spend it.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from keys import secrets
from providers import registry

from .. import params
from ..bodies import read_json
from ..clock import now_text, text_after
from ..middleware import request_context
from ..problems import ApiError, invalid_parameter
from ..routes.management import json_response, tenant_of
from ..store.records import ConnectSession

MAX_TAGS = 20
MAX_TAG_KEY = 64
MAX_TEXT = 200
MAX_EMAIL = 320
START_PATH = "/connect/start"

_ORIGIN = re.compile(r"https?://[a-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?")

PENDING, COMPLETED, FAILED, EXPIRED = "pending", "completed", "failed", "expired"


class ConnectSessionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # The limits are checked below with clearer messages; stated here too so
    # the OpenAPI document generated from this Struct tells clients.
    end_user_id: Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1, "maxLength": MAX_TEXT})]
    end_user_email: str | None = None
    end_user_name: str | None = None
    providers: list[str] | None = None
    return_url: str | None = None
    connection_id: str | None = None
    tags: Annotated[dict[str, str], msgspec.Meta(extra_json_schema={"maxProperties": MAX_TAGS})] = {}


class ConnectSessionCreated(msgspec.Struct, kw_only=True):
    id: str
    connect_url: str
    expires_at: str


class ConnectSessionView(msgspec.Struct, kw_only=True):
    id: str
    status: str
    end_user_id: str
    provider: str | None
    connection_id: str | None
    error: str | None

    @classmethod
    def of(cls, session: ConnectSession, now: str) -> "ConnectSessionView":
        return cls(
            id=session.id, status=status_of(session, now), end_user_id=session.end_user_id,
            provider=session.provider, connection_id=session.connection_id, error=session.error,
        )


def status_of(session: ConnectSession, now: str) -> str:
    """The stored status, or ``expired`` for a pending session past its time."""
    if session.status == PENDING and session.expires_at <= now:
        return EXPIRED
    return session.status


def safe_return_url(url: str) -> bool:
    """An absolute http(s) URL with a host: never ``javascript:``, a
    scheme-relative ``//host`` or a path that a browser would resolve."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https") and bool(parts.hostname) and url.isprintable()
        and not any(c in url for c in " \\")
    )


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of a return URL, as a browser names the origin."""
    if not safe_return_url(url):
        return None
    parts = urllib.parse.urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()
    # It goes into a header (CSP frame-ancestors): nothing but an origin.
    return origin if _ORIGIN.fullmatch(origin) else None


def _text(value: str | None, name: str, limit: int, required: bool = False) -> str | None:
    if value is None or (not required and value == ""):
        return None
    if not 1 <= len(value) <= limit or not value.isprintable() or value != value.strip():
        raise invalid_parameter(name, f"1 to {limit} printable characters, without surrounding spaces")
    return value


def _tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise invalid_parameter("tags", f"at most {MAX_TAGS} tags")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or not key.isprintable():
            raise invalid_parameter("tags", f"each name is 1 to {MAX_TAG_KEY} printable characters")
        if len(value) > MAX_TEXT or not value.isprintable():
            raise invalid_parameter("tags", f"each value is at most {MAX_TEXT} printable characters")
    return dict(tags)


def _providers(asked: list[str] | None, reconnect_provider: str | None) -> list[str]:
    installed = registry.names()
    if asked is not None:
        if not asked:
            raise invalid_parameter("providers", "name at least one provider, or leave it out for all")
        unknown = [name for name in asked if name not in installed]
        if unknown:
            raise invalid_parameter(
                "providers", f"not installed: {', '.join(map(repr, unknown[:5]))}; installed: {', '.join(installed)}"
            )
    if reconnect_provider is not None:
        if asked is not None and reconnect_provider not in asked:
            raise invalid_parameter("providers", f"a reconnect offers the connection's provider ({reconnect_provider})")
        return [reconnect_provider]
    return list(dict.fromkeys(asked)) if asked is not None else installed


@params.accepts()
async def create_session(request: Request) -> Response:
    owner = await tenant_of(request)
    body = await read_json(request, ConnectSessionCreate)
    runtime = request.app.state.runtime
    store = runtime.store
    tenant = await store.get_tenant(owner.tenant_id)
    if tenant is None:  # deleted while its key was cached
        raise ApiError(401, "invalid_api_key", "the API key is not valid (unknown or revoked)")
    end_user_id = _text(body.end_user_id, "end_user_id", MAX_TEXT, required=True)
    email = _text(body.end_user_email, "end_user_email", MAX_EMAIL)
    name = _text(body.end_user_name, "end_user_name", MAX_TEXT)
    tags = _tags(body.tags)
    if body.return_url is not None and (
        body.return_url not in tenant.return_urls or not safe_return_url(body.return_url)
    ):
        raise invalid_parameter(
            "return_url", "must be one of the tenant's return_urls (exact match; set them with PATCH /tenant)"
        )
    reconnect_provider = None
    if body.connection_id is not None:
        connection = await store.get_connection(body.connection_id)
        if connection is None or connection.tenant_id != owner.tenant_id:
            raise ApiError(404, "not_found", "connection_id: no connection of this tenant has that id")
        reconnect_provider = connection.provider
    token = secrets.mint_connect_session_token()
    now = now_text()
    session = ConnectSession(
        id=str(uuid.uuid4()), tenant_id=owner.tenant_id, end_user_id=end_user_id or "",
        end_user_email=email, end_user_name=name,
        providers=_providers(body.providers, reconnect_provider), return_url=body.return_url,
        reconnect_connection_id=body.connection_id, tags=tags, status=PENDING, provider=None,
        connection_id=None, error=None, attempts=0, created_at=now,
        expires_at=text_after(runtime.config.connect_session_ttl), completed_at=None,
    )
    await store.create_connect_session(session, secrets.digest(token))
    connect_url = f"{runtime.config.public_base}{START_PATH}?" + urllib.parse.urlencode({"token": token})
    return json_response(ConnectSessionCreated(id=session.id, connect_url=connect_url, expires_at=session.expires_at), 201)


@params.accepts()
async def get_session(request: Request) -> Response:
    owner = await tenant_of(request)
    session = await request.app.state.runtime.store.get_connect_session(request.path_params["id"])
    if session is None or session.tenant_id != owner.tenant_id:
        raise ApiError(404, "not_found", "no connect session of this tenant has that id")
    request_context(request.scope)["connection_id"] = session.connection_id
    return json_response(ConnectSessionView.of(session, now_text()))
