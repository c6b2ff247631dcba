"""Query parameter parsing: strict for the parameters we know."""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams

from .problems import invalid_parameter

# ASCII digits only: \d and int() also take other scripts' digits ("١٠").
_WHOLE = re.compile(r"^([0-9]{1,9})(?:\.0+)?$")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def single(params: QueryParams, name: str) -> str | None:
    """The parameter's one value, or None. Given twice it is refused rather
    than one copy picked: a proxy in front may have read the other one."""
    values = params.getlist(name)
    if len(values) > 1:
        raise invalid_parameter(name, "give it once")
    return values[0] if values else None


def boolean(params: QueryParams, name: str, default: bool = False) -> bool:
    raw = single(params, name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise invalid_parameter(name, "must be true, false, 1 or 0")


def integer(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    raw = single(params, name)
    if raw is None:
        return default
    # Panora's SDK types limit as a JSON number and sends "10.0".
    match = _WHOLE.match(raw.strip())
    if match is None:
        raise invalid_parameter(name, f"must be a whole number from {low} to {high}")
    value = int(match.group(1))
    if not low <= value <= high:
        raise invalid_parameter(name, f"must be a whole number from {low} to {high}")
    return value
