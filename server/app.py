"""The Starlette application: routes, middleware, and a lifespan that owns every client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from schema.build import build_schema
from server import cypher_routes, health, media_routes, walk_routes
from server.graphql import GraphQLEndpoint
from server.observability import Metrics, RequestMiddleware
from server.ratelimit import RateLimits
from server.services import Services, open_services
from server.settings import Settings


def create_app(settings: Settings, *, services: Services | None = None) -> Starlette:
    """Build the app. Given `services`, the caller owns them; otherwise the lifespan opens them."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        async with open_services(settings) as opened:
            attach(app, opened)
            yield

    app = Starlette(
        debug=False,
        routes=[
            Route("/healthz", health.healthz, methods=["GET"]),
            Route("/readyz", health.readyz, methods=["GET"]),
            Route("/metrics", health.metrics, methods=["GET"]),
            Route("/media", media_routes.upload_endpoint, methods=["POST"]),
            Route("/walks/related", walk_routes.related_endpoint, methods=["POST"]),
            Route("/walks/feed", walk_routes.feed_endpoint, methods=["POST"]),
            Route("/walks/batch", walk_routes.batch_endpoint, methods=["POST"]),
            Route("/walks/graph", walk_routes.graph_endpoint, methods=["GET"]),
            Route("/cypher", cypher_routes.endpoint, methods=["POST"]),
            Route("/media/{key}/{size}", media_routes.serve, methods=["GET"]),
            Route(
                "/graphql",
                GraphQLEndpoint(build_schema(dev=settings.is_dev), dev=settings.is_dev),
                methods=["GET", "POST"],
            ),
        ],
        middleware=[Middleware(RequestMiddleware, metrics=metrics)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    if services is not None:
        attach(app, services)
    return app


def attach(app: Starlette, services: Services) -> None:
    """Hand the opened clients, and what is built on them, to the request handlers."""
    settings: Settings = app.state.settings
    app.state.services = services
    metrics: Metrics = app.state.metrics
    services.board_cache.on_event = lambda event: metrics.cache_events.labels("board", event).inc()
    services.feed_cache.on_event = lambda event: metrics.cache_events.labels("feed", event).inc()
    if services.responses is not None:
        services.responses.on_event = lambda event: metrics.cache_events.labels(
            "response", event
        ).inc()
    services.walk_events = lambda event, count: metrics.walk_deltas.labels(event).inc(count)
    services.walk_deltas.on_event = lambda event: metrics.walk_deltas.labels(event).inc()
    metrics.walk_stream_lag.set_function(
        lambda: services.live_walks.lag_s if services.live_walks else 0.0
    )
    metrics.walk_overlay.set_function(lambda: services.walks.graph.deltas if services.walks else 0)
    metrics.walk_edges.set_function(lambda: services.walks.graph.edges if services.walks else 0)
    app.state.cypher_gate = asyncio.Semaphore(cypher_routes.CONCURRENT_QUERIES)
    app.state.rate_limits = RateLimits(
        services.cache,
        per_user=settings.rate_limit_user,
        per_address=settings.rate_limit_anonymous,
    )
