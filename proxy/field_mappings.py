"""Custom fields: validating mapping definitions and evaluating them.

A mapping says "the unified customer's custom field ``name`` comes from
this JMESPath ``expression`` over the provider's raw payload". Expressions
are compiled once (validated at creation, cost-bounded by
`proxy.mapping_limits`, cached by text) and evaluated per response; one that
yields nothing, or fails on the payload's types, gives ``null`` for that
name, never an error.

A field that goes over its evaluation budget (or whose stored expression no
longer passes the rules) also gives ``null``, and the reason is reported
beside the body, not in it (``field_mappings`` values stay plain values):
`problems_header` names each such field once per response in the
``x-field-mapping-errors`` header, ``name=reason`` pairs, and the request's
log line carries the same text.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from functools import lru_cache
from typing import Any, Iterable, NamedTuple

import jmespath
import jmespath.exceptions
from jmespath.parser import ParsedResult

from providers import registry

from . import mapping_limits
from .accounts import InvalidInput
from .clock import now_text
from .store.records import FieldMapping

OBJECTS = frozenset({"customer"})
MAX_EXPRESSION_LENGTH = 1000
# Every mapping runs on every customer read: the per-response budget bounds
# the work, this bounds how many fields share it (and the stored rows).
MAX_MAPPINGS_PER_TENANT = 100
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_NAME = re.compile(NAME_PATTERN)


# Work (or seconds) between two yields to the event loop while evaluating a page.
SLICE_WORK = 2_000
SLICE_SECONDS = 0.02
MAX_HEADER_FIELDS = 16


class Compiled(NamedTuple):
    name: str
    ast: dict[str, Any] | None  # None: the stored expression no longer passes the rules
    expression: str = ""


def expressions(compiled: list[Compiled]) -> tuple[str, ...]:
    """The expressions that will be evaluated: what the provider must fetch
    for (``providers.calls.CallRecord.mapped``)."""
    return tuple(c.expression for c in compiled if c.ast is not None)


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> ParsedResult:
    """Parse and bound an expression: JMESPathError or Refused if it may not be stored."""
    mapping_limits.check_nesting(expression)
    try:
        parsed = jmespath.compile(expression)
    except RecursionError:  # a deep form check_nesting does not count, e.g. !!!!...
        raise mapping_limits.Refused(
            f"expression must nest at most {mapping_limits.MAX_DEPTH} levels deep"
        ) from None
    mapping_limits.check(parsed.parsed)
    return parsed


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
    if not mapping_limits.writable(expression):
        raise InvalidInput("expression must not contain surrogate code points (U+D800 to U+DFFF)")
    try:
        compile_expression(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise InvalidInput(f"expression is not valid JMESPath: {_first_line(exc)}") from None
    except mapping_limits.Refused as exc:
        raise InvalidInput(str(exc)) from None  # names the rule
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


def over_limit(existing: int) -> str | None:
    """Why one more mapping may not be created, or None. The HTTP API answers
    409 conflict (a valid request the tenant's current mappings are in the
    way of), the CLI exits 1; both name the limit."""
    if existing >= MAX_MAPPINGS_PER_TENANT:
        return f"a tenant may have at most {MAX_MAPPINGS_PER_TENANT} field mappings; delete one first"
    return None


def effective(
    mappings: Iterable[FieldMapping], provider: str, connection_id: str, object: str = "customer"
) -> list[Compiled]:
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
    return [Compiled(name, _stored(m.expression), m.expression) for name, m in sorted(chosen.items())]


def _stored(expression: str) -> dict[str, Any] | None:
    # Rows stored before a rule existed are checked again, not trusted.
    try:
        return compile_expression(expression).parsed
    except (jmespath.exceptions.JMESPathError, mapping_limits.Refused):
        return None


async def evaluate_page(
    compiled: list[Compiled], raws: list[Any]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Each raw payload's custom fields, within one response's budget, and
    the fields that came back null for a reason (name -> reason).

    Yields to the event loop after every `SLICE_WORK` units of work, so a
    costly page delays other requests by at most one field's budget."""
    budget = mapping_limits.Budget()
    interpreter = mapping_limits.Interpreter()
    problems: dict[str, str] = {}
    pages: list[dict[str, Any]] = []
    since_yield, yielded_at = 0, time.perf_counter()
    for raw in raws:
        values: dict[str, Any] = {}
        for name, ast, _ in compiled:
            value, reason, work = _evaluate(interpreter, ast, raw, budget)
            values[name] = value
            if reason is not None:
                problems.setdefault(name, reason)
            since_yield += work
            if since_yield >= SLICE_WORK or time.perf_counter() - yielded_at >= SLICE_SECONDS:
                await asyncio.sleep(0)
                since_yield, yielded_at = 0, time.perf_counter()
        pages.append(values)
    return pages, problems


def _evaluate(
    interpreter: mapping_limits.Interpreter, ast: dict[str, Any] | None, raw: Any, budget: mapping_limits.Budget
) -> tuple[Any, str | None, int]:
    """(value, reason it is null or None, work done)."""
    if ast is None:
        return None, mapping_limits.REFUSED, 1
    if budget.steps <= 0 or budget.chars <= 0:
        return None, mapping_limits.RESPONSE_BUDGET, 1
    if budget.out_of_time():
        return None, mapping_limits.TOO_SLOW, 1
    meter = mapping_limits.Meter(budget)
    try:
        return interpreter.run(ast, raw, meter), None, meter.settle()
    except jmespath.exceptions.JMESPathError:
        return None, None, meter.settle()  # the payload's types did not fit: plain null
    except mapping_limits.OverBudget as exc:
        return None, exc.reason, meter.settle()
    except RecursionError:
        return None, mapping_limits.TOO_DEEP, meter.settle()
    except (ValueError, TypeError, OverflowError):  # e.g. an integer too long to print
        return None, mapping_limits.FAILED, meter.settle()


def problems_header(problems: dict[str, str]) -> str:
    """``name=reason, ...`` for the x-field-mapping-errors header (names are slugs)."""
    names = sorted(problems)
    text = ", ".join(f"{name}={problems[name]}" for name in names[:MAX_HEADER_FIELDS])
    if len(names) > MAX_HEADER_FIELDS:
        text += f", +{len(names) - MAX_HEADER_FIELDS}"
    return text


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
