"""Response shaping for customer reads: ``fields``, ``exclude_fields``,
``response_format`` and ``remote_query[...]``.

Dot paths reach into the unified shape (``addresses.city`` applies to every
address). Unknown names are refused, so a typo fails loudly instead of
silently returning less.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import msgspec
from starlette.datastructures import QueryParams

from providers.models import Address, Customer, Email, Phone

from .params import single
from .problems import invalid_parameter

MAX_REMOTE_QUERY_PARAMS = 20
MAX_REMOTE_QUERY_LENGTH = 512
_REMOTE_QUERY = re.compile(r"^remote_query\[([A-Za-z0-9_.:\-\[\]]{1,64})\]$")

_NESTED: dict[str, frozenset[str] | None] = {
    "addresses": frozenset(Address.__struct_fields__),
    "emails": frozenset(Email.__struct_fields__),
    "phones": frozenset(Phone.__struct_fields__),
    # free-form objects: any key below them
    "field_mappings": None,
    "remote_data": None,
}
TOP_LEVEL = frozenset(Customer.__struct_fields__)

Tree = dict[str, "Tree | None"]


class Shape(msgspec.Struct, frozen=True, kw_only=True):
    include: Tree | None = None
    exclude: Tree | None = None
    raw: bool = False
    remote_query: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def identity(self) -> bool:
        return self.include is None and self.exclude is None


def parse(params: QueryParams, remote_query_refusal: Callable[[str], str | None]) -> Shape:
    """``remote_query_refusal`` is the provider's: why a name may not be
    forwarded (checked as the platform reads it), or None."""
    include = _paths(params, "fields")
    exclude = _paths(params, "exclude_fields")
    response_format = single(params, "response_format") or "unified"
    if response_format not in ("unified", "raw"):
        raise invalid_parameter("response_format", "must be unified or raw")
    if response_format == "raw" and (include is not None or exclude is not None):
        # Dot paths name unified fields; raw is the provider's record as it
        # came, so they would be silently ignored: say so instead.
        name = "fields" if include is not None else "exclude_fields"
        raise invalid_parameter(
            name,
            "selects fields of the unified shape, but response_format=raw returns the provider's "
            "record verbatim; drop one of the two",
        )
    return Shape(
        include=include,
        exclude=exclude,
        raw=response_format == "raw",
        remote_query=_remote_query(params, remote_query_refusal),
    )


def apply(shape: Shape, customer: dict[str, Any]) -> dict[str, Any]:
    if shape.include is not None:
        customer = _keep(customer, shape.include)
    if shape.exclude is not None:
        customer = _drop(customer, shape.exclude)
    return customer


def _paths(params: QueryParams, name: str) -> Tree | None:
    value = single(params, name)
    if value is None:
        return None
    tree: Tree = {}
    items = [item.strip() for item in value.split(",")]
    if not any(items) or len(items) > 100:
        raise invalid_parameter(name, "give a comma-separated list of field paths")
    for item in items:
        parts = item.split(".")
        if not item or any(not p for p in parts):
            raise invalid_parameter(name, f"empty path in {value!r}")
        top = parts[0]
        if top not in TOP_LEVEL:
            raise invalid_parameter(name, f"unknown field {top!r}")
        if len(parts) > 1:
            allowed = _NESTED.get(top, frozenset())
            if top not in _NESTED:
                raise invalid_parameter(name, f"{top!r} has no sub-fields")
            if allowed is not None and (parts[1] not in allowed or len(parts) > 2):
                raise invalid_parameter(name, f"unknown field {item!r}")
        node = tree
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part in node and node[part] is None:
                break  # the whole subtree is already selected
            if last:
                node[part] = None
            else:
                node = node.setdefault(part, {})  # type: ignore[assignment]
    return tree


def _keep(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        return [_keep(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for key, sub in tree.items():
        if key in value:
            kept[key] = value[key] if sub is None else _keep(value[key], sub)
    return kept


def _drop(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        return [_drop(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    result = dict(value)
    for key, sub in tree.items():
        if key not in result:
            continue
        if sub is None:
            del result[key]
        else:
            result[key] = _drop(result[key], sub)
    return result


def _remote_query(params: QueryParams, refusal: Callable[[str], str | None]) -> dict[str, str]:
    forwarded: dict[str, str] = {}
    for key, value in params.multi_items():
        if not key.startswith("remote_query"):
            continue
        match = _REMOTE_QUERY.match(key)
        if match is None:
            raise invalid_parameter(key, "use remote_query[name]=value")
        name = match.group(1)
        if (reason := refusal(name)) is not None:
            raise invalid_parameter(key, reason)
        if name in forwarded:
            raise invalid_parameter(key, "give it once")
        if len(value) > MAX_REMOTE_QUERY_LENGTH:
            raise invalid_parameter(key, f"at most {MAX_REMOTE_QUERY_LENGTH} characters")
        forwarded[name] = value
    if len(forwarded) > MAX_REMOTE_QUERY_PARAMS:
        raise invalid_parameter("remote_query", f"at most {MAX_REMOTE_QUERY_PARAMS} parameters")
    return forwarded

