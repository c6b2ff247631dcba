"""Errors as RFC 9457 problem+json, one envelope everywhere.

``code`` is the stable identifier clients switch on; the table in
DESIGN.md ("Errors") is the contract. Provider exceptions are translated
here and nowhere else.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
from starlette.responses import Response

from providers import errors as pe

from .views import Problem

_encode = msgspec.json.Encoder().encode

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    "missing_api_key": "Missing API key",
    "invalid_api_key": "Invalid API key",
    "missing_connection_token": "Missing connection token",
    "invalid_connection_token": "Invalid connection token",
    "invalid_parameter": "Invalid parameter",
    "invalid_request": "Invalid request",
    "customer_not_found": "Customer not found",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "provider_auth_failed": "Provider rejected the credentials",
    "provider_rate_limited": "Provider rate limit reached",
    "rate_limited": "Rate limit reached",
    "provider_unavailable": "Provider unavailable",
    "provider_timeout": "Provider timeout",
    "provider_bad_response": "Provider sent a bad response",
    "store_unavailable": "Store unavailable",
    "credentials_unreadable": "Stored credentials unreadable",
    "internal_error": "Internal error",
    "invalid_connect_code": "Invalid connect code",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        provider: str | None = None,
        remote_status: int | None = None,
        parameter: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.provider = provider
        self.remote_status = remote_status
        self.parameter = parameter

    def body(self, request_id: str) -> bytes:
        problem = Problem(
            type=f"urn:shoprelay:problem:{self.code}",
            title=_TITLES.get(self.code, self.code.replace("_", " ").capitalize()),
            status=self.status,
            detail=self.detail,
            code=self.code,
            request_id=request_id,
            provider=self.provider,
            parameter=self.parameter,
        )
        encoded = _encode(problem)
        if self.provider is not None:
            # remote_status is part of every provider problem, null included.
            encoded = encoded[:-1] + b',"remote_status":' + _encode(self.remote_status) + b"}"
        return encoded

    def response(self, request_id: str) -> Response:
        headers = dict(self.headers)
        headers["x-request-id"] = request_id
        return Response(
            self.body(request_id),
            status_code=self.status,
            media_type=PROBLEM_CONTENT_TYPE,
            headers=headers,
        )


def invalid_parameter(name: str, detail: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {detail}", parameter=name)


def credentials_unreadable(key_id: str, in_keyring: bool) -> ApiError:
    """A stored ciphertext this server cannot decrypt: the operator's
    keyring is wrong (a key dropped too early, another key file), not the
    merchant's credentials. Names the key id, never the key."""
    why = (
        "this server's key of that id does not decrypt them (a different key under the same id)"
        if in_keyring else "that key is not in this server's keyring"
    )
    return ApiError(
        503,
        "credentials_unreadable",
        f"the connection's stored credentials are encrypted with key {key_id!r}, but {why}; "
        "the operator must restore the key (see `shoprelay status`)",
    )


def from_provider_error(exc: pe.ProviderError, provider: str) -> ApiError:
    """The one translation of provider failures into the error table."""
    kw: dict[str, Any] = {"provider": provider, "remote_status": exc.remote_status}
    if isinstance(exc, pe.CustomerNotFound):
        return ApiError(404, "customer_not_found", exc.message, **kw)
    if isinstance(exc, pe.ProviderAuthFailed):
        return ApiError(502, "provider_auth_failed", exc.message, **kw)
    if isinstance(exc, pe.ProviderRateLimited):
        retry_after = max(1, math.ceil(exc.retry_after)) if exc.retry_after else 1
        return ApiError(
            429, "provider_rate_limited", exc.message, headers={"Retry-After": str(retry_after)}, **kw
        )
    if isinstance(exc, pe.ProviderTimeout):
        return ApiError(504, "provider_timeout", exc.message, **kw)
    if isinstance(exc, pe.ProviderUnavailable):
        return ApiError(502, "provider_unavailable", exc.message, **kw)
    # ProviderBadResponse, and ConfigurationError for settings a newer
    # validator would refuse: either way the provider cannot be used as is.
    return ApiError(502, "provider_bad_response", exc.message, **kw)
