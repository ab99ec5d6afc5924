"""Whole responses to anonymous GraphQL reads, cached in Redis for a few seconds.

Anonymous readers of public data (the board and pin pages a search engine or a logged-out
visitor opens) all get the same answer, and building it costs the resolvers far more than
the graph store. The key is the request body under a global version that every API write
increments before the writer gets its answer, so no reader sees data older than a write it
could know of, through whichever door (GraphQL, REST, CLI) it came: the version moves in an
inline effect of the write's domain event. Only answers without errors are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import redis.asyncio as aioredis
import structlog

from cache.errors import REDIS_ERRORS
from events.model import Event, EventType

log = structlog.get_logger(__name__)

VERSION = "pg:pubver"


class ResponseCache:
    def __init__(
        self,
        cache: aioredis.Redis,
        *,
        ttl_s: int,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.cache = cache
        self.ttl_s = ttl_s
        self.on_event = on_event or (lambda event: None)
        self._lost_bump = False

    async def lookup(self, body: bytes) -> tuple[str | None, bytes | None]:
        """(key to store under, cached answer); (None, None) when Redis does not answer."""
        try:
            if self._lost_bump:
                await self.cache.incr(VERSION)
                self._lost_bump = False
            version = await self.cache.get(VERSION)
            key = f"pg:resp:{int(version or 0)}:{hashlib.sha256(body).hexdigest()}"
            found = await self.cache.get(key)
        except REDIS_ERRORS:
            self.on_event("error")
            return None, None
        self.on_event("hit" if found is not None else "miss")
        return key, found.encode() if isinstance(found, str) else found

    async def store(self, key: str, answer: bytes) -> None:
        try:
            await self.cache.set(key, answer, ex=self.ttl_s)
        except REDIS_ERRORS:
            self.on_event("error")

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    async def on_write(self, event: Event) -> None:
        """An inline event effect: a write may change any public answer, except an upload,
        which changes nothing anyone can read until a pin uses it. The version moves even
        where answers are not cached, for the processes that do cache them."""
        if event.type is not EventType.IMAGE_STORED:
            await self.changed()

    async def changed(self) -> None:
        """A write happened: every cached answer is from before it."""
        try:
            await self.cache.incr(VERSION)
        except REDIS_ERRORS as error:
            self._lost_bump = True
            log.warning("response cache version not moved; it moves when Redis answers again",
                        error=str(error))  # fmt: skip
