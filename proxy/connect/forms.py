"""A provider's connect form, derived from its credentials and settings Structs.

Field names are exactly the provider's contract (``store_url``,
``consumer_key``...), so what a merchant types is what ``POST /connections``
would take. Labels and help come from the provider module: a field's
``msgspec.Meta(title=...)`` if it has one (else its name in words), and its
``Meta(description=...)`` as the help.

Every credential is a secret: it is never sent back into a page. Settings
are not secrets; the ones a merchant rarely needs (the API origin overrides
every provider takes, and settings with a default) go under "Advanced".
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from providers import registry
from providers.base import CommonSettings, OAuthSettings

# Settings every provider inherits that replace the platform's API or token
# origin: for proxies and on-prem stores, not what a merchant is asked first.
_ORIGIN_OVERRIDES = frozenset(CommonSettings.__struct_fields__) | frozenset(OAuthSettings.__struct_fields__)
# Words spelled out in labels made from field names.
_WORDS = {"url": "URL", "id": "ID", "api": "API", "oauth": "OAuth"}
MAX_VALUE_LENGTH = 4096


class Field(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    part: str  # "credentials" | "settings"
    label: str
    help: str | None
    required: bool
    secret: bool
    advanced: bool
    integer: bool  # the Struct wants a number: the typed text is converted
    default: str | None  # shown pre-filled (settings only)


class Form(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    display_name: str
    fields: list[Field]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    @property
    def main(self) -> list[Field]:
        return [f for f in self.fields if not f.advanced]

    @property
    def advanced(self) -> list[Field]:
        return [f for f in self.fields if f.advanced]

    def field(self, name: str | None) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


class FormError(ValueError):
    """The submission does not fit the form; ``field`` is the one at fault."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def form_for(provider: str) -> Form:
    """The form of an installed provider (registry.UnknownProvider if not)."""
    cls = registry.get(provider)
    settings = _fields(cls.settings_type, "settings")
    credentials = _fields(cls.credentials_type, "credentials")
    # What identifies the store first, then the keys, then the rarely needed.
    ordered = [f for f in settings if not f.advanced] + credentials + [f for f in settings if f.advanced]
    return Form(provider=provider, display_name=cls.display_name, fields=ordered)


def _fields(struct: type[msgspec.Struct], part: str) -> list[Field]:
    fields = []
    for info in msgspec.inspect.type_info(struct).fields:  # type: ignore[attr-defined]
        meta: dict[str, Any] = {}
        kind = info.type
        while isinstance(kind, msgspec.inspect.Metadata):
            meta.update(kind.extra_json_schema or {})
            kind = kind.type
        default = info.default if info.default is not msgspec.NODEFAULT else None
        secret = part == "credentials"
        fields.append(Field(
            name=info.name,
            part=part,
            label=meta.get("title") or _words(info.name),
            help=_sentence(meta.get("description")),
            required=info.required,
            secret=secret,
            advanced=not secret and (info.name in _ORIGIN_OVERRIDES or default is not None),
            integer=_is_integer(kind),
            default=None if secret or default is None else str(default),
        ))
    return fields


def _is_integer(kind: Any) -> bool:
    if isinstance(kind, msgspec.inspect.Metadata):
        return _is_integer(kind.type)
    if isinstance(kind, msgspec.inspect.UnionType):
        # int | None is a number; str | int takes the text as it is.
        kinds = [k for k in kind.types if not isinstance(k, msgspec.inspect.NoneType)]
        return len(kinds) == 1 and _is_integer(kinds[0])
    return isinstance(kind, msgspec.inspect.IntType)


def _words(name: str) -> str:
    words = [_WORDS.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _sentence(text: str | None) -> str | None:
    if not text:
        return None
    text = text.strip()
    return text[:1].upper() + text[1:]


def read(form: Form, submitted: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The submitted fields as (credentials, settings) objects. Empty fields
    are left out (so defaults apply); a field that is not the form's is
    refused (400), as is a missing required one (422)."""
    for name in submitted:
        if name not in form.names:
            raise FormError(f"this form has no field named {_shown(name)}", status=400)
    credentials: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for field in form.fields:
        value = submitted.get(field.name, "").strip()
        if len(value) > MAX_VALUE_LENGTH:
            raise FormError(f"{field.label} is too long", field.name)
        if not value:
            if field.required:
                raise FormError(f"{field.label} is required", field.name)
            continue
        target = credentials if field.part == "credentials" else settings
        target[field.name] = int(value) if field.integer and re.fullmatch(r"-?[0-9]{1,18}", value) else value
    return credentials, settings


def field_named_in(form: Form, message: str) -> str | None:
    """The first of the form's fields a validation message names, if any
    (provider messages and msgspec's ``$.field`` paths name them)."""
    for field in form.fields:
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(field.name)}(?![A-Za-z0-9_])", message):
            return field.name
    return None


def _shown(name: str) -> str:
    return repr(name if len(name) <= 64 else name[:64] + "...")
