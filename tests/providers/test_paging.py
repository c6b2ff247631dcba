"""The paging strategies (providers.paging) against in-memory platforms.

Each fake below serves a list of N rows in one platform dialect and counts
its calls. A strategy is walked to the end at several limits: every row
once and in order, full pages while more exist, ``next`` None exactly on
the last page, ``prev`` going back to exactly the previous page (where the
dialect can go back), and each page costing the fewest platform calls the
dialect permits. No network: ``fetch`` is a plain coroutine.
"""

from __future__ import annotations

import math
from typing import Any, Awaitable, Callable

import pytest

from providers.base import Page, PageRequest
from providers.errors import ProviderBadResponse
from providers.paging import (
    MAX_CALLS,
    Batch,
    Chunk,
    CursorPage,
    Edge,
    connection_walk,
    cursor_walk,
    offset_walk,
    page_walk,
)

N = 23  # a prime: short last pages at every limit below
ROWS = [{"id": i} for i in range(N)]

Walk = Callable[[PageRequest], Awaitable[Page]]


def ids(page: Page) -> list[int]:
    return [row["id"] for row in page.items]


def touched(position: int, size: int, page_size: int) -> int:
    """Platform pages of ``page_size`` that rows [position, position+size) lie on."""
    return (position + max(size, 1) - 1) // page_size - position // page_size + 1


async def walk_forward(walk: Walk, limit: int, calls: Callable[[], int]) -> tuple[list[Page], list[int]]:
    """Every page from the first; the platform calls each one cost."""
    pages, costs, state = [], [], None
    while True:
        before = calls()
        page = await walk(PageRequest(limit=limit, state=state))
        costs.append(calls() - before)
        pages.append(page)
        if page.next is None:
            return pages, costs
        state = page.next
        assert len(pages) <= N + 1, "the walk does not end"


async def assert_prev_is_exact(walk: Walk, pages: list[Page], limit: int) -> None:
    """``prev`` of page i reads page i-1 again, and that page's ``next``
    leads back to page i."""
    assert pages[0].prev is None
    for i, page in enumerate(pages[1:], start=1):
        assert page.prev is not None, f"page {i} has no way back"
        back = await walk(PageRequest(limit=limit, state=page.prev))
        assert ids(back) == ids(pages[i - 1]), f"prev of page {i}"
        assert back.next is not None
        again = await walk(PageRequest(limit=limit, state=back.next))
        assert ids(again) == ids(page), f"next of the page before {i}"


def assert_every_row_once(pages: list[Page], limit: int, rows: list[dict[str, Any]] = ROWS) -> None:
    assert [i for page in pages for i in ids(page)] == [row["id"] for row in rows]
    assert all(len(page.items) == limit for page in pages[:-1])
    assert all(page.next is not None for page in pages[:-1]) and pages[-1].next is None


# -- offset / limit ------------------------------------------------------------------


class OffsetPlatform:
    def __init__(self, rows: list[dict[str, Any]] = ROWS, page_max: int = 100, total: bool = True) -> None:
        self.rows, self.page_max, self.total = rows, page_max, total
        self.calls: list[tuple[int, int]] = []

    async def fetch(self, offset: int, count: int) -> Batch:
        assert 1 <= count <= self.page_max, f"asked for {count} rows"
        self.calls.append((offset, count))
        return Batch(self.rows[offset : offset + count], len(self.rows) if self.total else None)

    def walk(self, request: PageRequest) -> Awaitable[Page]:
        return offset_walk(request, self.fetch, self.page_max)


@pytest.mark.parametrize("page_max", [4, 100])
@pytest.mark.parametrize("limit", [1, 4, 5, 10, 23, 30])
async def test_offset_walk_serves_every_row_once_and_goes_back_exactly(limit, page_max):
    platform = OffsetPlatform(page_max=page_max)
    pages, costs = await walk_forward(platform.walk, limit, lambda: len(platform.calls))
    assert_every_row_once(pages, limit)
    assert len(pages) == math.ceil(N / limit)
    # A total tells where the rows end: no call past them.
    assert costs == [math.ceil(len(page.items) / page_max) for page in pages]
    await assert_prev_is_exact(platform.walk, pages, limit)


async def test_offset_walk_states_are_offsets():
    platform = OffsetPlatform()
    page = await platform.walk(PageRequest(limit=5, state={"offset": 10}))
    assert ids(page) == [10, 11, 12, 13, 14]
    assert page.next == {"offset": 15} and page.prev == {"offset": 5}
    near_start = await platform.walk(PageRequest(limit=5, state={"offset": 3}))
    assert near_start.prev == {"offset": 0}  # never a negative offset
    assert platform.calls == [(10, 5), (3, 5)]


async def test_offset_walk_without_a_total_reads_one_empty_page_after_a_full_last_one():
    platform = OffsetPlatform(rows=ROWS[:20], total=False)
    pages, costs = await walk_forward(platform.walk, 5, lambda: len(platform.calls))
    # Four full pages may each be followed by more; the fifth finds none.
    assert [len(p.items) for p in pages] == [5, 5, 5, 5, 0]
    assert costs == [1] * 5
    assert pages[-1].next is None and pages[-1].prev == {"offset": 15}
    short = await platform.walk(PageRequest(limit=7, state={"offset": 14}))
    assert ids(short) == list(range(14, 20)) and short.next is None  # a short page is the last


async def test_offset_walk_spends_at_most_max_calls():
    platform = OffsetPlatform(page_max=1)
    page = await platform.walk(PageRequest(limit=15))
    assert len(platform.calls) == MAX_CALLS
    assert ids(page) == list(range(MAX_CALLS)) and page.next == {"offset": MAX_CALLS}


@pytest.mark.parametrize("state", [{"offset": -5}, {"offset": "10"}, {"offset": True}, {"other": 1}, None])
async def test_offset_walk_reads_a_malformed_state_as_the_start(state):
    platform = OffsetPlatform()
    page = await platform.walk(PageRequest(limit=3, state=state))
    assert ids(page) == [0, 1, 2] and page.prev is None


# -- page / per_page -----------------------------------------------------------------


class PagedPlatform:
    """1-based pages of ``per_page`` rows; ``keep`` filters each page after
    the fetch, as a provider does with rows it must not serve."""

    def __init__(
        self,
        rows: list[dict[str, Any]] = ROWS,
        page_max: int = 100,
        keep: Callable[[dict[str, Any]], bool] = lambda row: True,
    ) -> None:
        self.rows, self.page_max, self.keep = rows, page_max, keep
        self.calls: list[tuple[int, int]] = []

    async def fetch(self, page: int, per_page: int) -> Chunk:
        assert page >= 1 and 1 <= per_page <= self.page_max
        self.calls.append((page, per_page))
        chunk = self.rows[(page - 1) * per_page : page * per_page]
        return Chunk([row for row in chunk if self.keep(row)], page * per_page < len(self.rows))

    def walk(self, request: PageRequest, max_calls: int = MAX_CALLS) -> Awaitable[Page]:
        return page_walk(request, self.fetch, self.page_max, max_calls=max_calls)


@pytest.mark.parametrize("page_max", [4, 100])
@pytest.mark.parametrize("limit", [1, 4, 5, 10, 23, 30])
async def test_page_walk_serves_every_row_once_and_goes_back_exactly(limit, page_max):
    platform = PagedPlatform(page_max=page_max)
    pages, costs = await walk_forward(platform.walk, limit, lambda: len(platform.calls))
    assert_every_row_once(pages, limit)
    per_page = min(limit, page_max)
    positions = [limit * i for i in range(len(pages))]
    assert costs == [touched(p, len(page.items), per_page) for p, page in zip(positions, pages)]
    assert {size for _, size in platform.calls} == {per_page}  # pages only line up under one size
    await assert_prev_is_exact(platform.walk, pages, limit)


async def test_page_walk_positions_and_the_way_back():
    platform = PagedPlatform(page_max=4)
    first = await platform.walk(PageRequest(limit=3, state={"page": 1, "per_page": 4}))
    assert ids(first) == [0, 1, 2] and first.next == {"page": 1, "per_page": 4, "skip": 3}
    assert first.prev is None
    second = await platform.walk(PageRequest(limit=3, state=first.next))
    assert ids(second) == [3, 4, 5] and second.next == {"page": 2, "per_page": 4, "skip": 2}
    # Back from inside page 1: the rows of page 1 before the position, then stop.
    assert second.prev == {"page": 1, "per_page": 4, "stop": [1, 3]}
    assert ids(await platform.walk(PageRequest(limit=3, state=second.prev))) == [0, 1, 2]
    # Back from a page boundary: the previous platform page, ending where it ends.
    boundary = await platform.walk(PageRequest(limit=4, state={"page": 3, "per_page": 4}))
    assert boundary.prev == {"page": 2, "per_page": 4, "stop": [3, 0]}
    back = await platform.walk(PageRequest(limit=4, state=boundary.prev))
    assert ids(back) == [4, 5, 6, 7] and back.next == {"page": 3, "per_page": 4}


async def test_page_walk_tops_up_filtered_pages_and_never_repeats_going_back():
    # Rows whose id is a multiple of 3 are filtered out by the provider.
    platform = PagedPlatform(page_max=4, keep=lambda row: row["id"] % 3 != 0)
    kept = [row for row in ROWS if row["id"] % 3 != 0]
    for limit in (1, 2, 3, 4, 5):
        pages, _ = await walk_forward(platform.walk, limit, lambda: len(platform.calls))
        assert_every_row_once(pages, limit, kept)
        assert pages[0].prev is None
        for i, page in enumerate(pages[1:], start=1):
            before = len(platform.calls)
            back = await platform.walk(PageRequest(limit=limit, state=page.prev))
            # Possibly shorter than the page before, but its tail: no row twice, none skipped.
            assert ids(back) and ids(back) == ids(pages[i - 1])[-len(back.items):]
            # Short or not, it reads no platform page past where it stops.
            (stop_page, stop_skip), first = page.prev["stop"], page.prev["page"]
            assert len(platform.calls) - before == stop_page - first + (1 if stop_skip else 0)
            again = await platform.walk(PageRequest(limit=limit, state=back.next))
            assert ids(again) == ids(page)


async def test_page_walk_spends_at_most_max_calls_on_filtered_pages():
    rows = [{"id": i, "vendor": i < 40} for i in range(45)]
    platform = PagedPlatform(rows=rows, page_max=2, keep=lambda row: not row["vendor"])
    page = await platform.walk(PageRequest(limit=2), max_calls=5)
    assert page.items == [] and len(platform.calls) == 5
    assert page.next == {"page": 6, "per_page": 2}  # a short page, not a slow one
    page = await platform.walk(PageRequest(limit=2, state={"page": 20, "per_page": 2}))
    assert ids(page) == [40, 41] and page.next == {"page": 22, "per_page": 2}


@pytest.mark.parametrize(
    "state",
    [
        {"page": 0, "per_page": 4},
        {"page": "2", "per_page": 4},
        {"page": True, "per_page": 4},
        {"page": 2, "per_page": 4, "skip": -1},
        {"page": 2.0, "per_page": 4},
    ],
)
async def test_page_walk_reads_a_malformed_position_as_the_start(state):
    platform = PagedPlatform(page_max=4)
    page = await platform.walk(PageRequest(limit=2, state=state))
    assert ids(page) == [0, 1] and page.prev is None


async def test_page_walk_resets_a_per_page_the_platform_cannot_serve():
    platform = PagedPlatform(page_max=4)
    for per_page in (0, 5, "4", None):
        await platform.walk(PageRequest(limit=3, state={"page": 1, "per_page": per_page}))
    assert {size for _, size in platform.calls} == {3}


async def test_page_walk_ignores_a_malformed_stop():
    platform = PagedPlatform(page_max=4)
    for stop in ([2], [0, 1], "2,1", [2, -1]):
        page = await platform.walk(PageRequest(limit=4, state={"page": 1, "per_page": 4, "stop": stop}))
        assert ids(page) == [0, 1, 2, 3] and page.next == {"page": 2, "per_page": 4}


async def test_page_walk_ends_on_the_platform_last_page():
    platform = PagedPlatform(page_max=10)
    page = await platform.walk(PageRequest(limit=10, state={"page": 3, "per_page": 10}))
    assert ids(page) == [20, 21, 22] and page.next is None
    assert platform.calls == [(3, 10)]


# -- one opaque forward cursor per platform page --------------------------------------


class CursorPlatform:
    """Pages of ``size`` rows cut by the platform; page k's cursor is "c{k}"."""

    def __init__(self, rows: list[dict[str, Any]] = ROWS, size: int = 5) -> None:
        self.rows, self.size = rows, size
        self.calls: list[str | None] = []

    async def fetch(self, cursor: str | None) -> CursorPage:
        self.calls.append(cursor)
        k = 0 if cursor is None else int(cursor.removeprefix("c"))
        chunk = self.rows[k * self.size : (k + 1) * self.size]
        return CursorPage(chunk, f"c{k + 1}" if (k + 1) * self.size < len(self.rows) else None)

    def walk(self, request: PageRequest) -> Awaitable[Page]:
        return cursor_walk(request, self.fetch)


# Pages of one row at limit 23 or 30 would need more than MAX_CALLS calls (tested below).
@pytest.mark.parametrize(
    "limit,size", [(limit, size) for size in (1, 5) for limit in (1, 3, 5, 7, 10, 23, 30) if limit <= MAX_CALLS * size]
)
async def test_cursor_walk_serves_every_row_once_at_the_fewest_calls(limit, size):
    platform = CursorPlatform(size=size)
    pages, costs = await walk_forward(platform.walk, limit, lambda: len(platform.calls))
    assert_every_row_once(pages, limit)
    positions = [limit * i for i in range(len(pages))]
    # Every platform page an API page touches, read whole, once.
    assert costs == [touched(p, len(page.items), size) for p, page in zip(positions, pages)]
    assert all(page.prev is None for page in pages)  # no way back, never a guess


async def test_cursor_walk_skips_within_a_platform_page():
    platform = CursorPlatform()
    page = await platform.walk(PageRequest(limit=4, state={"cursor": "c1", "skip": 2}))
    assert ids(page) == [7, 8, 9, 10] and page.next == {"cursor": "c2", "skip": 1}
    assert platform.calls == ["c1", "c2"]
    exact = await platform.walk(PageRequest(limit=3, state={"cursor": "c1", "skip": 2}))
    # The page ends with the platform page: the next starts at the next cursor, no call spent.
    assert ids(exact) == [7, 8, 9] and exact.next == {"cursor": "c2", "skip": 0}
    assert platform.calls == ["c1", "c2", "c1"]


async def test_cursor_walk_refuses_a_platform_answering_the_same_cursor():
    async def fetch(cursor: str | None) -> CursorPage:
        return CursorPage([{"id": 1}], "loop")

    with pytest.raises(ProviderBadResponse):
        await cursor_walk(PageRequest(limit=5, state={"cursor": "loop"}), fetch)


async def test_cursor_walk_ends_at_an_empty_page_even_with_a_cursor():
    calls: list[str | None] = []

    async def fetch(cursor: str | None) -> CursorPage:
        calls.append(cursor)
        return CursorPage([{"id": 0}, {"id": 1}] if cursor is None else [], f"after-{cursor}")

    page = await cursor_walk(PageRequest(limit=5), fetch)
    assert ids(page) == [0, 1] and page.next is None
    assert calls == [None, "after-None"]  # the empty page's cursor is not followed


async def test_cursor_walk_spends_at_most_max_calls():
    platform = CursorPlatform(size=1)
    page = await platform.walk(PageRequest(limit=MAX_CALLS + 5))
    assert len(platform.calls) == MAX_CALLS
    assert ids(page) == list(range(MAX_CALLS)) and page.next == {"cursor": f"c{MAX_CALLS}", "skip": 0}


@pytest.mark.parametrize("state", [{"cursor": 7}, {"skip": -2}, {"skip": "1"}, None])
async def test_cursor_walk_reads_a_malformed_state_as_the_start(state):
    platform = CursorPlatform()
    page = await platform.walk(PageRequest(limit=2, state=state))
    assert ids(page) == [0, 1] and platform.calls == [None]


# -- start / end cursors, forward and backward -----------------------------------------


class ConnectionPlatform:
    """A cursor connection: row i's cursor is "r{i}". ``honest`` page info
    answers hasPreviousPage going forward and hasNextPage going back; the
    GraphQL spec lets a server answer false there, which the other mode does."""

    def __init__(self, rows: list[dict[str, Any]] = ROWS, page_max: int = 100, honest: bool = True) -> None:
        self.rows, self.page_max, self.honest = rows, page_max, honest
        self.calls: list[tuple[bool, int, str | None]] = []

    async def fetch(self, backward: bool, size: int, cursor: str | None) -> Edge:
        assert 1 <= size <= self.page_max
        self.calls.append((backward, size, cursor))
        pivot = None if cursor is None else int(cursor.removeprefix("r"))
        if backward:
            end = len(self.rows) if pivot is None else pivot
            chunk = range(max(0, end - size), end)
        else:
            start = 0 if pivot is None else pivot + 1
            chunk = range(start, min(start + size, len(self.rows)))
        has_next = chunk.stop < len(self.rows) if (self.honest or not backward) else False
        has_previous = chunk.start > 0 if (self.honest or backward) else False
        return Edge(
            [self.rows[i] for i in chunk],
            has_next=has_next,
            has_previous=has_previous,
            start_cursor=f"r{chunk.start}" if chunk else None,
            end_cursor=f"r{chunk.stop - 1}" if chunk else None,
        )

    def walk(self, request: PageRequest) -> Awaitable[Page]:
        return connection_walk(request, self.fetch, self.page_max)


@pytest.mark.parametrize("honest", [True, False])
@pytest.mark.parametrize("page_max", [4, 100])
@pytest.mark.parametrize("limit", [1, 4, 5, 10, 23, 30])
async def test_connection_walk_serves_every_row_once_and_goes_back_exactly(limit, page_max, honest):
    platform = ConnectionPlatform(page_max=page_max, honest=honest)
    pages, costs = await walk_forward(platform.walk, limit, lambda: len(platform.calls))
    assert_every_row_once(pages, limit)
    assert costs == [math.ceil(len(page.items) / page_max) for page in pages]
    before = len(platform.calls)
    await assert_prev_is_exact(platform.walk, pages, limit)
    # Each way back (and forward again) costs what the page cost going forward.
    full = math.ceil(limit / page_max)
    back_and_forth = sum(full + math.ceil(len(page.items) / page_max) for page in pages[1:])
    assert len(platform.calls) - before == back_and_forth


async def test_connection_walk_states_are_the_platform_cursors():
    platform = ConnectionPlatform(page_max=4)
    page = await platform.walk(PageRequest(limit=6, state={"after": "r4"}))
    assert ids(page) == [5, 6, 7, 8, 9, 10]
    assert page.next == {"after": "r10"} and page.prev == {"before": "r5"}
    assert platform.calls == [(False, 4, "r4"), (False, 2, "r8")]
    back = await platform.walk(PageRequest(limit=6, state=page.prev))
    assert ids(back) == [0, 1, 2, 3, 4] and back.next == {"after": "r4"} and back.prev is None
    assert platform.calls[2:] == [(True, 4, "r5"), (True, 2, "r1")]


async def test_connection_walk_backward_keeps_the_rows_in_order():
    platform = ConnectionPlatform(page_max=3)
    page = await platform.walk(PageRequest(limit=7, state={"before": "r20"}))
    assert ids(page) == list(range(13, 20))
    assert page.next == {"after": "r19"} and page.prev == {"before": "r13"}


async def test_connection_walk_spends_at_most_max_calls():
    platform = ConnectionPlatform(page_max=1)
    page = await platform.walk(PageRequest(limit=MAX_CALLS + 5))
    assert len(platform.calls) == MAX_CALLS
    assert ids(page) == list(range(MAX_CALLS)) and page.next == {"after": f"r{MAX_CALLS - 1}"}


async def test_connection_walk_spends_the_max_calls_it_is_given():
    platform = ConnectionPlatform(page_max=1)
    page = await connection_walk(PageRequest(limit=MAX_CALLS + 5), platform.fetch, 1, max_calls=MAX_CALLS + 2)
    assert len(platform.calls) == MAX_CALLS + 2
    assert ids(page) == list(range(MAX_CALLS + 2)) and page.next == {"after": f"r{MAX_CALLS + 1}"}


async def test_connection_walk_neither_follows_nor_hands_out_a_cursor_it_cannot_read_back():
    calls = []

    async def fetch(backward: bool, size: int, cursor: str | None) -> Edge:
        calls.append(cursor)
        return Edge(ROWS[:size], has_next=True, has_previous=False, start_cursor="r0", end_cursor="x" * 1025)

    page = await connection_walk(PageRequest(limit=6), fetch, 2)
    assert ids(page) == [0, 1] and page.next is None and calls == [None]


async def test_connection_walk_of_an_empty_store():
    platform = ConnectionPlatform(rows=[])
    page = await platform.walk(PageRequest(limit=5))
    assert page.items == [] and page.next is None and page.prev is None
    assert len(platform.calls) == 1


@pytest.mark.parametrize("state", [{"after": 5}, {"after": ""}, {"before": ""}, {"before": "x" * 1025}, None])
async def test_connection_walk_reads_a_malformed_state_as_the_start(state):
    platform = ConnectionPlatform()
    page = await platform.walk(PageRequest(limit=2, state=state))
    assert ids(page) == [0, 1] and page.prev is None
    assert platform.calls == [(False, 2, None)]
