"""Waiting for the event consumers: what tests do before they look at derived state."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from cache import trending
from events.bus import STREAM
from notifications import fanout

# Each stream the server consumes, with its groups. A group handles an entry before it
# acknowledges it, so once the event groups are idle every fan-out job they made is queued.
SERVER_GROUPS = {
    STREAM: frozenset({b"walks", b"feeds", b"notifications", b"visual", b"trending"}),
    fanout.STREAM: frozenset({fanout.GROUP.encode()}),
}


async def drained(cache: aioredis.Redis, *, within_s: float = 20.0) -> None:
    """Return once the server's consumer groups have handled every entry published so far."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await _idle(cache):
        assert asyncio.get_running_loop().time() < deadline, "consumers stuck"
        await asyncio.sleep(0.01)


async def trending_settled(cache: aioredis.Redis, *, within_s: float = 30.0) -> None:
    """Return once the stored trending ranking includes every write published so far: the
    `trending` group has asked for a computation, and it has run (a request is taken only
    under the lock, which is let go once the ranking is stored)."""
    await drained(cache, within_s=within_s)
    deadline = asyncio.get_running_loop().time() + within_s
    while await cache.exists(trending.DUE, trending.DUE_ADDED, trending.LOCK):
        assert asyncio.get_running_loop().time() < deadline, "trending never recomputed"
        await asyncio.sleep(0.05)


async def _idle(cache: aioredis.Redis) -> bool:
    for stream, names in SERVER_GROUPS.items():
        try:
            groups: Any = await cache.xinfo_groups(stream)
        except aioredis.ResponseError:
            continue  # no such stream yet: nothing to wait for
        ours = [group for group in groups if group["name"] in names]
        if not all(int(group["pending"]) == 0 and not group.get("lag") for group in ours):
            return False
    return True
