"""Custom fields: validating mapping definitions and evaluating them.

A mapping says "the unified customer's custom field ``name`` comes from
this JMESPath ``expression`` over the provider's raw payload". Expressions
are compiled once (validated at creation, cached by text) and evaluated
per response; one that yields nothing, or fails on the payload's types,
gives ``null`` for that name, never an error.
"""

from __future__ import annotations

import re
import uuid
from functools import lru_cache
from typing import Any, Iterable

import jmespath
import jmespath.exceptions
from jmespath.parser import ParsedResult

from providers import registry

from .accounts import InvalidInput
from .clock import now_text
from .store.records import FieldMapping

OBJECTS = frozenset({"customer"})
MAX_EXPRESSION_LENGTH = 1000
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_NAME = re.compile(NAME_PATTERN)


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> ParsedResult:
    return jmespath.compile(expression)


def new_mapping(
    tenant_id: str,
    *,
    name: Any,
    object: Any,
    provider: Any,
    expression: Any,
    connection_id: str | None = None,
    connection_provider: str | None = None,
) -> FieldMapping:
    """Validate a definition; InvalidInput names the offending field."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput("name must be a slug: a-z first, then a-z, 0-9 or _, at most 63")
    if object not in OBJECTS:
        raise InvalidInput(f"object must be one of: {', '.join(sorted(OBJECTS))}")
    if not isinstance(provider, str) or provider not in registry.names():
        raise InvalidInput(f"provider must be one of: {', '.join(registry.names())}")
    if connection_provider is not None and connection_provider != provider:
        raise InvalidInput(f"the connection is a {connection_provider} connection, not {provider}")
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInput("expression must be a non-empty JMESPath expression")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise InvalidInput(f"expression must be at most {MAX_EXPRESSION_LENGTH} characters")
    # JMESPath accepts NUL inside a raw string literal, but PostgreSQL text
    # cannot hold it: refuse it here so both stores answer alike.
    if "\x00" in expression:
        raise InvalidInput("expression must not contain NUL characters")
    try:
        compile_expression(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise InvalidInput(f"expression is not valid JMESPath: {_first_line(exc)}") from None
    return FieldMapping(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        connection_id=connection_id,
        object=object,
        provider=provider,
        name=name,
        expression=expression,
        created_at=now_text(),
    )


def effective(
    mappings: Iterable[FieldMapping], provider: str, connection_id: str, object: str = "customer"
) -> list[tuple[str, ParsedResult]]:
    """The mappings that apply to one connection; per-connection ones win."""
    chosen: dict[str, FieldMapping] = {}
    for mapping in mappings:
        if mapping.object != object or mapping.provider != provider:
            continue
        if mapping.connection_id not in (None, connection_id):
            continue
        current = chosen.get(mapping.name)
        if current is None or (current.connection_id is None and mapping.connection_id):
            chosen[mapping.name] = mapping
    return [(name, compile_expression(m.expression)) for name, m in sorted(chosen.items())]


def evaluate(compiled: list[tuple[str, ParsedResult]], raw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, expression in compiled:
        try:
            values[name] = expression.search(raw)
        except jmespath.exceptions.JMESPathError:
            values[name] = None
    return values


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
