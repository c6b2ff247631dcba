"""Logging: one JSON object per line in production, readable text on a TTY.

Request logs carry ids (request, tenant, connection), provider, route,
status and latency — never keys, tokens, credentials or customer data.
"""

from __future__ import annotations

import asyncio
import logging
import select
import sys
import time
from typing import Any, Iterator

import msgspec

# color_message: uvicorn's ANSI-coloured copy of msg, for its own formatter.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}


class _Clock:
    """``ts`` as the JSON lines write it, the second's text made once a second."""

    __slots__ = ("made",)

    def __init__(self) -> None:
        self.made = (-1, "")  # one value: a thread reads a second with its own text

    def stamp(self, created: float) -> str:
        second = int(created)
        made = self.made
        if made[0] != second:
            made = self.made = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{made[1]}.{int((created - second) * 1000):03d}Z"


_clock = _Clock()
_PIPE_BUF = getattr(select, "PIPE_BUF", 512)


def _encode(entry: dict[str, Any]) -> bytes:
    # str() what JSON cannot hold: a log line must never fail to encode.
    return msgspec.json.encode(entry, enc_hook=str)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _clock.stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encode(entry).decode()


class JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """JSON lines to a stream (stderr), buffered within one turn of the event
    loop: the lines written while the loop runs go out in one write when the
    turn ends, not one write and flush each. A record logged outside the loop,
    or from another thread, goes out at once, after what is pending, so the
    order of lines is kept. ``write_entry`` takes a line's fields directly
    (the access line, once per request), without a LogRecord."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter())
        self._pending: list[str] = []
        self._flushing_on: asyncio.AbstractEventLoop | None = None  # the loop whose turn ends with a flush

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - the logging module's own contract
            self.handleError(record)
            return
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            self.flush()

    def write_entry(self, level: str, logger: str, msg: str, fields: dict[str, Any]) -> None:
        """One line of ``fields`` after the standard ones, as JsonFormatter writes them."""
        entry = {"ts": _clock.stamp(time.time()), "level": level, "logger": logger, "msg": msg, **fields}
        line = _encode(entry).decode()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            if loop is not None and self._flushing_on is loop:
                return
            if loop is None or self._flushing_on is not None:  # no loop, or another loop's flush is due
                self.flush()
                return
            self._flushing_on = loop
        loop.call_soon(self.flush)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._flushing_on = None
            pending, self._pending = self._pending, []
            if not pending or self.stream is None:
                return
            try:
                for piece in _pieces(pending):
                    self.stream.write(piece)
                    self.stream.flush()
            except (OSError, ValueError):  # stderr closed or gone: nothing to tell
                pass


def _pieces(lines: list[str]) -> Iterator[str]:
    """Whole lines in writes of at most PIPE_BUF bytes (a longer line alone):
    a pipe keeps such a write in one piece, so the lines of several workers
    sharing one stderr never cut into each other."""
    piece: list[str] = []
    size = 0
    for line in lines:
        length = (len(line) if line.isascii() else len(line.encode())) + 1
        if piece and size + length > _PIPE_BUF:
            yield "\n".join(piece) + "\n"
            piece, size = [], 0
        piece.append(line)
        size += length
    if piece:
        yield "\n".join(piece) + "\n"


def direct_sink(logger: logging.Logger, level: int) -> JsonLines | None:
    """The JsonLines handler ``logger``'s lines of ``level`` go to when it is their only
    way out (configured by ``configure`` or ``server_config``, nothing added
    since): then a line may skip the LogRecord. None when anything else
    would see the record (a test's capture, another handler, a filter)."""
    if logger.handlers or logger.filters or not logger.propagate:
        return None
    parent = logger.parent
    if parent is None or parent.propagate or parent.filters or len(parent.handlers) != 1:
        return None
    handler = parent.handlers[0]
    if type(handler) is not JsonLines or handler.filters or handler.level > level:
        return None
    return handler


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in record.__dict__.items()
            if k not in _RESERVED and not k.startswith("_") and v is not None
        )
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _use_json(fmt: str) -> bool:
    return fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    handler: logging.Handler
    if _use_json(fmt):
        handler = JsonLines(sys.stderr)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(TextFormatter())
    root = logging.getLogger("shoprelay")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def server_config(level: str = "INFO", fmt: str = "auto") -> dict[str, Any]:
    """The ``log_config`` for ``uvicorn.run``: uvicorn's own loggers (startup,
    shutdown, errors), ours and any library's go through one formatter, so
    in JSON mode every line is JSON. uvicorn applies it in each worker
    process it spawns as well, where ``configure`` never ran. The format is
    decided here, in the parent, so workers agree with it."""
    json_lines = _use_json(fmt)
    formatter = f"{__name__}.{'JsonFormatter' if json_lines else 'TextFormatter'}"
    handler = f"{__name__}.JsonLines" if json_lines else "logging.StreamHandler"
    stderr = {"handlers": ["stderr"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"shoprelay": {"()": formatter}},
        "handlers": {
            "stderr": {"class": handler, "formatter": "shoprelay", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "shoprelay": stderr,
            "uvicorn": stderr,
            # Our middleware writes the access log; uvicorn's would be a second, plain one.
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
