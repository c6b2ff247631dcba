"""Query parameter parsing: strict for the parameters we know."""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams

from .problems import invalid_parameter

_WHOLE = re.compile(r"^(\d{1,9})(?:\.0+)?$")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def boolean(params: QueryParams, name: str, default: bool = False) -> bool:
    values = params.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        raise invalid_parameter(name, "give it once")
    value = values[0].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise invalid_parameter(name, "must be true, false, 1 or 0")


def integer(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    values = params.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        raise invalid_parameter(name, "give it once")
    # Panora's SDK types limit as a JSON number and sends "10.0".
    match = _WHOLE.match(values[0].strip())
    if match is None:
        raise invalid_parameter(name, f"must be a whole number from {low} to {high}")
    value = int(match.group(1))
    if not low <= value <= high:
        raise invalid_parameter(name, f"must be a whole number from {low} to {high}")
    return value
