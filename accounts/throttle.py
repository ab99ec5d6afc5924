"""Slowing down password guessing and account farming, with counters in Redis (the `limits`
library, as `server/ratelimit.py` keeps the request limits).

Failed sign-ins are counted per handle (someone guessing one account's password from many
addresses) and per client address (one address trying many handles). While either is over
its limit a sign-in is refused before the password is looked at, so even the right password
waits. Sign-ups are counted per address, every attempt. When Redis is away the throttle is
off, with a warning: losing the cache must not lock everybody out.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any, NoReturn

import redis.asyncio as aioredis
import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from domain.errors import RateLimited

log = structlog.get_logger(__name__)


class SignInThrottle:
    def __init__(
        self,
        cache: aioredis.Redis,
        *,
        failures_per_handle: str,
        failures_per_address: str,
        sign_ups_per_address: str,
    ) -> None:
        # The URL only names the client library: the app's own connection pool is used.
        shared: dict[str, Any] = {"connection_pool": cache.connection_pool}
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix="pingraph:accounts",
            **shared,
        )
        # A moving window: "5 failures in any 15 minutes", and an exact time to wait.
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_handle = parse(failures_per_handle)
        self.per_address = parse(failures_per_address)
        self.sign_ups = parse(sign_ups_per_address)

    async def check_sign_in(self, handle: str, address: str) -> None:
        """RateLimited while the handle or the address has too many recent failures."""
        for item, key, whose in self._failure_counters(handle, address):
            try:
                if await self.limiter.test(item, "sign-in", key):
                    continue
                reset_at, _ = await self.limiter.get_window_stats(item, "sign-in", key)
            except StorageError as error:
                _fail_open(error)
                return
            _refuse(f"too many failed sign-ins for this {whose}", item, reset_at)

    async def failed_sign_in(self, handle: str, address: str) -> None:
        for item, key, _ in self._failure_counters(handle, address):
            try:
                await self.limiter.hit(item, "sign-in", key)
            except StorageError as error:
                _fail_open(error)
                return

    async def count_sign_up(self, address: str) -> None:
        """Count one sign-up attempt; RateLimited past the limit."""
        key = f"ip:{address}"
        try:
            if await self.limiter.hit(self.sign_ups, "sign-up", key):
                return
            reset_at, _ = await self.limiter.get_window_stats(self.sign_ups, "sign-up", key)
        except StorageError as error:
            _fail_open(error)
            return
        _refuse("too many sign-ups from this address", self.sign_ups, reset_at)

    def _failure_counters(self, handle: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        # The handle as typed (trimmed, lower-case: as handles are matched), hashed: any text
        # may arrive, and a Redis key should not carry it.
        typed = hashlib.sha256(handle.strip().lower().encode("utf-8", "replace")).hexdigest()
        return [
            (self.per_handle, f"handle:{typed[:32]}", "handle"),
            (self.per_address, f"ip:{address}", "address"),
        ]


def _refuse(what: str, item: RateLimitItem, reset_at: float) -> NoReturn:
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise RateLimited(f"{what}: at most {item}; retry in {retry_after}s", retry_after=retry_after)


def _fail_open(error: StorageError) -> None:
    log.warning("the sign-in throttle is off: the cache does not answer", error=str(error))
