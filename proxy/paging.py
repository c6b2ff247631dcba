"""Client-facing list cursors: a provider's paging state, bound to the
connection it was issued for, versioned and integrity-protected."""

from __future__ import annotations

from typing import Any

import msgspec

from keys import cursors
from keys.vault import Keyring

from .problems import invalid_parameter

CURSOR_VERSION = 1
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class CursorPayload(msgspec.Struct, frozen=True, array_like=True):
    # array_like keeps cursors short: [version, connection id, state]
    v: int
    c: str
    s: dict[str, Any]


_decoder = msgspec.json.Decoder(CursorPayload)


def issue(keyring: Keyring, connection_id: str, state: dict[str, Any] | None) -> str | None:
    if state is None:
        return None
    return cursors.seal(keyring, msgspec.json.encode(CursorPayload(CURSOR_VERSION, connection_id, state)))


def read(keyring: Keyring, connection_id: str, cursor: str | None, name: str = "cursor") -> dict[str, Any] | None:
    """The provider state inside a cursor; 400 for anything we did not issue
    for this very connection, naming the surface's parameter ``name``."""
    if cursor is None:
        return None
    try:
        payload = _decoder.decode(cursors.open_(keyring, cursor))
    except (cursors.InvalidCursor, msgspec.DecodeError, msgspec.ValidationError):
        raise invalid_parameter(name, "not a cursor this API issued") from None
    if payload.v != CURSOR_VERSION:
        raise invalid_parameter(name, "this cursor is from another version; start over")
    if payload.c != connection_id:
        raise invalid_parameter(name, "this cursor belongs to another connection")
    return payload.s
