"""Timestamps as the store keeps them: ISO-8601 UTC with milliseconds."""

from __future__ import annotations

from datetime import datetime, timezone


def now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
