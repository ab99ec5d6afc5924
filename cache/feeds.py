"""Home feeds cached in Redis: one ranked list of pin ids per user, for about ten minutes.

Each build is a new generation (`pg:feed:<user>:<gen>`); a page's cursor names its generation,
so paging through a feed stays on the list it started with even after a newer one exists. A
user's own activity (saves, engagements, follows) marks their feed stale, so the next first
page is rebuilt; older generations stay readable until they expire. Without Redis, feeds are
computed per request. A generation never changes once written, so each process keeps the
ones it has read: a page costs one round trip (which generation is current), the next pages
none.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import orjson
import redis.asyncio as aioredis
import structlog

from cache.errors import REDIS_ERRORS
from domain.recent import Recent
from events.consumer import Consumer
from events.model import Event, EventType

log = structlog.get_logger(__name__)

TTL_S = 600
LOCAL_FEEDS = 2048  # generations a process keeps


class FeedCache:
    def __init__(
        self, cache: aioredis.Redis, *, on_event: Callable[[str], None] | None = None
    ) -> None:
        self.cache = cache
        self.on_event = on_event or (lambda event: None)
        self._local: Recent[tuple[str, int], list[str]] = Recent(LOCAL_FEEDS)

    async def get(self, user: str, generation: int | None) -> tuple[int, list[str]] | None:
        """The feed of `generation`, or the current one when None (unless it is stale)."""
        try:
            if generation is None:
                current, stale = await self.cache.mget(f"pg:feedgen:{user}", f"pg:feedstale:{user}")
                if current is None or stale is not None:
                    self.on_event("miss")
                    return None
                generation = int(current)
            ranked = self._local.get((user, generation))
            if ranked is None:
                raw = await self.cache.get(f"pg:feed:{user}:{generation}")
                ranked = self._local.put((user, generation), orjson.loads(raw)) if raw else None
        except REDIS_ERRORS as error:
            self.on_event("error")
            log.warning("feed cache unavailable", error=str(error))
            return None
        if ranked is None:
            self.on_event("miss")
            return None
        self.on_event("hit")
        return generation, ranked

    async def put(self, user: str, pin_ids: list[str]) -> int:
        """Store a new generation; 0 when Redis does not answer (nothing cached)."""
        try:
            # Random, not a counter: a counter Redis lost would start again and name a
            # generation some process still keeps.
            generation = secrets.randbits(48)
            async with self.cache.pipeline(transaction=True) as pipe:
                pipe.set(f"pg:feed:{user}:{generation}", orjson.dumps(pin_ids), ex=TTL_S)
                pipe.set(f"pg:feedgen:{user}", generation, ex=2 * TTL_S)
                pipe.delete(f"pg:feedstale:{user}")
                await pipe.execute()
            self._local.put((user, generation), pin_ids)
        except REDIS_ERRORS as error:
            self.on_event("error")
            log.warning("feed cache unavailable", error=str(error))
            return 0
        self.on_event("rebuild")
        return generation

    async def refresh(self, user: str) -> None:
        """The user did something: their next first page is ranked afresh."""
        try:
            await self.cache.set(f"pg:feedstale:{user}", "1", ex=2 * TTL_S)
        except REDIS_ERRORS as error:
            self.on_event("error")
            log.warning("feed cache unavailable", error=str(error))


def feed_refresh(feeds: FeedCache) -> Consumer[Event]:
    """The consumer that marks a user's feed stale after their own activity."""

    async def handle(event: Event) -> None:
        if event.actor and event.type not in NOT_FEED_SIGNALS:
            await feeds.refresh(event.actor)
        if event.user and event.user != event.actor and event.type in MEMBERSHIP_CHANGES:
            await feeds.refresh(event.user)  # a removed collaborator's boards changed

    return Consumer("feeds", handle)


NOT_FEED_SIGNALS = frozenset({EventType.IMAGE_STORED, EventType.USER_CREATED})
MEMBERSHIP_CHANGES = frozenset({EventType.COLLABORATOR_ADDED, EventType.COLLABORATOR_REMOVED})
