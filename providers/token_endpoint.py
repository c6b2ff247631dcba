"""An OAuth 2.0 token endpoint: minting access tokens and reading refusals.

One place for what every platform's token endpoint shares (RFC 6749 section
5): the grant is sent as a form, JSON or query string; the answer is
``{"access_token", "expires_in", ...}``; a refusal is ``{"error": code}``.
A refusal that cannot heal by retrying (``invalid_grant``: the refresh
token was revoked; ``invalid_client``: the app's secret changed; any 401)
marks the connection needs-reauth and raises :class:`ReauthRequired`; 429,
5xx and transport failures are transient and mark nothing.

Platforms differ in small ways, stated where the endpoint is built: Zoho
answers a refusal with HTTP 200 and throttles as ``"Access Denied"``; Wix
puts its code in ``details.applicationError.code``; Zoho returns the data
center's ``api_domain`` with the token, and its legacy answer counts
``expires_in`` in milliseconds beside ``expires_in_sec``; Square names an
absolute ``expires_at`` instead of a lifetime. ``refusal``, ``read_code``,
``extra``, ``expires_in_keys`` and ``expiry`` carry those differences.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Literal, Mapping

import msgspec

from .auth import OAuthAccess
from .errors import (
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    ReauthRequired,
)
from .error_table import detail_of
from .http import UpstreamClient, UpstreamResponse, retry_after_seconds
from .tokens import AccessToken, MemoryTokenStore, TokenManager, TokenStore

PERMANENT_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})
# Visible ASCII without spaces: what a header can carry.
_TOKEN = re.compile(r"^[\x21-\x7e]{1,4096}$")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_. \-]{0,63}$")


def _seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def rfc6749_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    return error if isinstance(error, str) else None


class TokenEndpoint:
    def __init__(
        self,
        platform: str,
        http: UpstreamClient | None,
        url: str,
        fields: Mapping[str, str],
        *,
        store: TokenStore,
        send: Literal["form", "json", "query"] = "form",
        lifetime: float = 3600.0,
        permanent_codes: frozenset[str] = frozenset(),
        permanent_statuses: frozenset[int] = frozenset({401}),
        read_code: Callable[[dict[str, Any]], str | None] = rfc6749_code,
        refusal: Callable[[int, dict[str, Any]], ProviderError | None] | None = None,
        extra: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        expires_in_keys: tuple[str, ...] = ("expires_in",),
        expiry: Callable[[dict[str, Any]], float | None] | None = None,
    ) -> None:
        self.platform, self.http, self.url, self.fields = platform, http, url, dict(fields)
        self.store, self.send, self.lifetime = store, send, lifetime
        self.permanent_codes = {c.lower() for c in PERMANENT_ERRORS | permanent_codes}
        self.permanent_statuses = permanent_statuses
        self.read_code, self.refusal, self.extra = read_code, refusal, extra
        self.expires_in_keys = expires_in_keys
        # When to mint again (epoch seconds) read from the answer; None falls
        # back to expires_in / lifetime.
        self.expiry = expiry

    async def mint(self) -> AccessToken:
        assert self.http is not None
        fields = await self._fields()
        response = await self.http.request(
            "POST",
            self.url,
            json=fields if self.send == "json" else None,
            data=fields if self.send == "form" else None,
            params=fields if self.send == "query" else None,
        )
        status = response.status
        if status == 429:
            raise ProviderRateLimited(
                f"{self.platform}'s token endpoint rate limit reached (429)",
                remote_status=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise ProviderUnavailable(f"{self.platform}'s token endpoint failed ({status})", remote_status=status)
        body = self._body(response)
        if body is None or rfc6749_code(body) is not None or not 200 <= status < 300:
            raise await self.refused(status, body or {})
        token = body.get("access_token")
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise ProviderBadResponse(f"{self.platform}'s token endpoint answered without an access_token")
        # The first key holding a positive number of seconds; else the lifetime.
        expires_in = next((body[k] for k in self.expires_in_keys if _seconds(body.get(k))), self.lifetime)
        expires_at = self.expiry(body) if self.expiry is not None else None
        extra = self.extra(body) if self.extra is not None else {}
        if isinstance(body.get("refresh_token"), str) and _TOKEN.match(body["refresh_token"]):
            extra["refresh_token"] = body["refresh_token"]  # rotated: the next refresh uses it
        elif (sent := fields.get("refresh_token")) != self.fields.get("refresh_token"):
            # None new: the rotated one just sent stays current (RFC 6749 section 6).
            extra["refresh_token"] = sent
        if expires_at is None:
            expires_at = time.time() + float(expires_in)
        return AccessToken(access_token=token, expires_at=expires_at, extra=extra)

    async def _fields(self) -> dict[str, str]:
        fields = dict(self.fields)
        if fields.get("grant_type") == "refresh_token":
            # Platforms that rotate refresh tokens hand a new one with each
            # access token; it was stored with the token (inside the lock).
            stored = await self.store.load()
            rotated = stored.extra.get("refresh_token") if stored is not None else None
            if isinstance(rotated, str):
                fields["refresh_token"] = rotated
        return fields

    def _body(self, response: UpstreamResponse) -> dict[str, Any] | None:
        try:
            body = msgspec.json.decode(response.body)
        except msgspec.DecodeError:
            if 200 <= response.status < 300:
                raise ProviderBadResponse(
                    f"{self.platform}'s token endpoint answered {response.status} with a body that is not JSON",
                    remote_status=response.status,
                ) from None
            return None
        if not isinstance(body, dict):
            if not 200 <= response.status < 300:
                return None  # the status speaks
            raise ProviderBadResponse(
                f"{self.platform}'s token endpoint answered with JSON that is not an object",
                remote_status=response.status,
            )
        return body

    async def refused(self, status: int, body: dict[str, Any]) -> ProviderError:
        if self.refusal is not None and (special := self.refusal(status, body)) is not None:
            return special
        code = self.read_code(body)
        code = code if code is not None and _CODE.match(code) else None
        detail = detail_of(status, code, None, lambda s: s)
        if status in self.permanent_statuses or (code is not None and code.lower() in self.permanent_codes):
            await self.store.mark_needs_reauth()
            return ReauthRequired(
                f"{self.platform} refused the connection's OAuth grant or app credentials for good"
                + detail + "; reconnect the store",
                remote_status=status,
            )
        return ProviderAuthFailed(f"{self.platform} refused to issue an access token" + detail, remote_status=status)


def oauth_access(
    endpoint_args: dict[str, Any],
    *,
    header: str = "Authorization",
    scheme: str | None = "Bearer",
    store: TokenStore | None = None,
) -> OAuthAccess:
    """An :class:`OAuthAccess` minting at a :class:`TokenEndpoint`; one
    manager per provider instance (= per connection), so a cold burst mints
    one token."""
    store = store or MemoryTokenStore()
    endpoint = TokenEndpoint(**endpoint_args, store=store)
    return OAuthAccess(TokenManager(store, endpoint.mint), header=header, scheme=scheme)


def client_credentials(
    platform: str, http: UpstreamClient | None, url: str, client_id: str, client_secret: str,
    *, store: TokenStore | None = None, header: str = "Authorization", scheme: str | None = "Bearer",
    fields: Mapping[str, str] | None = None, **options: Any,
) -> OAuthAccess:
    """The client-credentials grant (RFC 6749 4.4): no refresh token, a new
    access token minted shortly before expiry or once after a 401."""
    grant = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    args = dict(platform=platform, http=http, url=url, fields={**grant, **(fields or {})}, **options)
    return oauth_access(args, header=header, scheme=scheme, store=store)


def refresh_token(
    platform: str, http: UpstreamClient | None, url: str, client_id: str, client_secret: str,
    refresh: str, *, store: TokenStore | None = None, header: str = "Authorization",
    scheme: str | None = "Bearer", **options: Any,
) -> OAuthAccess:
    """The refresh-token grant (RFC 6749 6), rotated refresh tokens kept."""
    grant = {"refresh_token": refresh, "client_id": client_id, "client_secret": client_secret,
             "grant_type": "refresh_token"}
    args = dict(platform=platform, http=http, url=url, fields=grant, **options)
    return oauth_access(args, header=header, scheme=scheme, store=store)
