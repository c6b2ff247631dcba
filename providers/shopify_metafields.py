"""Which Shopify metafields a tenant's field mappings read.

Every metafield asked for costs a point per customer (see providers.shopify),
so the GraphQL selection carries only what the mappings can read:

* no expression mentions ``metafields``: none at all;
* every mention is a filter that names both the namespace and the key,
  ``metafields.nodes[?namespace=='custom' && key=='tier']`` (also with
  ``||`` between such pairs, literals on either side, and the
  ``edges[?node.namespace==...]`` form): exactly those, through the
  connection's ``keys: ["namespace.key", ...]`` argument. A filter keeps only
  the nodes it names, so asking for no others changes no result;
* anything else (``metafields.nodes[0]``, a filter on the key alone): the
  customer's first ``UNNAMED`` metafields, in Shopify's order.

An expression over the whole node (``@``, ``*``, ``keys(@)``) names no
``metafields`` and is not taken to read them: it sees the node as queried.

The expressions are the tenant's own text: a pair goes to Shopify as a GraphQL
variable, never into the query text, and one that cannot be written in the
``namespace.key`` form (a dot in the namespace) or too many pairs (Shopify
takes at most 250 input values) fall back to the unnamed read.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, NamedTuple

import jmespath
import jmespath.exceptions

UNNAMED = 25  # metafields read for expressions that name no namespace and key
MAX_KEYS = 250  # Shopify's limit on an input array (https://shopify.dev/docs/api/usage/limits)
MAX_PART = 255  # the longest namespace or key kept as a name


class Metafields(NamedTuple):
    """``keys`` (``namespace.key``, sorted) when ``named``; ``read`` False: none."""

    read: bool
    keys: tuple[str, ...] = ()

    @property
    def named(self) -> bool:
        return self.read and bool(self.keys)


NONE = Metafields(False)
ALL = Metafields(True)

# What a condition lets through: (namespaces, keys, pairs), None where unbounded.
_Bound = tuple[frozenset[str] | None, frozenset[str] | None, frozenset[tuple[str, str]] | None]
_OPEN: _Bound = (None, None, None)


class _Unbounded(Exception):
    """An expression reads metafields the walk cannot name."""


@lru_cache(maxsize=256)  # per distinct set of a connection's expressions (each at most 1,000 characters)
def metafields_read(expressions: tuple[str, ...]) -> Metafields:
    """What ``expressions`` (JMESPath over the customer node) read of ``metafields``."""
    pairs: set[tuple[str, str]] = set()
    try:
        for expression in expressions:
            try:
                ast = jmespath.compile(expression).parsed
            except (jmespath.exceptions.JMESPathError, RecursionError):
                continue  # the proxy refuses it too: it reads nothing
            _walk(ast, pairs)
    except _Unbounded:
        return ALL
    if not pairs:
        return NONE
    if len(pairs) > MAX_KEYS or any(not _nameable(ns, key) for ns, key in pairs):
        return ALL
    return Metafields(True, tuple(sorted(f"{ns}.{key}" for ns, key in pairs)))


def _nameable(namespace: str, key: str) -> bool:
    return "." not in namespace and 0 < len(namespace) <= MAX_PART and 0 < len(key) <= MAX_PART


def _walk(node: Any, pairs: set[tuple[str, str]]) -> None:
    if not isinstance(node, dict):
        return
    kind, children = node.get("type"), node.get("children") or []
    if kind == "field" and node.get("value") == "metafields":
        raise _Unbounded
    if kind == "filter_projection" and len(children) == 3 and (edge := _metafield_list(children[0])) is not None:
        pairs.update(_pairs(children[2], edge))
        _walk(children[1], pairs)  # relative to one metafield node
        return
    for child in children:
        _walk(child, pairs)


def _metafield_list(node: Any) -> bool | None:
    """``metafields.nodes`` -> False, ``metafields.edges`` -> True, else None."""
    if not isinstance(node, dict) or node.get("type") != "subexpression" or len(node.get("children") or []) != 2:
        return None
    first, second = node["children"]
    if _field(first) != "metafields":
        return None
    return {"nodes": False, "edges": True}.get(_field(second) or "")


def _pairs(condition: Any, edge: bool) -> frozenset[tuple[str, str]]:
    pairs = _full(_bound(condition, edge))
    if pairs is None:
        raise _Unbounded
    return pairs


def _full(bound: _Bound) -> frozenset[tuple[str, str]] | None:
    """The (namespace, key) pairs a condition lets through, None if unbounded."""
    namespaces, keys, pairs = bound
    if pairs is None and namespaces is not None and keys is not None:
        pairs = frozenset((ns, key) for ns in namespaces for key in keys)
    return pairs


def _fits(pair: tuple[str, str], bound: _Bound) -> bool:
    namespaces, keys, pairs = bound
    return (
        (namespaces is None or pair[0] in namespaces)
        and (keys is None or pair[1] in keys)
        and (pairs is None or pair in pairs)
    )


def _bound(node: Any, edge: bool) -> _Bound:
    kind, children = node.get("type"), node.get("children") or []
    if kind == "and_expression" and len(children) == 2:
        a, b = _bound(children[0], edge), _bound(children[1], edge)
        for one, other in ((a, b), (b, a)):
            if (pairs := _full(one)) is not None:
                return None, None, frozenset(p for p in pairs if _fits(p, other))
        return _meet(a[0], b[0]), _meet(a[1], b[1]), None
    if kind == "or_expression" and len(children) == 2:
        a, b = _bound(children[0], edge), _bound(children[1], edge)
        if (pairs_a := _full(a)) is not None and (pairs_b := _full(b)) is not None:
            return None, None, pairs_a | pairs_b
        if a[2] is None and b[2] is None:  # key == 'x' || key == 'y': one side each
            if a[0] is None and b[0] is None and a[1] is not None and b[1] is not None:
                return None, a[1] | b[1], None
            if a[1] is None and b[1] is None and a[0] is not None and b[0] is not None:
                return a[0] | b[0], None, None
        return _OPEN
    if kind == "comparator" and node.get("value") == "eq" and len(children) == 2:
        for named, literal in (children, children[::-1]):
            name = _node_field(named, edge)
            value = literal.get("value") if literal.get("type") == "literal" else None
            if name in ("namespace", "key") and isinstance(value, str):
                value = frozenset({value})
                return (value, None, None) if name == "namespace" else (None, value, None)
    return _OPEN


def _meet(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    return b if a is None else a if b is None else a & b


def _node_field(node: Any, edge: bool) -> str | None:
    """``namespace`` of a node (``node.namespace`` of an edge)."""
    if not edge:
        return _field(node)
    if isinstance(node, dict) and node.get("type") == "subexpression" and len(node.get("children") or []) == 2:
        first, second = node["children"]
        return _field(second) if _field(first) == "node" else None
    return None


def _field(node: Any) -> str | None:
    return node.get("value") if isinstance(node, dict) and node.get("type") == "field" else None
