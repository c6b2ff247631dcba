"""Timestamps as the store keeps them: ISO-8601 UTC with milliseconds.

The format is fixed width, so these strings compare as the times they
name: ``expires_at <= now_text()`` is a comparison of instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now_text() -> str:
    return _text(datetime.now(timezone.utc))


def text_after(seconds: float) -> str:
    """The moment ``seconds`` from now, in the same format."""
    return _text(datetime.now(timezone.utc) + timedelta(seconds=seconds))
