"""Request bodies of the management API: JSON objects decoded into Structs."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec
from starlette.requests import Request

from .field_mappings import MAX_EXPRESSION_LENGTH, NAME_PATTERN
from .problems import ApiError

MAX_BODY_BYTES = 64 * 1024
T = TypeVar("T")


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


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None


async def read_json(request: Request, type_: type[T], *, optional: bool = False) -> T:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "invalid_request", f"the body exceeds {MAX_BODY_BYTES} bytes")
    if not body.strip():
        if optional:
            return msgspec.convert({}, type_)
        raise ApiError(400, "invalid_request", "send a JSON object body")
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise ApiError(400, "invalid_request", f"body: {exc}") from None
    except msgspec.DecodeError:
        raise ApiError(400, "invalid_request", "the body is not valid JSON") from None
