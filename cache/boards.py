"""Board pages cached in Redis: the newest saves of a board, with cursors, its pin count, and
its sections with their pin counts.

Keys are versioned: every write that touches a board increments `pg:bv:<board>` before the
writer gets its answer, so the next reader, on any connection, asks for a key that does not
exist yet and rebuilds it. Nothing is ever read stale; old versions expire. Secret boards are
cached only under a key scoped to one member (the owner or a collaborator), and a page is
read only once the board has been found visible to that viewer, so a removed collaborator
never reaches one; membership changes move the board's version on too.

Each process also keeps the pages it decoded, by the same versioned key: a signed-in board
page then costs one Redis round trip (the versions) and no decoding. A page holds its board
as it was built, so `public_page` answers `board(id)` for public boards from it.

A rebuild is single-flight: concurrent misses of one key in a process wait for one rebuild,
and across processes a short Redis lock lets one of them rebuild while the others wait for
its result. When Redis does not answer, pages come from the graph store and a missed
invalidation is remembered: the next time Redis answers, a global epoch that is part of
every key moves on, so nothing cached before the outage is used again.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
import redis.asyncio as aioredis
import structlog

from cache.errors import REDIS_ERRORS
from domain.recent import Recent
from events.model import Event
from graph.model import Board, Page, Pin, Privacy
from graph.repos.boards import BoardRepo
from graph.repos.sections import Section, SectionRepo

log = structlog.get_logger(__name__)

PAGE_SIZE = 100  # newest saves kept per board page
TTL_S = 3600
LOCK_MS = 3000
WAIT_S = 1.0
EPOCH = "pg:epoch"
LOCAL_PAGES = 512  # decoded pages a process keeps


@dataclass(frozen=True)
class BoardPage:
    board: Board  # as it was when the page was built
    pins: list[Pin]  # newest save first, at most PAGE_SIZE
    cursors: list[str]
    pin_count: int
    sections: list[Section] = field(default_factory=list)  # oldest first, with pin counts


class BoardVersions:
    """The version of every board's cached page, moved on by each write that touches it."""

    def __init__(
        self, cache: aioredis.Redis, *, on_event: Callable[[str], None] | None = None
    ) -> None:
        self.cache = cache
        self.on_event = on_event or (lambda event: None)
        self._lost_invalidation = False

    async def on_write(self, event: Event) -> None:
        """An inline event effect: runs before the writer gets its answer."""
        await self.touched(*event.touched_boards())

    async def touched(self, *board_ids: str) -> None:
        """Invalidate the pages of boards a write has just changed."""
        if not board_ids:
            return
        try:
            async with self.cache.pipeline(transaction=False) as pipe:
                for board_id in dict.fromkeys(board_ids):
                    pipe.set(f"pg:bv:{board_id}", _fresh_start(), nx=True)
                    pipe.incr(f"pg:bv:{board_id}")
                await pipe.execute()
        except REDIS_ERRORS as error:
            self._lost_invalidation = True
            log.warning("board cache invalidation lost; the cache epoch moves on when Redis "
                        "answers again", error=str(error))  # fmt: skip

    async def key(self, board: Board, viewer: str | None) -> str:
        scope = "pub" if board.privacy is Privacy.PUBLIC else f"mem:{viewer}"
        return await self.scoped_key(board.id, scope)

    async def scoped_key(self, board_id: str, scope: str) -> str:
        if self._lost_invalidation:
            await self.cache.incr(EPOCH)
            self._lost_invalidation = False
            self.on_event("epoch")
        epoch, version = await self.cache.mget(EPOCH, f"pg:bv:{board_id}")
        if epoch is None or version is None:
            # A counter Redis lost (restart, eviction) starts again at a random value, never
            # at 0: a process may still keep pages under the numbers the old one reached.
            async with self.cache.pipeline(transaction=False) as pipe:
                pipe.set(EPOCH, _fresh_start(), nx=True)
                pipe.set(f"pg:bv:{board_id}", _fresh_start(), nx=True)
                pipe.mget(EPOCH, f"pg:bv:{board_id}")
                epoch, version = (await pipe.execute())[-1]
        return f"pg:bp:{board_id}:{_int(epoch)}:{_int(version)}:{scope}"


class BoardCache:
    def __init__(
        self, versions: BoardVersions, boards: BoardRepo, sections: SectionRepo | None = None
    ) -> None:
        self.versions = versions
        self.boards = boards
        self.sections = sections or SectionRepo(boards.backend, boards.events)
        self._flights: dict[str, asyncio.Future[BoardPage]] = {}
        self._local: Recent[str, BoardPage] = Recent(LOCAL_PAGES)

    @property
    def cache(self) -> aioredis.Redis:
        return self.versions.cache

    def on_event(self, event: str) -> None:
        self.versions.on_event(event)

    async def public_page(self, board_id: str) -> BoardPage | None:
        """The cached page of a public board; None when the board is secret, missing or not
        cached. The caller then takes its ordinary path, the same for a secret board as for
        a missing one, so neither answer nor timing tells them apart."""
        try:
            key = await self.versions.scoped_key(board_id, "pub")
            return await self._cached(key)
        except REDIS_ERRORS:
            return None

    async def page(self, board: Board, viewer: str | None) -> BoardPage:
        """The page of a board the caller has found visible to `viewer`."""
        try:
            key = await self.versions.key(board, viewer)
            cached = await self._cached(key)
        except REDIS_ERRORS as error:
            return await self._uncached(error, board)
        if cached is not None:
            return cached
        self.on_event("miss")
        flight = self._flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight)
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            page = await self._rebuild(key, board)
            flight.set_result(page)
            return page
        except BaseException as error:
            flight.set_exception(error)
            flight.exception()  # retrieved here, so an unawaited flight never warns
            raise
        finally:
            del self._flights[key]

    async def _cached(self, key: str) -> BoardPage | None:
        page = self._local.get(key)
        if page is None:
            raw = await self.cache.get(key)
            decoded = _decode(raw) if raw is not None else None
            if decoded is None:
                return None
            page = self._local.put(key, decoded)
        self.on_event("hit")
        return page

    async def _rebuild(self, key: str, board: Board) -> BoardPage:
        lock = f"{key}:lock"
        try:
            leader = await self.cache.set(lock, "1", nx=True, px=LOCK_MS)
            if not leader:  # another process is rebuilding: wait for its result
                deadline = asyncio.get_running_loop().time() + WAIT_S
                while asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.02)
                    raw = await self.cache.get(key)
                    decoded = _decode(raw) if raw is not None else None
                    if decoded is not None:
                        self.on_event("hit")
                        return self._local.put(key, decoded)
            fresh = await self._still_public(key, board)
            page = await self._build(fresh or board)
            self.on_event("rebuild")
            if fresh is None:  # changed meanwhile: answered, never cached
                await self.cache.delete(lock)
                return page
            await self.cache.set(key, _encode(page), ex=TTL_S)
            await self.cache.delete(lock)
            return self._local.put(key, page)
        except REDIS_ERRORS as error:
            return await self._uncached(error, board)

    async def _build(self, board: Board) -> BoardPage:
        page: Page[Pin] = await self.boards.pins_of_visible(board.id, PAGE_SIZE, None)
        counts = await self.boards.pin_counts([board.id])
        sections = await self.sections.of_boards([board.id])
        return BoardPage(board, page.items, page.cursors, counts[board.id], sections[board.id])

    async def _still_public(self, key: str, board: Board) -> Board | None:
        """The board as the store has it now, when `key` is a public page's and it is still
        public: the caller's copy was read before the versions, so a write in between (made
        secret, deleted, renamed) must not be cached under the version after it."""
        if not key.endswith(":pub"):
            return board
        fresh = (await self.boards.get_many([board.id], None)).get(board.id)
        return fresh if fresh is not None and fresh.privacy is Privacy.PUBLIC else None

    async def _uncached(self, error: BaseException, board: Board) -> BoardPage:
        self.on_event("error")
        log.warning("board cache unavailable; reading the graph store", error=str(error))
        return await self._build(board)


def _fresh_start() -> int:
    return secrets.randbits(62)


def _int(value: bytes | str | None) -> int:
    return int(value) if value is not None else 0


def _encode(page: BoardPage) -> bytes:
    return orjson.dumps({
        "board": page.board.to_row(), "pins": [p.to_row() for p in page.pins],
        "cursors": page.cursors, "count": page.pin_count,
        "sections": [section.to_row() for section in page.sections],
    })  # fmt: skip


def _decode(raw: bytes | str) -> BoardPage | None:
    """None for a page cached by an older version of pingraph (without its board or its
    sections)."""
    data = orjson.loads(raw)
    if "board" not in data or "sections" not in data:
        return None
    return BoardPage(
        Board.from_row(data["board"]), [Pin.from_row(row) for row in data["pins"]],
        data["cursors"], data["count"], [Section.from_row(row) for row in data["sections"]],
    )  # fmt: skip
