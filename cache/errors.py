"""What counts as "Redis is away": every cache user degrades on these, and only these."""

from __future__ import annotations

import redis.asyncio as aioredis

REDIS_ERRORS = (aioredis.ConnectionError, aioredis.TimeoutError, OSError)
