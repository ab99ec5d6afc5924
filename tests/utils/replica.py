"""Waiting for the analysts' replica to have what the primary has."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis.asyncio as aioredis

from server.settings import Settings


async def replicated(settings: Settings) -> None:
    """Return once the graph replica has acknowledged every write made so far (WAIT)."""
    url = urlsplit(settings.graph_url)
    primary = aioredis.Redis(host=url.hostname or "127.0.0.1", port=url.port or 6379,
                             password=url.password)  # fmt: skip
    try:
        acknowledged = await primary.execute_command("WAIT", 1, 10_000)
    finally:
        await primary.aclose()
    assert acknowledged == 1, "the graph replica did not catch up within 10 s"
