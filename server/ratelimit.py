"""Rate limits kept in Redis (the `limits` library): per user for signed-in callers, per
client address for anonymous ones. When Redis is away the limits fail open, with a warning:
losing the cache must not lose the service."""

from __future__ import annotations

import math
import time
from typing import Any

import redis.asyncio as aioredis
import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from domain.errors import RateLimited
from domain.identity import Viewer

log = structlog.get_logger(__name__)


class RateLimits:
    def __init__(self, cache: aioredis.Redis, *, per_user: str, per_address: str) -> None:
        # The URL only names the client library: the app's own connection pool is used.
        shared: dict[str, Any] = {"connection_pool": cache.connection_pool}
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix="pingraph:rate",
            **shared,
        )
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.per_user = parse(per_user)
        self.per_address = parse(per_address)

    async def check(
        self, viewer: Viewer | None, address: str, scope: str, *, cost: int = 1
    ) -> None:
        """Count `cost` requests (a batch counts each of its operations); raise RateLimited
        (with seconds to wait) over the limit."""
        if viewer is not None:
            item, key = self.per_user, f"user:{viewer.user_id}"
        else:
            item, key = self.per_address, f"ip:{address}"
        try:
            if await self.limiter.hit(item, scope, key, cost=cost):
                return
            reset_at, _ = await self.limiter.get_window_stats(item, scope, key)
        except StorageError as error:
            log.warning("rate limits are off: the cache does not answer", error=str(error))
            return
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(
            f"too many requests: at most {item} per {'user' if viewer else 'address'}; "
            f"retry in {retry_after}s",
            retry_after=retry_after,
        )


def check_limit(value: str) -> RateLimitItem:
    """Parse a limit such as '600/minute'; ValueError with a readable message otherwise."""
    try:
        return parse(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate such as '600/minute' or '10/second'") from None


class CommentLimits:
    """New comments per user (`addComment`): a short-term rate and a daily cap, each a
    moving window of the `limits` library in Redis. Like the request limits they fail open
    when Redis does not answer."""

    SCOPE = "comment"

    def __init__(self, cache: aioredis.Redis, *, per_user: str, per_user_day: str) -> None:
        shared: dict[str, Any] = {"connection_pool": cache.connection_pool}
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix="pingraph:rate",
            **shared,
        )
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.items = (parse(per_user), parse(per_user_day))

    async def check(self, user: str) -> None:
        """Count one comment; RateLimited (with seconds to wait) past either limit."""
        for item in self.items:
            try:
                if await self.limiter.hit(item, self.SCOPE, user):
                    continue
                reset_at, _ = await self.limiter.get_window_stats(item, self.SCOPE, user)
            except StorageError as error:
                log.warning("comment limits are off: the cache does not answer", error=str(error))
                return
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise RateLimited(
                f"too many comments: at most {item} per user; retry in {retry_after}s",
                retry_after=retry_after,
            )


class InviteLimits:
    """New invites per user (`inviteCollaborator`), a moving window of the `limits` library
    in Redis. Only an invite that is created counts (not inviting again, nor a refused one):
    the caller asks `check` before the write and `count`s a created invite after it, so
    concurrent invites may pass the limit by a few. Fails open when Redis does not answer."""

    SCOPE = "invite"

    def __init__(self, cache: aioredis.Redis, *, per_user: str) -> None:
        shared: dict[str, Any] = {"connection_pool": cache.connection_pool}
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix="pingraph:rate",
            **shared,
        )
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.item = parse(per_user)

    async def check(self, user: str) -> None:
        """RateLimited (with seconds to wait) when one more invite would pass the limit."""
        try:
            if await self.limiter.test(self.item, self.SCOPE, user):
                return
            reset_at, _ = await self.limiter.get_window_stats(self.item, self.SCOPE, user)
        except StorageError as error:
            log.warning("invite limits are off: the cache does not answer", error=str(error))
            return
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(
            f"too many invites: at most {self.item} per user; retry in {retry_after}s",
            retry_after=retry_after,
        )

    async def count(self, user: str) -> None:
        """Count one created invite."""
        try:
            await self.limiter.hit(self.item, self.SCOPE, user)
        except StorageError as error:
            log.warning("invite limits are off: the cache does not answer", error=str(error))
