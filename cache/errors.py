"""What counts as "Redis is away": every cache user degrades on these, and only these."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import BusyLoadingError, ReadOnlyError

# A replica that refuses writes during a failover, or a Redis still loading its data, is
# away too: a write's cache invalidation is then remembered and redone, not dropped.
REDIS_ERRORS = (
    aioredis.ConnectionError,
    aioredis.TimeoutError,
    OSError,
    ReadOnlyError,
    BusyLoadingError,
)
