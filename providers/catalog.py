"""What each provider asks for: its credential and settings fields, one line
of help each.

Read from the msgspec Structs that validate a connection (a field's help is
its ``msgspec.Meta(description=...)``), so the help cannot drift from what is
accepted. Used by ``shoprelay providers list``.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi

from .base import CommonSettings, Provider


class FieldHelp(msgspec.Struct, kw_only=True):
    name: str
    type: str
    required: bool
    help: str
    default: Any = msgspec.UNSET  # left out when the field has none (or None)


class ProviderHelp(msgspec.Struct, kw_only=True):
    name: str
    display_name: str
    credentials: list[FieldHelp]
    settings: list[FieldHelp]


_COMMON = frozenset(f.name for f in mi.type_info(CommonSettings).fields)  # type: ignore[attr-defined]


def describe(provider: type[Provider]) -> ProviderHelp:
    settings = fields(provider.settings_type)
    # The provider's own settings first; base_url (every provider's) last.
    settings.sort(key=lambda f: f.name in _COMMON)
    return ProviderHelp(
        name=provider.name,
        display_name=provider.display_name,
        credentials=fields(provider.credentials_type),
        settings=settings,
    )


def fields(struct: type[msgspec.Struct]) -> list[FieldHelp]:
    out = []
    for field in mi.type_info(struct).fields:  # type: ignore[attr-defined]
        kind, extra = field.type, {}
        if isinstance(kind, mi.Metadata):
            extra = kind.extra_json_schema or {}
            kind = kind.type
        default = field.default
        out.append(FieldHelp(
            name=field.encode_name,
            type=_type_name(kind),
            required=field.required,
            help=str(extra.get("description", "")),
            default=msgspec.UNSET if default in (mi.NODEFAULT, None) else default,
        ))
    return out


def _type_name(kind: mi.Type) -> str:
    if isinstance(kind, mi.Metadata):
        return _type_name(kind.type)
    if isinstance(kind, mi.UnionType):
        return " | ".join(_type_name(t) for t in kind.types if not isinstance(t, mi.NoneType))
    if isinstance(kind, mi.LiteralType):
        return " | ".join(repr(v) for v in kind.values)
    names = {
        mi.StrType: "string", mi.IntType: "integer", mi.FloatType: "number",
        mi.BoolType: "boolean", mi.DictType: "object", mi.ListType: "array",
    }
    return names.get(type(kind), type(kind).__name__.removesuffix("Type").lower())
