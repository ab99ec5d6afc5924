"""Opens and closes every long-lived client: graph, cache, image store (and embedded servers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from graph.backend import GraphBackend
from graph.board_cache import BoardCache
from graph.connect import open_backend
from graph.errors import Unavailable
from graph.feed_cache import FeedCache
from graph.repos import Repositories
from media.open import open_image_store
from media.service import ImageService
from media.store import ImageStore
from server.embedded import EmbeddedServices
from server.response_cache import ResponseCache
from server.settings import EMBEDDED, Settings, SettingsError
from walks.deltas import DeltaLog
from walks.engine import WalkEngine
from walks.live import LiveWalks

log = structlog.get_logger(__name__)


@dataclass
class Services:
    settings: Settings
    graph: GraphBackend
    cache: aioredis.Redis
    media: ImageStore
    embedded: EmbeddedServices | None
    repos: Repositories = field(init=False)
    images: ImageService = field(init=False)
    walks: WalkEngine | None = field(init=False, default=None)
    live_walks: LiveWalks | None = field(init=False, default=None)
    walk_deltas: DeltaLog = field(init=False)
    walk_events: Callable[[str, int], None] = field(init=False)  # metrics, once an app attaches
    board_cache: BoardCache = field(init=False)
    feed_cache: FeedCache = field(init=False)
    responses: ResponseCache | None = field(init=False)

    def __post_init__(self) -> None:
        self.repos = Repositories.over(self.graph)
        self.board_cache = BoardCache(self.cache, self.repos.boards)
        self.feed_cache = FeedCache(self.cache)
        self.walk_deltas = DeltaLog(self.cache)
        self.walk_events = lambda event, count: None
        ttl = self.settings.response_cache_ttl_s
        self.responses = ResponseCache(self.cache, ttl_s=ttl) if ttl else None
        self.images = ImageService(
            self.media,
            max_bytes=self.settings.media_max_bytes,
            max_pixels=self.settings.media_max_pixels,
            url_ttl_s=self.settings.media_url_ttl_s,
        )


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Start what is embedded, connect to everything, and close it all on exit."""
    async with AsyncExitStack() as stack:
        embedded = None
        graph_url, redis_url = settings.graph_url, settings.redis_url
        if settings.needs_embedded:
            # Started in the calling (main) thread: the kernel ties the servers' lives to it.
            embedded = EmbeddedServices(
                settings.data_dir,
                fsync=settings.graph_fsync,
                cache_maxmemory=settings.cache_maxmemory,
            )
            endpoints = embedded.start()
            stack.callback(embedded.stop)
            log.info(
                "embedded services",
                owner=embedded.owner,
                graph=endpoints.graph_url,
                cache=endpoints.redis_url,
            )
            graph_url = endpoints.graph_url if graph_url == EMBEDDED else graph_url
            redis_url = endpoints.redis_url if redis_url == EMBEDDED else redis_url
        graph = await open_backend(
            graph_url, database=settings.graph_database, timeout_ms=settings.graph_timeout_ms
        )
        stack.push_async_callback(graph.close)
        await graph.ping()
        # No retries: when the cache is away, requests go on without it at once instead of
        # waiting seconds on redis-py's default back-off for every call.
        cache = aioredis.Redis.from_url(
            redis_url,
            socket_timeout=2,
            socket_connect_timeout=2,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 0),
        )
        stack.push_async_callback(cache.aclose)
        try:
            media = await open_image_store(settings.media_url, settings.media_dir)
        except ValueError as error:
            raise SettingsError(f"PINGRAPH_MEDIA_URL: {error}") from None
        yield Services(settings, graph, cache, media, embedded)


async def check_cache(cache: aioredis.Redis) -> None:
    try:
        await cache.ping()
    except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as error:
        raise Unavailable("the cache does not answer") from error
