"""Slowing down password guessing and account farming, with counters in Redis.

A sign-in (or a password change's current password) reserves one attempt on three counters
before the password is looked at, and gives it back when the password was right, so what
stays counted is failures, and concurrent attempts (a GraphQL batch, parallel requests) are
counted exactly:

- the handle from this address: the per-handle limit (default 5 in 15 minutes);
- the handle from anywhere: ten times that, over the same period (guessing from many
  addresses), so one address cannot lock an account for everybody else;
- the address, whichever handles: the per-address limit (default 20 in 15 minutes).

Addresses are counted as `address_key` says: an IPv6 address by its /64 network. The counters
are fixed windows (`pingraph:accounts:sign-in:<scope>:<window index>`, INCR and EXPIRE in
one transaction): the window index is the time divided by the limit's period, so up to twice
a limit can be tried across a window's end. An attempt past a limit is refused before the
password is looked at, so even the right password waits until the window ends.

Sign-ups are counted per address (its /64 too), every attempt, in a moving window of the
`limits` library (as `server/ratelimit.py` keeps the request limits).

When Redis is away the throttle is off, with a warning: losing the cache must not lock
everybody out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import redis.asyncio as aioredis
import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from domain.errors import RateLimited

log = structlog.get_logger(__name__)

KEY_PREFIX = "pingraph:accounts"
# The handle from any address may fail this many times the per-handle limit.
HANDLE_FROM_ANYWHERE = 10
# Anything the Redis client raises when the cache is away or refuses.
CACHE_FAILURES = (aioredis.RedisError, OSError)
# Give an attempt back: never below zero, and never to a counter that is gone (its window
# ended, or Redis evicted it), which DECR would make anew, at -1 and without an expiry.
RELEASE = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


def address_key(address: str) -> str:
    """A client address as the throttle counts it: an IPv4 address as is, an IPv6 address by
    its /64 network (one subscriber's usual share, all of it an attacker's to use), an
    IPv4-mapped IPv6 address as the IPv4 address; anything unparsable as is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # From the integer: a scope id ("fe80::1%eth0") does not belong to the network.
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def handle_key(handle: str) -> str:
    """The handle as typed (trimmed, lower-case: as handles are matched), hashed: any text may
    arrive, and a Redis key should not carry it."""
    return hashlib.sha256(handle.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]


@dataclass(frozen=True)
class Counter:
    """One fixed window of one counter."""

    key: str
    item: RateLimitItem
    whose: str  # for the message: "too many failed sign-ins for this <whose>"
    window_end: float  # epoch seconds

    @classmethod
    def at(cls, scope: str, item: RateLimitItem, whose: str, now: float) -> Counter:
        period = item.get_expiry()
        window = int(now // period)
        return cls(f"{KEY_PREFIX}:sign-in:{scope}:{window}", item, whose, (window + 1) * period)

    def ttl_s(self, now: float) -> int:
        return max(1, math.ceil(self.window_end - now))


class Reservation:
    """Attempts reserved on some counters; `release` gives them back (once)."""

    def __init__(self, cache: aioredis.Redis, keys: list[str]) -> None:
        self.cache = cache
        self.keys = keys

    async def release(self) -> None:
        keys, self.keys = self.keys, []
        if not keys:
            return
        try:
            await self.cache.eval(RELEASE, len(keys), *keys)
        except CACHE_FAILURES as error:
            log.warning("a sign-in attempt could not be given back: the cache does not answer",
                        error=str(error))  # fmt: skip


class SignInThrottle:
    def __init__(
        self,
        cache: aioredis.Redis,
        *,
        failures_per_handle: str,
        failures_per_address: str,
        sign_ups_per_address: str,
    ) -> None:
        self.cache = cache
        # The URL only names the client library: the app's own connection pool is used.
        shared: dict[str, Any] = {"connection_pool": cache.connection_pool}
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=KEY_PREFIX,
            **shared,
        )
        # Sign-ups: a moving window, "10 in any hour", and an exact time to wait.
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_handle = parse(failures_per_handle)
        self.per_handle_anywhere = type(self.per_handle)(
            self.per_handle.amount * HANDLE_FROM_ANYWHERE, self.per_handle.multiples
        )
        self.per_address = parse(failures_per_address)
        self.sign_ups = parse(sign_ups_per_address)

    async def reserve_sign_in(self, handle: str, address: str) -> Reservation:
        """Count one sign-in attempt on the three counters, before the password is checked;
        RateLimited when one is past its limit. Release the reservation when the password was
        right: a failure stays counted."""
        now = time.time()
        counters = self.counters(handle, address, now)
        try:
            async with self.cache.pipeline(transaction=True) as pipe:
                for counter in counters:
                    pipe.incr(counter.key)
                    pipe.expire(counter.key, counter.ttl_s(now))
                results = await pipe.execute()
        except CACHE_FAILURES as error:
            _fail_open(error)
            return Reservation(self.cache, [])
        counts = [int(count) for count in results[::2]]
        over = [c for c, count in zip(counters, counts, strict=True) if count > c.item.amount]
        if not over:
            return Reservation(self.cache, [counter.key for counter in counters])
        # Refused, so nothing was tried: the attempt stays on the counters it is over (which
        # stay over until their window ends) and is given back to the others, so that one
        # address's refused attempts do not use up the handle's count from anywhere.
        await Reservation(self.cache, [c.key for c in counters if c not in over]).release()
        latest = max(over, key=lambda counter: counter.window_end)
        _refuse(f"too many failed sign-ins for this {latest.whose}", latest.item, latest.window_end)

    async def count_sign_up(self, address: str) -> None:
        """Count one sign-up attempt; RateLimited past the limit."""
        key = f"ip:{address_key(address)}"
        try:
            if await self.limiter.hit(self.sign_ups, "sign-up", key):
                return
            reset_at, _ = await self.limiter.get_window_stats(self.sign_ups, "sign-up", key)
        except StorageError as error:
            _fail_open(error)
            return
        _refuse("too many sign-ups from this address", self.sign_ups, reset_at)

    def counters(self, handle: str, address: str, now: float) -> list[Counter]:
        """The counters one sign-in attempt counts on, in the window of `now`."""
        typed, network = handle_key(handle), address_key(address)
        return [
            Counter.at(
                f"handle-address:{typed}:{network}",
                self.per_handle,
                "handle from this address",
                now,
            ),
            Counter.at(f"handle:{typed}", self.per_handle_anywhere, "handle", now),
            Counter.at(f"address:{network}", self.per_address, "address", now),
        ]


def _refuse(what: str, item: RateLimitItem, reset_at: float) -> NoReturn:
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise RateLimited(f"{what}: at most {item}; retry in {retry_after}s", retry_after=retry_after)


def _fail_open(error: Exception) -> None:
    log.warning("the sign-in throttle is off: the cache does not answer", error=str(error))
