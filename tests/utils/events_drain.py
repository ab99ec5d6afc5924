"""Waiting for the event consumers: what tests do before they look at derived state."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from events.bus import STREAM

SERVER_GROUPS = frozenset({b"walks", b"feeds"})


async def drained(cache: aioredis.Redis, *, within_s: float = 20.0) -> None:
    """Return once the server's consumer groups have handled every event published so far."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        groups: Any = await cache.xinfo_groups(STREAM)
        ours = [group for group in groups if group["name"] in SERVER_GROUPS]
        if all(int(group["pending"]) == 0 and not group.get("lag") for group in ours):
            return
        assert asyncio.get_running_loop().time() < deadline, f"consumers stuck: {groups}"
        await asyncio.sleep(0.01)
