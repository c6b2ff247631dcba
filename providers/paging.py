"""Paging strategies: a platform's pages turned into shoprelay's pages.

A provider reads one platform page with a small ``fetch`` function; the
strategy decides which pages to read to serve ``request.limit`` customers,
and what ``Page.next``/``Page.prev`` hold. Those states become the signed,
connection-bound cursors of the API (the proxy signs them), so a state is
only ever read back as this module wrote it; a malformed one (an old
cursor format) starts from the beginning.

* :func:`offset_walk`: ``offset``/``limit`` (WooCommerce, Wix, Ecwid...).
  Offsets survive a change of ``limit`` between pages; going back is exact.
* :func:`page_walk`: ``page``/``per_page`` (Zoho Inventory, Shopware...).
  A position is (page, customers of it already served), so a page filtered
  after the fetch can be topped up from the next one; ``per_page`` travels
  in the state because pages only line up under one size.
* :func:`cursor_walk`: one opaque forward cursor per platform page, pages
  cut by the platform (Commerce7): a position is (cursor, skip). No way back.
* :func:`connection_walk`: start/end cursors with ``after``/``before``
  (a GraphQL connection's ``first/after``, ``last/before`` as in Shopify, or
  BigCommerce's cursor pagination): forward and backward, reading whole
  platform pages so every boundary is the platform's own cursor.

Every strategy bounds the platform calls one API page may spend.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, NamedTuple

from .base import Page, PageRequest
from .errors import ProviderBadResponse

Items = list[dict[str, Any]]
# At most this many platform calls for one API page: a store of mostly
# filtered-out rows gives a short page, not a slow one.
MAX_CALLS = 10


def _int(value: Any, minimum: int = 0) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    return None


# -- offset / limit ------------------------------------------------------------------


class Batch(NamedTuple):
    items: Items
    total: int | None = None  # the platform's count of all rows, when it says


async def offset_walk(
    request: PageRequest,
    fetch: Callable[[int, int], Awaitable[Batch]],
    page_max: int,
) -> Page:
    """``fetch(offset, count)`` reads up to ``count`` rows from ``offset``."""
    start = _int((request.state or {}).get("offset")) or 0
    offset, items, more = start, [], True
    for _ in range(MAX_CALLS):
        if not more or len(items) >= request.limit:
            break
        count = min(request.limit - len(items), page_max)
        batch = await fetch(offset, count)
        items += batch.items
        offset += len(batch.items)
        # Without a total, a full page may be followed by more.
        more = bool(batch.items) and (
            offset < batch.total if batch.total is not None else len(batch.items) >= count
        )
    return Page(
        items=items,
        next={"offset": offset} if more else None,
        prev={"offset": max(0, start - request.limit)} if start > 0 else None,
    )


# -- page / per_page -----------------------------------------------------------------


class Chunk(NamedTuple):
    items: Items  # the page's rows, after any filtering the platform cannot do
    more: bool  # the platform has a page after this one


async def page_walk(
    request: PageRequest,
    fetch: Callable[[int, int], Awaitable[Chunk]],
    page_max: int,
    max_calls: int = MAX_CALLS,
) -> Page:
    """``fetch(page, per_page)`` reads one 1-based platform page."""
    state = request.state or {}
    per_page = _int(state.get("per_page"), 1)
    if per_page is None or per_page > page_max:
        per_page = min(request.limit, page_max)
    start = _position(state.get("page"), state.get("skip", 0)) or (1, 0)
    stop = _position(*state["stop"]) if _is_pair(state.get("stop")) else None
    items: Items = []
    page, skip = start
    resume: tuple[int, int] | None = None
    for call in range(1, max_calls + 1):
        chunk = await fetch(page, per_page)
        end = stop[1] if stop is not None and stop[0] == page else len(chunk.items)
        rows = chunk.items[skip:end]
        room = request.limit - len(items)
        if len(rows) > room:
            items += rows[:room]
            resume = (page, skip + room)
            break
        items += rows
        if stop is not None and (stop[0] == page or stop == (page + 1, 0)):
            resume = stop  # a page going back ends where the one it came from begins
            break
        if not chunk.more:
            resume = None
            break
        resume = (page + 1, 0)
        if len(items) == request.limit or call == max_calls:
            break
        page, skip = page + 1, 0
    return Page(
        items=items,
        next=_page_state(resume, per_page) if resume is not None else None,
        prev=_page_back(start, per_page, request.limit),
    )


def _position(page: Any, skip: Any) -> tuple[int, int] | None:
    page, skip = _int(page, 1), _int(skip)
    return (page, skip) if page is not None and skip is not None else None


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and _position(*value) is not None


def _page_state(position: tuple[int, int], per_page: int, **extra: Any) -> dict[str, Any]:
    page, skip = position
    return {"page": page, "per_page": per_page, **({"skip": skip} if skip else {}), **extra}


def _page_back(start: tuple[int, int], per_page: int, limit: int) -> dict[str, Any] | None:
    """The page before ``start``: the ``limit`` rows before it, counted on
    full platform pages, read up to where ``start`` begins. Exact when no
    rows are filtered, also when ``limit`` spans several platform pages;
    with filtering, the page going back may be shorter than ``limit`` but
    never repeats or skips a row."""
    page, skip = start
    if page == 1 and skip == 0:
        return None
    back = max(0, (page - 1) * per_page + skip - limit)
    return _page_state((back // per_page + 1, back % per_page), per_page, stop=[page, skip])


# -- one opaque forward cursor per platform page --------------------------------------


class CursorPage(NamedTuple):
    items: Items
    next_cursor: str | None  # None on the platform's last page


async def cursor_walk(
    request: PageRequest,
    fetch: Callable[[str | None], Awaitable[CursorPage]],
) -> Page:
    """``fetch(cursor)`` reads the platform page at ``cursor`` (None: the
    first). The platform cuts the pages; a position is (cursor, skip)."""
    state = request.state or {}
    cursor = state.get("cursor") if isinstance(state.get("cursor"), str) else None
    skip = _int(state.get("skip")) or 0
    items: Items = []
    for _ in range(MAX_CALLS):
        page = await fetch(cursor)
        remaining = page.items[skip:]
        wanted = request.limit - len(items)
        if len(remaining) > wanted:
            items += remaining[:wanted]
            return Page(items=items, next={"cursor": cursor, "skip": skip + wanted})
        items += remaining
        # An empty page ends the walk too: following its cursor would spend
        # calls without serving anyone.
        if page.next_cursor is None or not page.items:
            return Page(items=items)
        if page.next_cursor == cursor:
            raise ProviderBadResponse("the platform answered with the same cursor again")
        cursor, skip = page.next_cursor, 0
        if len(items) == request.limit:
            break
    return Page(items=items, next={"cursor": cursor, "skip": 0})


# -- start / end cursors, forward and backward -----------------------------------------


class Edge(NamedTuple):
    """One platform page of a cursor connection and its page info."""

    items: Items
    has_next: bool
    has_previous: bool
    start_cursor: str | None
    end_cursor: str | None


async def connection_walk(
    request: PageRequest,
    fetch: Callable[[bool, int, str | None], Awaitable[Edge]],
    page_max: int,
    max_calls: int = MAX_CALLS,
) -> Page:
    """``fetch(backward, size, cursor)`` reads ``size`` rows after ``cursor``
    (or before it, going back; None: from the start or the end). A platform
    with small pages raises ``max_calls`` so that a full API page fits."""
    state = request.state or {}
    before = _cursor(state.get("before"))
    after = None if before else _cursor(state.get("after"))
    backward = before is not None
    cursor = before or after
    items: Items = []
    edges: list[Edge] = []  # in reading order
    while not edges or len(items) < request.limit:
        size = max(1, min(request.limit - len(items), page_max))
        edge = await fetch(backward, size, cursor)
        items = edge.items + items if backward else items + edge.items
        edges.append(edge)
        more = edge.has_previous if backward else edge.has_next
        # Only a cursor this walk can read back (see _cursor) is followed or handed out.
        cursor = _cursor(edge.start_cursor if backward else edge.end_cursor)
        if not edge.items or not more or cursor is None or len(edges) == max_calls:
            break
    first, last = (edges[-1], edges[0]) if backward else (edges[0], edges[-1])
    start, end = _cursor(first.start_cursor), _cursor(last.end_cursor)
    # Coming from a cursor proves there is a page on that side.
    has_prev = first.has_previous or after is not None
    has_next = last.has_next or before is not None
    return Page(
        items=items,
        next={"after": end} if items and end and has_next else None,
        prev={"before": start} if items and start and has_prev else None,
    )


def _cursor(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 1024 else None
