"""Trending lists in Redis: computed by one process at a time, read by every process.

Each server process runs `TrendingCache.run`: once a second it looks whether the stored
ranking (graph/repos/trending.py) is due, and if so, and no other process holds the lock,
computes and stores it. A ranking is due when it is `every_s` old, or soon after an event
that can change what trending shows (the `trending` consumer group marks it due):
- a few seconds after something may have to leave it: an unsave, a deleted pin, a board
  edited (made secret) or deleted; `debounce_s` gathers a burst of writes into one
  computation, and computations are at least `removed_gap_s` apart;
- after a save or a new pin, once the last computation is `added_gap_s` old: under a steady
  stream of saves the window's query then runs every few seconds, not after every save.

Readers keep the ranking they decoded while its generation is the stored one: a read costs
one round trip. Storing a ranking moves the anonymous answer cache's version on (`on_change`),
so no cached answer shows a ranking older than the stored one. Redis away: the ranking is
computed from the graph store in this process and kept a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog

from cache.errors import REDIS_ERRORS
from domain.errors import Unavailable
from events.consumer import Consumer
from events.model import Event, EventType
from graph.model import now_ms
from graph.repos.trending import TOP, Ranking, TrendingRepo

log = structlog.get_logger(__name__)

GROUP = "trending"
KEY = "pg:trending"  # the ranking, versioned JSON
GENERATION = "pg:trending:gen"  # "<computed at, epoch ms>-<random>", stored with it
DUE = "pg:trending:due"  # when the first removal since the last computation was asked for
DUE_ADDED = "pg:trending:due:added"  # the same for saves and new pins
LOCK = "pg:trending:lock"
FORMAT = 1
TTL_S = 24 * 3600
LOCK_MS = 120_000
DEBOUNCE_S = 2.0
REMOVED_GAP_S = 5.0
ADDED_GAP_S = 10.0
TICK_S = 1.0
FIRST_WAIT_S = 10.0  # for another process computing the first ranking
LOCAL_S = 60.0  # how long a ranking computed while Redis is away is used
# Store a ranking unless a newer one is stored: a slow computation that outlived its lock
# must not replace what a later one stored. KEYS: ranking, generation; ARGV: ranking,
# generation, its computed-at, ttl.
STORE = """
local current = redis.call('GET', KEYS[2])
if current then
  local at = tonumber(string.match(current, '^(%d+)'))
  if at and at > tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4])
return 1
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Writes that can change what trending shows: some may remove what it shows, some add.
REMOVALS = frozenset({
    EventType.PIN_UNSAVED, EventType.PIN_DELETED, EventType.BOARD_UPDATED,
    EventType.BOARD_DELETED, EventType.EVENTS_LOST,
})  # fmt: skip
ADDITIONS = frozenset({EventType.PIN_CREATED, EventType.PIN_SAVED})
PIN_CHANGES = frozenset({EventType.PIN_CREATED, EventType.PIN_SAVED, EventType.PIN_UNSAVED,
                         EventType.PIN_DELETED})  # fmt: skip


class TrendingCache:
    def __init__(
        self,
        cache: aioredis.Redis,
        repo: TrendingRepo,
        *,
        window_s: int,
        half_life_s: int,
        every_s: int,
        debounce_s: float = DEBOUNCE_S,
        removed_gap_s: float = REMOVED_GAP_S,
        added_gap_s: float = ADDED_GAP_S,
        tick_s: float = TICK_S,
        on_change: Callable[[], Awaitable[None]] | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.cache = cache
        self.repo = repo
        self.window_s = window_s
        self.half_life_s = half_life_s
        self.every_s = every_s
        self.debounce_s = debounce_s
        self.removed_gap_s = removed_gap_s
        self.added_gap_s = added_gap_s
        self.tick_s = tick_s
        self.on_change = on_change
        self.on_event = on_event or (lambda event: None)
        self._kept: tuple[bytes, Ranking] | None = None  # (generation, ranking)
        self._local: tuple[float, Ranking] | None = None  # (monotonic time, ranking)
        self._computing = asyncio.Lock()
        self._release = cache.register_script(RELEASE)
        self._store_newer = cache.register_script(STORE)

    async def ranking(self) -> Ranking:
        """The stored ranking; the first one is computed when there is none yet."""
        try:
            stored = await self._stored()
            if stored is not None:
                self.on_event("hit")
                return stored
            self.on_event("miss")
            return await self._first()
        except REDIS_ERRORS as error:
            self.on_event("error")
            log.warning("trending computed in process: Redis does not answer", error=str(error))
            return await self._computed_here()

    async def current(self) -> Ranking | None:
        """The stored ranking, or None when there is none yet or it cannot be read: for
        callers that have a fallback and must not wait for a computation (newcomers'
        feeds)."""
        try:
            return await self._stored()
        except REDIS_ERRORS:
            return self._local[1] if self._local is not None else None

    async def request(self, *, removal: bool = True) -> None:
        """Ask for a computation soon (the `trending` consumer's)."""
        await self.cache.set(DUE if removal else DUE_ADDED, now_ms(), nx=True, ex=TTL_S)

    async def refresh(self, *, force: bool = False) -> Ranking | None:
        """Compute and store the ranking when it is due (or `force`) and no other process
        is at it; the ranking stored, or None."""
        if not force and not await self._due():
            return None
        token = secrets.token_hex(8)
        if not await self.cache.set(LOCK, token, nx=True, px=LOCK_MS):
            return None
        try:
            if not force and not await self._due():  # another process has just stored one
                return None
            await self.cache.delete(DUE, DUE_ADDED)  # changes from now on ask for the next
            try:
                ranking = await self._compute()
                await self._store(ranking)
            except Exception:
                with contextlib.suppress(*REDIS_ERRORS):  # still wanted: the next tick
                    await self.cache.set(DUE, 0, nx=True, ex=TTL_S)
                raise
        finally:
            with contextlib.suppress(*REDIS_ERRORS):  # it expires
                await self._release(keys=[LOCK], args=[token])
        return ranking

    async def run(self) -> None:
        """Refresh when due, until cancelled; outages pause it, nothing more."""
        failing = False
        while True:
            try:
                await self.refresh()
                failing = False
            except (*REDIS_ERRORS, Unavailable) as error:
                if not failing:
                    log.warning("trending not refreshed", error=str(error))
                failing = True
            except Exception:
                log.exception("trending refresh failed")
            await asyncio.sleep(self.tick_s)

    async def _stored(self) -> Ranking | None:
        generation = await self.cache.get(GENERATION)
        if generation is None:
            return None
        if self._kept is not None and self._kept[0] == generation:
            return self._kept[1]
        raw = await self.cache.get(KEY)
        decoded = decode(raw) if raw is not None else None
        if decoded is None:
            return None
        self._kept = decoded
        return decoded[1]

    async def _first(self) -> Ranking:
        """No ranking is stored (a fresh Redis): compute it, or wait for the process that
        does."""
        fresh = await self.refresh(force=True)
        if fresh is not None:
            return fresh
        deadline = time.monotonic() + FIRST_WAIT_S
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            stored = await self._stored()
            if stored is not None:
                return stored
        return await self._computed_here()

    async def _due(self) -> bool:
        generation, due, added = await self.cache.mget(GENERATION, DUE, DUE_ADDED)
        if generation is None:
            return True
        age_ms = now_ms() - computed_at(generation)
        if age_ms >= self.every_s * 1000:
            return True
        if added is not None and age_ms >= self.added_gap_s * 1000:
            return True
        if due is None or age_ms < self.removed_gap_s * 1000:
            return False
        return now_ms() - int(due) >= self.debounce_s * 1000

    async def _compute(self) -> Ranking:
        return await self.repo.compute(
            now=now_ms(), window_s=self.window_s, half_life_s=self.half_life_s, top=TOP
        )

    async def _store(self, ranking: Ranking) -> None:
        generation = f"{ranking.computed_at}-{secrets.token_hex(4)}"
        stored = await self._store_newer(
            keys=[KEY, GENERATION],
            args=[encode(generation, ranking), generation, ranking.computed_at, TTL_S],
        )
        if not stored:
            return
        self._kept = (generation.encode(), ranking)
        self.on_event("rebuild")
        if self.on_change is not None:
            await self.on_change()

    async def _computed_here(self) -> Ranking:
        async with self._computing:  # one computation at a time in this process
            if self._local is None or time.monotonic() - self._local[0] > LOCAL_S:
                self._local = (time.monotonic(), await self._compute())
                self.on_event("local")
            return self._local[1]


def computed_at(generation: bytes | str) -> int:
    text = generation.decode() if isinstance(generation, bytes) else generation
    return int(text.partition("-")[0])


def encode(generation: str, ranking: Ranking) -> bytes:
    return orjson.dumps({
        "format": FORMAT, "generation": generation, "computedAt": ranking.computed_at,
        "anchor": ranking.anchor, "pins": ranking.pins, "topics": ranking.topics,
        "boards": ranking.boards,
    })  # fmt: skip


def decode(raw: bytes | str) -> tuple[bytes, Ranking] | None:
    """(generation, ranking), or None for a value of another format."""
    try:
        value: dict[str, Any] = orjson.loads(raw)
        if value.get("format") != FORMAT:
            return None
        ranking = Ranking(
            value["computedAt"],
            value["anchor"],
            _scored(value["pins"]),
            {topic: _scored(scored) for topic, scored in value["topics"].items()},
            _scored(value["boards"]),
        )
        return value["generation"].encode(), ranking
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _scored(pairs: list[list[Any]]) -> list[tuple[str, float]]:
    return [(str(id_), float(score)) for id_, score in pairs]


def trending_refresh(trending: TrendingCache) -> Consumer[Event]:
    """The consumer that asks for a prompt computation after a change trending shows."""

    async def handle(event: Event) -> None:
        if event.type not in REMOVALS and event.type not in ADDITIONS:
            return
        # A save, unsave, new or deleted pin on secret boards only leaves the lists as
        # they are; asking for a computation would still let its timing be seen.
        boards = event.boards if event.type is EventType.PIN_DELETED else (event.board,)
        known = bool(boards) and all(boards)  # events name their boards; old ones may not
        if event.type in PIN_CHANGES and known and not await trending.repo.any_public(boards):
            return
        await trending.request(removal=event.type in REMOVALS)

    return Consumer(GROUP, handle)
