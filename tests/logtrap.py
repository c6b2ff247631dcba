"""Log capture for tests that prove no secret is ever logged: every record
of every logger at DEBUG (root at DEBUG, and aiohttp, asyncio, uvicorn,
httpx and shoprelay's own loggers opened to DEBUG), rendered three ways:
with the project's own JsonFormatter, as ``%(message)s %(args)s`` plus the
traceback text, and as the repr of the whole record (so a secret hiding in
``args``, an ``extra`` or an exception is found even where a formatter would
not print it). Use the ``trap`` fixture (import it into the test module)."""

from __future__ import annotations

import logging
from typing import Iterator

import pytest

from proxy import logs

OPENED_LOGGERS = ("aiohttp", "asyncio", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "shoprelay")


class Trap(logging.Handler):
    """Keeps every record, rendered every way a secret could come out."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.project = logs.JsonFormatter()
        self.plain = logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s")
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        for formatter in (self.project, self.plain):
            try:
                # Formatter.format appends the exc_info and stack text itself.
                self.texts.append(formatter.format(record))
            except Exception as exc:  # a record one renderer cannot take
                self.texts.append(f"unrenderable by {type(formatter).__name__}: {exc!r}")
        self.texts.append(repr(vars(record)))

    def access(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.name == "shoprelay.access"]


@pytest.fixture
def trap() -> Iterator[Trap]:
    """Root and the named loggers at DEBUG into a Trap; all restored after."""
    handler = Trap()
    root = logging.getLogger()
    named = [logging.getLogger(name) for name in OPENED_LOGGERS]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers), lg.disabled) for lg in [root, *named]]
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    for lg in named:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    # A CLI run earlier in this process may have detached shoprelay from root.
    logging.getLogger("shoprelay").propagate = True
    try:
        yield handler
    finally:
        for lg, level, propagate, handlers, disabled in saved:
            lg.setLevel(level)
            lg.propagate = propagate
            lg.handlers[:] = handlers
            lg.disabled = disabled
