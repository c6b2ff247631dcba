"""Request bodies of the management API: JSON objects decoded into Structs."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from starlette.requests import Request

from .field_mappings import MAX_EXPRESSION_LENGTH, NAME_PATTERN
from .problems import ApiError
from .store.records import UNSET, UnsetType
from .tenant_settings import MAX_RETURN_URLS, MAX_URL_LENGTH

MAX_BODY_BYTES = 64 * 1024
# Credentials and settings are flat objects; 32 levels is generous. Checked
# before decoding, because decoders recurse: 32,000 levels raised
# RecursionError (a 500) in msgspec and a traceback in the CLI's json.loads.
MAX_JSON_DEPTH = 32
T = TypeVar("T")

_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


def json_too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``data`` (JSON text, valid or not) opens more than ``limit``
    arrays/objects inside one another. Iterative, over the structural
    characters only; brackets inside strings do not count."""
    depth, in_string, skip = 0, False, -1
    for match in _STRUCTURE.finditer(data):
        at = match.start()
        if at == skip:  # the character after a backslash in a string
            continue
        char = data[at]
        if in_string:
            if char == 0x5C:  # backslash
                skip = at + 1
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif char in (0x5D, 0x7D):
            depth -= 1
    return False


class ConnectionCreate(msgspec.Struct, forbid_unknown_fields=True):
    provider: str
    credentials: dict[str, Any]
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class ConnectionPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Settings replace the stored ones whole. A change of a setting that
    decides where the credentials go (base_url, auth_url, the store...) needs
    the credentials in the same request."""

    credentials: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None


class FieldMappingCreate(msgspec.Struct, forbid_unknown_fields=True):
    # field_mappings.new_mapping enforces these rules with clearer messages;
    # they are stated here (schema only) so the OpenAPI document generated
    # from this Struct tells clients about them.
    name: Annotated[str, msgspec.Meta(extra_json_schema={"pattern": NAME_PATTERN})]
    provider: str
    expression: Annotated[
        str, msgspec.Meta(extra_json_schema={"minLength": 1, "maxLength": MAX_EXPRESSION_LENGTH})
    ]
    object: Literal["customer"] = "customer"
    connection_id: str | None = None


class ProviderAppPut(msgspec.Struct, forbid_unknown_fields=True):
    # proxy.provider_apps.check_input enforces the bounds (400
    # invalid_parameter naming the field); they are stated here for the
    # OpenAPI document.
    client_id: Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1, "maxLength": 256})]
    client_secret: Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1, "maxLength": 1024})]
    scopes: Annotated[list[str], msgspec.Meta(extra_json_schema={"maxItems": 20})] | None = None
    settings: dict[str, Any] | None = None


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str


_Url = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL_LENGTH)]


class TenantPatch(msgspec.Struct, forbid_unknown_fields=True):
    """What to replace; what is left out is kept. tenant_settings checks
    the URLs (the bounds are stated here for the OpenAPI document)."""

    name: str | UnsetType = UNSET
    return_urls: Annotated[list[_Url], msgspec.Meta(max_length=MAX_RETURN_URLS)] | UnsetType = UNSET
    webhook_url: _Url | None | UnsetType = UNSET


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "invalid_request", f"the body exceeds {limit} bytes")


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed the cap:
    at once from Content-Length (nothing read), else while it streams in
    (chunked), so the process never holds more than the cap plus a chunk.
    ``limit``: a smaller cap, for a route whose bodies are known to be small."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit():
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, type_: type[T], *, optional: bool = False, limit: int = MAX_BODY_BYTES) -> T:
    body = await read_body(request, limit=limit)
    if not body.strip():
        if optional:
            return msgspec.convert({}, type_)
        raise ApiError(400, "invalid_request", "send a JSON object body")
    if json_too_deep(body):
        raise ApiError(400, "invalid_request", f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid_request", f"body: {exc}") from None
    except msgspec.DecodeError:
        raise ApiError(400, "invalid_request", "the body is not valid JSON") from None
