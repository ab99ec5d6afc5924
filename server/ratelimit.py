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


class Window:
    """Moving-window counters of one kind of limit in Redis, failing open: when Redis does
    not answer, everything is allowed and a warning says which limits are off."""

    def __init__(self, cache: aioredis.Redis, what: str) -> None:
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
        self.what = what

    async def wait(
        self, item: RateLimitItem, scope: str, key: str, *, cost: int = 1, count: bool = True
    ) -> int | None:
        """Seconds to wait when `cost` more would pass `item`, else None, counting them when
        `count` (else only testing)."""
        try:
            if count:
                allowed = await self.limiter.hit(item, scope, key, cost=cost)
            else:
                allowed = await self.limiter.test(item, scope, key, cost=cost)
            if allowed:
                return None
            reset_at, _ = await self.limiter.get_window_stats(item, scope, key)
        except StorageError as error:
            self.off(error)
            return None
        return max(1, math.ceil(reset_at - time.time()))

    async def count(self, item: RateLimitItem, scope: str, key: str) -> None:
        try:
            await self.limiter.hit(item, scope, key)
        except StorageError as error:
            self.off(error)

    def off(self, error: StorageError) -> None:
        log.warning(f"{self.what} limits are off: the cache does not answer", error=str(error))


class RateLimits:
    def __init__(self, cache: aioredis.Redis, *, per_user: str, per_address: str) -> None:
        self.window = Window(cache, "rate")
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
        retry_after = await self.window.wait(item, scope, key, cost=cost)
        if retry_after is not None:
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
    """New comments per user (`addComment`): a short-term rate and a daily cap. Like the
    request limits they fail open when Redis does not answer."""

    SCOPE = "comment"

    def __init__(self, cache: aioredis.Redis, *, per_user: str, per_user_day: str) -> None:
        self.window = Window(cache, "comment")
        self.items = (parse(per_user), parse(per_user_day))

    async def check(self, user: str) -> None:
        """Count one comment; RateLimited (with seconds to wait) past either limit."""
        for item in self.items:
            retry_after = await self.window.wait(item, self.SCOPE, user)
            if retry_after is not None:
                raise RateLimited(
                    f"too many comments: at most {item} per user; retry in {retry_after}s",
                    retry_after=retry_after,
                )


class InviteLimits:
    """New invites per user (`inviteCollaborator`). Only an invite that is created counts
    (not inviting again, nor a refused one): the caller asks `check` before the write and
    `count`s a created invite after it, so concurrent invites may pass the limit by a few.
    Fails open when Redis does not answer."""

    SCOPE = "invite"

    def __init__(self, cache: aioredis.Redis, *, per_user: str) -> None:
        self.window = Window(cache, "invite")
        self.item = parse(per_user)

    async def check(self, user: str) -> None:
        """RateLimited (with seconds to wait) when one more invite would pass the limit."""
        retry_after = await self.window.wait(self.item, self.SCOPE, user, count=False)
        if retry_after is not None:
            raise RateLimited(
                f"too many invites: at most {self.item} per user; retry in {retry_after}s",
                retry_after=retry_after,
            )

    async def count(self, user: str) -> None:
        """Count one created invite."""
        await self.window.count(self.item, self.SCOPE, user)
