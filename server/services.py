"""Opens and closes every long-lived client, in one place.

`open_stores` gives what every door needs to read and write (the CLI uses it alone);
`open_services` adds what a server runs: migrations, the walk graph and its live follower,
and the event consumers. Both build their result complete, in one AsyncExitStack.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from accounts.key import PasswordKeyError, load_key
from accounts.seal import PasswordSeal
from accounts.service import Accounts
from accounts.sessions import Sessions
from accounts.throttle import SignInThrottle
from cache.boards import BoardCache, BoardVersions
from cache.errors import REDIS_ERRORS
from cache.feeds import FeedCache, feed_refresh
from cache.public_pins import PublicPins
from cache.responses import ResponseCache
from cache.trending import TrendingCache, trending_refresh
from domain.errors import Unavailable
from events.bus import EventBus
from events.consumer import ConsumerRunner
from graph.backends.absent import NoAnalystReplica
from graph.backends.base import Dialect, GraphBackend
from graph.backends.connect import open_backend
from graph.migrate import migrate
from graph.repos import Repositories
from media.open import open_image_store
from media.service import ImageService
from media.store import ImageStore
from notifications.inbox import Inbox
from notifications.live import LiveHub
from notifications.push import PushSender
from notifications.push_queue import PushQueue
from notifications.rules import Rules
from notifications.service import NotificationService
from notifications.subscriptions import PushSubscriptions
from notifications.vapid import application_server_key, load_vapid
from server.embedded import EmbeddedServices
from server.observability import Metrics
from server.settings import EMBEDDED, Settings, SettingsError
from visual.batcher import Batcher
from visual.indexing import visual_indexing
from visual.model import Embedder
from visual.service import VisualSearch
from walks.consumer import walk_deltas
from walks.deltas import DeltaLog
from walks.engine import WalkEngine
from walks.live import LiveWalks
from walks.publish import PublishedSnapshots, Transfer
from walks.snapshots import load_or_build

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Stores:
    """The stores and what every write goes through: repositories publish to `events`."""

    settings: Settings
    metrics: Metrics
    graph: GraphBackend
    analyst: GraphBackend  # a read replica, for analysts' queries (`graph/backends/absent.py`)
    cache: aioredis.Redis
    media: ImageStore
    embedded: EmbeddedServices | None  # None when every store is external
    events: EventBus
    repos: Repositories
    images: ImageService
    board_cache: BoardCache
    feed_cache: FeedCache
    responses: ResponseCache
    walk_deltas: DeltaLog
    visual: VisualSearch
    trending: TrendingCache
    accounts: Accounts


@dataclass(frozen=True)
class Services(Stores):
    """What a server runs on: the stores, plus the walk graph kept live and notifications."""

    walks: WalkEngine
    live_walks: LiveWalks
    notifications: NotificationService
    notification_rules: Rules
    push: PushSender
    consumers: tuple[ConsumerRunner, ...]


@asynccontextmanager
async def open_stores(settings: Settings, metrics: Metrics | None = None) -> AsyncIterator[Stores]:
    """Start what is embedded, connect to everything, and close it all on exit."""
    metrics = metrics or Metrics()
    async with AsyncExitStack() as stack:
        embedded = None
        graph_url, redis_url = settings.graph_url, settings.redis_url
        analyst_url = settings.analyst_graph_url
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
                graph_port=endpoints.graph_port,
                cache_port=endpoints.cache_port,
            )
            if graph_url == EMBEDDED and analyst_url == EMBEDDED:
                analyst_url = endpoints.analyst_graph_url
            graph_url = endpoints.graph_url if graph_url == EMBEDDED else graph_url
            redis_url = endpoints.redis_url if redis_url == EMBEDDED else redis_url
        graph = await open_backend(
            graph_url, database=settings.graph_database, timeout_ms=settings.graph_timeout_ms
        )
        stack.push_async_callback(graph.close)
        await graph.ping()
        analyst = await open_analyst(settings, graph, analyst_url)
        if analyst is not graph:
            stack.push_async_callback(analyst.close)
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
        yield build_stores(settings, metrics, graph, analyst, cache, media, embedded)


async def open_analyst(settings: Settings, graph: GraphBackend, url: str) -> GraphBackend:
    """The replica analysts' queries run on (see `Settings.analyst_graph_url`)."""
    if url != EMBEDDED:
        return await open_backend(
            url, database=settings.graph_database, timeout_ms=settings.graph_timeout_ms
        )
    if graph.dialect is Dialect.NEO4J:
        return graph  # its analyst sessions are READ sessions, routed to secondaries
    log.warning("no analyst replica: POST /cypher and `pingraph cypher` are refused; set "
                "PINGRAPH_ANALYST_GRAPH_URL")  # fmt: skip
    return NoAnalystReplica()


def build_stores(
    settings: Settings,
    metrics: Metrics,
    graph: GraphBackend,
    analyst: GraphBackend,
    cache: aioredis.Redis,
    media: ImageStore,
    embedded: EmbeddedServices | None,
) -> Stores:
    def counter(name: str) -> Callable[[str], None]:
        return lambda event: metrics.cache_events.labels(name, event).inc()

    versions = BoardVersions(cache, on_event=counter("board"))
    responses = ResponseCache(
        cache, ttl_s=settings.response_cache_ttl_s, on_event=counter("response")
    )
    public_pins = PublicPins(cache)
    events = EventBus(
        cache,
        inline=(versions.on_write, responses.on_write, public_pins.on_write),
        on_event=lambda outcome: metrics.events.labels("stream", outcome).inc(),
    )
    repos = Repositories.over(graph, events)
    repos.pins.public_pins = public_pins
    images = ImageService(
        media,
        events,
        max_bytes=settings.media_max_bytes,
        max_pixels=settings.media_max_pixels,
        url_ttl_s=settings.media_url_ttl_s,
    )
    embedder = Embedder(settings.model_dir, threads=settings.visual_threads)
    visual = VisualSearch(
        images,
        repos.visual,
        Batcher(embedder),
        on_event=lambda outcome, n: metrics.visual.labels(outcome).inc(n),
    )
    trending = TrendingCache(
        cache,
        repos.trending,
        window_s=settings.trending_window_s,
        half_life_s=settings.trending_half_life_s,
        every_s=settings.trending_every_s,
        on_change=responses.changed,
        on_event=counter("trending"),
    )
    return Stores(
        settings=settings,
        metrics=metrics,
        graph=graph,
        analyst=analyst,
        cache=cache,
        media=media,
        embedded=embedded,
        events=events,
        repos=repos,
        images=images,
        board_cache=BoardCache(versions, repos.boards, repos.sections),
        feed_cache=FeedCache(cache, on_event=counter("feed")),
        responses=responses,
        walk_deltas=DeltaLog(cache, on_event=lambda event: metrics.walk_deltas.labels(event).inc()),
        visual=visual,
        trending=trending,
        accounts=build_accounts(settings, repos, cache),
    )


def build_accounts(settings: Settings, repos: Repositories, cache: aioredis.Redis) -> Accounts:
    """Password accounts, with the key that seals stored hashes (generated in dev)."""
    configured = settings.password_key.get_secret_value() if settings.password_key else None
    try:
        key = load_key(configured, settings.data_dir)
    except PasswordKeyError as error:
        raise SettingsError(str(error)) from None
    sessions = Sessions(
        settings.jwt_secret.get_secret_value(),
        cache,
        access_ttl_s=settings.session_ttl,
        refresh_ttl_s=settings.refresh_ttl,
    )
    throttle = SignInThrottle(
        cache,
        failures_per_handle=settings.sign_in_failures_per_handle,
        failures_per_address=settings.sign_in_failures_per_address,
        sign_ups_per_address=settings.sign_ups_per_address,
    )
    return Accounts(repos, PasswordSeal(key), sessions, throttle, demo_sign_in=settings.is_dev)


Prepare = Callable[[Stores], Awaitable[None]]


@asynccontextmanager
async def open_services(
    settings: Settings, metrics: Metrics | None = None, *, prepare: Prepare | None = None
) -> AsyncIterator[Services]:
    """Everything a server runs on, started in order: the stores, schema migrations,
    `prepare` (the CLI's demo data), the walk graph, then the background tasks (the live
    walk follower, the trending refresher and the event consumers), which are cancelled on
    exit."""
    async with AsyncExitStack() as stack:
        stores = await stack.enter_async_context(open_stores(settings, metrics))
        await migrate(stores.graph)
        if prepare is not None:
            await prepare(stores)
        shelf = published_snapshots(stores)
        engine = await load_or_build(
            stores.graph, stores.walk_deltas, settings.walks_dir, shelf=shelf
        )
        stack.callback(engine.close)
        live = LiveWalks(
            engine,
            stores.walk_deltas,
            stores.graph,
            settings.walks_dir,
            compact_after=settings.walks_compact_after,
            compact_every_s=settings.walks_compact_every_s,
            poll_ms=settings.walks_poll_ms,
            on_event=lambda event, count: stores.metrics.walk_deltas.labels(event).inc(count),
            shelf=shelf,
        )
        notifications, rules, push = build_notifications(stores)
        stack.push_async_callback(push.close)
        consumers = tuple(
            ConsumerRunner(
                stores.cache,
                consumer,
                on_event=lambda group, outcome: stores.metrics.events.labels(group, outcome).inc(),
            )
            for consumer in (
                walk_deltas(stores.walk_deltas),
                feed_refresh(stores.feed_cache),
                *rules.consumers(),
                visual_indexing(stores.visual),
                trending_refresh(stores.trending),
            )
        )
        fields = {field.name: getattr(stores, field.name) for field in dataclasses.fields(Stores)}
        services = Services(
            **fields, walks=engine, live_walks=live, notifications=notifications,
            notification_rules=rules, push=push, consumers=consumers,
        )  # fmt: skip
        watch(services)
        for runner in consumers:
            stack.push_async_callback(runner.leave)  # after its task has stopped
        tasks = (live.run(), notifications.live.run(), push.run(), stores.trending.run(),
                 *(runner.run() for runner in consumers))  # fmt: skip
        for work in tasks:
            await stack.enter_async_context(background(work))
        yield services


def published_snapshots(
    stores: Stores, progress: Transfer | None = None
) -> PublishedSnapshots | None:
    """Where walk snapshots are shared between replicas: the image store. None for the
    embedded image directory, which only processes of this data directory see (and they
    share its walk snapshots already)."""
    if stores.settings.media_url == EMBEDDED:
        return None
    return PublishedSnapshots(
        stores.media,
        stores.settings.walks_dir,
        progress=progress,
        on_event=lambda event: stores.metrics.walk_deltas.labels(event).inc(),
    )


def build_notifications(stores: Stores) -> tuple[NotificationService, Rules, PushSender]:
    """The inbox, live delivery, Web Push and the rules that feed them."""
    settings, metrics = stores.settings, stores.metrics
    inbox = Inbox(stores.repos)
    live = LiveHub(
        stores.cache, on_event=lambda outcome: metrics.notifications.labels(f"live_{outcome}").inc()
    )
    vapid = load_vapid(settings)
    subscriptions = PushSubscriptions(stores.repos.notifications, vapid)
    queue = PushQueue(
        stores.cache,
        tries=settings.push_tries,
        backoff_s=settings.push_backoff_s,
        on_event=lambda outcome: metrics.push_deliveries.labels(outcome).inc(),
    )
    push = PushSender(
        subscriptions,
        queue,
        vapid,
        subject=settings.vapid_subject,
        payload_of=inbox.payload,
        on_event=lambda outcome: metrics.push_deliveries.labels(outcome).inc(),
    )
    rules = Rules(
        stores.repos,
        stores.cache,
        deliver=(live.publish_many, push.enqueue),
        window_s=settings.notify_window_s,
        cap_per_hour=settings.notify_cap_per_hour,
        on_event=lambda outcome, n: metrics.notifications.labels(outcome).inc(n),
    )
    service = NotificationService(
        inbox, live, subscriptions, application_server_key(vapid), tuple(settings.push_host_list)
    )
    return service, rules, push


def watch(services: Services) -> None:
    """Gauges read at scrape time."""
    metrics = services.metrics
    metrics.walk_stream_lag.set_function(lambda: services.live_walks.lag_s)
    metrics.walk_overlay.set_function(lambda: services.walks.graph.deltas)
    metrics.walk_edges.set_function(lambda: services.walks.graph.edges)
    metrics.live_subscribers.set_function(lambda: services.notifications.live.count)


@asynccontextmanager
async def background(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run `work` as a task for the duration of the block; a crash is logged, not hidden."""
    task = asyncio.create_task(work)
    task.add_done_callback(_log_crash)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task stopped", task=repr(task), error=repr(task.exception()))


async def check_cache(cache: aioredis.Redis) -> None:
    try:
        await cache.ping()
    except REDIS_ERRORS as error:
        raise Unavailable("the cache does not answer") from error
