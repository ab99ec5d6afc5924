"""Pins known to be on a public board, kept per process.

Whether a pin may be seen is asked of the graph store for every page, and for a popular pin
that means reading the privacy of every board it is on. Once a pin is found on a public
board it stays visible to everyone until a write takes it off: an unsave, a board edited
(its privacy) or deleted, the pin deleted. Each of those moves a shared version on
(`pg:pubpins`, before the writer gets its answer, as board versions do), and a process that
sees a new version forgets what it knew. Only "public" is kept: a pin found hidden is asked
again next time (a save may make it public at any moment), and so is any pin not known,
secret or missing alike. What a process knows is also forgotten after `MAX_AGE_S` and
whenever Redis fails it: a bump lost in another process (Redis away while it wrote) cannot
keep a hidden pin shown for longer.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

import redis.asyncio as aioredis
import structlog

from cache.errors import REDIS_ERRORS
from events.model import Event, EventType

log = structlog.get_logger(__name__)

VERSION = "pg:pubpins"
KNOWN_PINS = 200_000
MAX_AGE_S = 60.0
# Writes after which a pin that was on a public board may be on none.
HIDING = frozenset({
    EventType.PIN_UNSAVED, EventType.PIN_DELETED, EventType.BOARD_UPDATED,
    EventType.BOARD_DELETED,
})  # fmt: skip


class PublicPins:
    def __init__(self, cache: aioredis.Redis) -> None:
        self.cache = cache
        self._version: bytes | str | None = None
        self._public: set[str] = set()
        self._lost_bump = False
        self._since = time.monotonic()

    async def on_write(self, event: Event) -> None:
        """An inline event effect: runs before the writer gets its answer."""
        if event.type in HIDING:
            await self._bump()

    async def _bump(self) -> None:
        try:
            async with self.cache.pipeline(transaction=False) as pipe:
                pipe.set(VERSION, secrets.randbits(62), nx=True)  # never restarts at 0
                pipe.incr(VERSION)
                await pipe.execute()
            self._lost_bump = False
        except REDIS_ERRORS as error:
            self._lost_bump = True
            self._public.clear()
            log.warning("public pins not invalidated; retried when Redis answers",
                        error=str(error))  # fmt: skip

    async def known(self, ids: Iterable[str]) -> tuple[set[str], bytes | str | None]:
        """Which of `ids` are known public, and the version that knowledge is for (None
        when Redis does not answer: then nothing is known)."""
        try:
            if self._lost_bump:
                await self._bump()
                if self._lost_bump:
                    return set(), None
            version = await self.cache.get(VERSION)
            if version is None:
                await self.cache.set(VERSION, secrets.randbits(62), nx=True)
                version = await self.cache.get(VERSION)
        except REDIS_ERRORS:
            self._forget(None)
            return set(), None
        if version != self._version or time.monotonic() - self._since > MAX_AGE_S:
            self._forget(version)
        return {id_ for id_ in ids if id_ in self._public}, version

    def _forget(self, version: bytes | str | None) -> None:
        self._public.clear()
        self._version = version
        self._since = time.monotonic()

    def remember(self, version: bytes | str | None, public: Iterable[str]) -> None:
        """Pins the store found on a public board while `version` was current."""
        if version is None or version != self._version:
            return
        self._public.update(public)
        if len(self._public) > KNOWN_PINS:
            self._public.clear()
