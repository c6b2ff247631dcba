"""Shopify's requested query cost, computed from a query's text by the rules
of the GraphQL Admin API rate-limit guide
(https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):

* a scalar or enum field costs 0, an object 1 (what it selects is added);
* a connection is "sized by first and last": 2 + first (or last) x the cost
  of one node, e.g. ``products(first: 1) { edges { node { title } } }`` is
  2 + 1 x 1 = 3; its ``nodes``/``edges``/``node`` wrappers cost nothing
  beyond the node itself;
* ``pageInfo`` is an object here, 1 (an upper bound: the guide's connection
  cost may already cover it);
* a query whose requested cost is over 1,000 is refused (MAX_COST_EXCEEDED).

Only the text is read (no schema): a field with a selection set is an object,
one with a ``first``/``last`` argument a connection, any other a scalar.
Fragments are expanded and variables read from ``variables``.
"""

from __future__ import annotations

from typing import Any, Mapping

from graphql import parse
from graphql.language import ast

MAX_QUERY_COST = 1000


def requested_cost(query: str, variables: Mapping[str, Any] | None = None) -> int:
    """The requested cost of the query's one operation."""
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinitionNode)}
    [operation] = [d for d in document.definitions if isinstance(d, ast.OperationDefinitionNode)]
    return _Cost(fragments, dict(variables or {})).selection(operation.selection_set)


class _Cost:
    def __init__(self, fragments: dict[str, ast.FragmentDefinitionNode], variables: dict[str, Any]) -> None:
        self.fragments, self.variables = fragments, variables

    def fields(self, selection_set: ast.SelectionSetNode | None) -> list[ast.FieldNode]:
        """The fields selected, fragments spread in place."""
        found: list[ast.FieldNode] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, ast.FieldNode):
                found.append(selection)
            elif isinstance(selection, ast.FragmentSpreadNode):
                found += self.fields(self.fragments[selection.name.value].selection_set)
            elif isinstance(selection, ast.InlineFragmentNode):
                found += self.fields(selection.selection_set)
        return found

    def selection(self, selection_set: ast.SelectionSetNode | None) -> int:
        return sum(self.field(field) for field in self.fields(selection_set))

    def field(self, field: ast.FieldNode) -> int:
        if field.selection_set is None:
            return 0  # a scalar or an enum
        size = self.size(field)
        if size is None:
            return 1 + self.selection(field.selection_set)  # an object
        per_node, beside = self.connection(field.selection_set)
        return 2 + size * per_node + beside

    def connection(self, selection_set: ast.SelectionSetNode) -> tuple[int, int]:
        """(one node's cost, what the connection selects beside its nodes:
        ``pageInfo``) for a connection's ``nodes`` or ``edges { node }``."""
        per_node, beside = 0, 0
        for field in self.fields(selection_set):
            if field.name.value == "nodes":
                per_node = max(per_node, 1 + self.selection(field.selection_set))
            elif field.name.value == "edges":
                for inner in self.fields(field.selection_set):
                    if inner.name.value == "node":
                        per_node = max(per_node, 1 + self.selection(inner.selection_set))
            else:
                beside += self.field(field)
        return per_node, beside

    def size(self, field: ast.FieldNode) -> int | None:
        for argument in field.arguments or ():
            if argument.name.value in ("first", "last"):
                value = argument.value
                if isinstance(value, ast.VariableNode):
                    return int(self.variables[value.name.value])
                assert isinstance(value, ast.IntValueNode), "first/last must be an Int"
                return int(value.value)
        return None
