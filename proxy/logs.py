"""Logging: one JSON object per line in production, readable text on a TTY.

Request logs carry ids (request, tenant, connection), provider, route,
status and latency — never keys, tokens, credentials or customer data.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import msgspec

# color_message: uvicorn's ANSI-coloured copy of msg, for its own formatter.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # str() what JSON cannot hold: a log line must never fail to encode.
        return msgspec.json.encode(entry, enc_hook=str).decode()


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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if _use_json(fmt) else TextFormatter())
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
    formatter = f"{__name__}.{'JsonFormatter' if _use_json(fmt) else 'TextFormatter'}"
    stderr = {"handlers": ["stderr"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"shoprelay": {"()": formatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "shoprelay", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "shoprelay": stderr,
            "uvicorn": stderr,
            # Our middleware writes the access log; uvicorn's would be a second, plain one.
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
