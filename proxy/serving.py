"""How ``shoprelay serve`` listens: uvicorn, plus the defences a public
listener needs that uvicorn lacks.

uvicorn closes a keep-alive connection left idle after a response, but never
one that connects and sends nothing, nor one that sends its request a byte
at a time, and it puts no bound on a request head. Each such socket holds a
file descriptor for good; a few hundred of them use up the process's
descriptors, after which nothing, not even ``/health``, is accepted. So:

* a connection must deliver a whole request (line, headers and body) within
  ``SHOPRELAY_CLIENT_READ_TIMEOUT`` seconds of connecting or of sending its
  first byte, or it is closed; idle keep-alive connections are closed after
  ``SHOPRELAY_KEEP_ALIVE_TIMEOUT`` (uvicorn's own timer);
* a request head over ``MAX_HEAD_BYTES`` is answered 431 and closed;
* at most ``SHOPRELAY_MAX_CONNECTIONS`` connections are open. One more evicts
  the connection that has waited longest without a request in progress (idle
  keep-alive, or a request whose head or body is not yet complete: nothing
  has been answered on it), so a flood of slow sockets cannot keep a real
  request out. If every connection is serving a whole request, the new one is
  closed instead;
* the descriptor limit is raised to its hard limit at start, and the
  connection bound lowered if it would not leave room for the upstream pool
  and the database.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import logs
from .config import Config

log = logging.getLogger("shoprelay.serving")
# When each connection began waiting, as a sequence rather than a clock:
# uvloop's loop.time() is the time of the loop iteration, so connections
# accepted in one iteration (a burst, a loaded machine) would tie, and the
# eviction would pick among them at random instead of the oldest.
_WAIT_ORDER = itertools.count()

MAX_HEAD_BYTES = 64 * 1024  # request line and headers; h11 allows 16 KiB, nginx 8 KiB x 4
# Descriptors that are not client or upstream sockets: the listener, the
# database files or connections, logs, the event loop's own.
OTHER_DESCRIPTORS = 64
MIN_CONNECTIONS = 16

_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 27\r\nconnection: close\r\n\r\n"
    b"request head is over 64 KiB"
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a read deadline per request, a cap
    on the request head, and a bound on open connections."""

    def __init__(self, *args: Any, read_timeout: float, max_connections: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self._read_timer: asyncio.TimerHandle | None = None
        self._waiting_since = 0
        self._head_complete = False
        self._head_bytes = 0

    # -- the connection bound -------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._waiting_since = next(_WAIT_ORDER)
        self._arm_read_timer()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def _make_room(self) -> None:
        open_ = [c for c in self.connections if not c.transport.is_closing()]
        if len(open_) <= self.max_connections:
            return  # others are closing already
        waiting = [c for c in open_ if c is not self and isinstance(c, GuardedHttpProtocol) and c._waiting()]
        if waiting:
            min(waiting, key=lambda c: c._waiting_since).transport.close()
        else:
            self.transport.close()  # every connection is serving a request

    def _waiting(self) -> bool:
        """No request being served: idle, its head still arriving, or its
        body still arriving. A request whose body has not all come has had
        no answer yet; closing it loses only what a stalled client did not
        send, and otherwise a few sockets that send a head and one byte of
        body would hold every slot for the whole read timeout."""
        if self._head_complete:
            return True  # on_message_complete has not run: the body is arriving
        return (self.cycle is None or self.cycle.response_complete) and not self.pipeline

    def on_response_complete(self) -> None:
        self._waiting_since = next(_WAIT_ORDER)
        super().on_response_complete()

    # -- the read deadline and the head cap -----------------------------------

    def data_received(self, data: bytes) -> None:
        if not self._head_complete:
            # A request (or stray bytes between requests) has begun: it has
            # read_timeout seconds to arrive whole.
            self._arm_read_timer()
            self._head_bytes += len(data)
        super().data_received(data)
        if not self._head_complete and self._head_bytes > MAX_HEAD_BYTES:
            if not self.transport.is_closing():
                self.transport.write(_HEAD_TOO_LARGE)
                self.transport.close()

    def on_headers_complete(self) -> None:
        self._head_complete = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm_read_timer()
        self._head_complete = False
        self._head_bytes = 0
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_timer()
        super().connection_lost(exc)

    def _arm_read_timer(self) -> None:
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def raise_descriptor_limit() -> int:
    """Raise the soft limit on open files to the hard one (as nginx's
    worker_rlimit_nofile does); returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def connection_bound(config: Config, descriptors: int) -> int:
    """SHOPRELAY_MAX_CONNECTIONS, lowered if client sockets could otherwise
    take the descriptors the upstream pool and the database need."""
    room = descriptors - config.upstream_pool_size - config.db_pool_size - OTHER_DESCRIPTORS
    bound = max(MIN_CONNECTIONS, min(config.max_connections, room))
    if bound < config.max_connections:
        log.warning(
            "SHOPRELAY_MAX_CONNECTIONS lowered from %d to %d: the process may open %d files",
            config.max_connections, bound, descriptors,
        )
    return bound


def server_options(config: Config, *, host: str, port: int, workers: int) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config``. Raises
    this process's descriptor limit (workers inherit it)."""
    protocol = functools.partial(
        GuardedHttpProtocol,
        read_timeout=config.client_read_timeout,
        max_connections=connection_bound(config, raise_descriptor_limit()),
    )
    return {
        "host": host,
        "port": port,
        "workers": workers,
        "http": protocol,
        "timeout_keep_alive": config.keep_alive_timeout,
        "log_level": config.log_level.lower(),
        "log_config": logs.server_config(config.log_level, config.log_format),
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
    }
