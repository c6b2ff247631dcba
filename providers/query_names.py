"""Query parameter names as the receiving platform reads them.

A forwarded ``remote_query`` name is checked against a provider's lists,
but the platform decides what the name *means*. PHP (WordPress,
WooCommerce...) rewrites names before any application code sees them:
``.method`` arrives in ``$_GET`` as ``_method``, which WordPress honours as
an HTTP method override, so a read could become a DELETE. Checking the
name as sent would let that through; checking the name as read does not.

``php_query_name`` reproduces ``php_register_variable_ex`` (main/
php_variables.c, unchanged in this respect from PHP 5 to 8):

* leading spaces are dropped;
* up to the first ``[``, every ``' '`` and ``'.'`` becomes ``'_'``;
* ``name[...]`` registers an array under ``name``: the top-level key is the
  text before the first ``[``;
* a ``[`` with no ``]`` after it is not array syntax: that one ``[``
  becomes ``'_'`` and the rest of the name is kept *as is* (PHP does not
  revisit it, so ``a[b.c`` is read as ``a_b.c``);
* the name ends at a NUL byte (PHP uses ``strlen``);
* an empty name (``''``, ``'  '``, ``'[x]'``) is dropped: None.
"""

from __future__ import annotations

from typing import Literal

QueryNames = Literal["php"]


def php_query_name(name: str) -> str | None:
    """The top-level ``$_GET`` key PHP files ``name`` under, or None when
    PHP drops the parameter."""
    name = name.split("\x00", 1)[0].lstrip(" ")
    head, bracket, rest = name.partition("[")
    head = head.replace(" ", "_").replace(".", "_")
    if not head:
        return None  # PHP: "empty variable name"
    if bracket and "]" not in rest:
        # Unclosed: only this '[' is rewritten; what follows stays verbatim.
        return head + "_" + rest
    return head


def read_name(name: str, dialect: QueryNames | None) -> str | None:
    """``name`` as a platform of that dialect reads it (None: dropped);
    unchanged when the platform reads names verbatim."""
    if dialect == "php":
        return php_query_name(name)
    return name


def as_sent(name: str, dialect: QueryNames | None) -> str:
    """The top-level name as a client spelled it: for PHP, the text before
    an array subscript. Where it differs from ``read_name``, the platform
    rewrote it."""
    if dialect == "php":
        return name.partition("[")[0]
    return name
