"""The Starlette application: routes, middleware, and a lifespan that opens every service
(`server/services.py`) and hands it to the request handlers through `app.state`."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from schema.build import build_schema
from server import cypher_routes, health, media_routes, walk_routes, web
from server.graphql import GraphQLEndpoint
from server.observability import Metrics, RequestMiddleware
from server.ratelimit import CommentLimits, InviteLimits, RateLimits
from server.services import Prepare, open_services
from server.settings import Settings


def create_app(settings: Settings, *, prepare: Prepare | None = None) -> Starlette:
    """Build the app; its lifespan opens the services (`prepare` runs once the stores are
    open and migrated, before the walk graph loads: the CLI loads demo data there)."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings, metrics, prepare=prepare) as services:
            app.state.services = services
            app.state.cypher_gate = asyncio.Semaphore(cypher_routes.CONCURRENT_QUERIES)
            app.state.rate_limits = RateLimits(
                services.cache,
                per_user=settings.rate_limit_user,
                per_address=settings.rate_limit_anonymous,
            )
            app.state.comment_limits = CommentLimits(
                services.cache,
                per_user=settings.comments_per_user,
                per_user_day=settings.comments_per_user_day,
            )
            app.state.invite_limits = InviteLimits(
                services.cache, per_user=settings.invites_per_user
            )
            # What start-up made (schema, walk graph, clients) lives as long as the process:
            # the collector need not walk it again on every full collection.
            gc.collect()
            gc.freeze()
            yield

    graphql = GraphQLEndpoint(
        build_schema(dev=settings.is_dev),
        dev=settings.is_dev,
        jwt_secret=settings.jwt_secret.get_secret_value(),
    )
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
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),  # subscriptions
            *web.routes(dev=settings.is_dev, web_dir=settings.web_dir),
        ],
        middleware=[Middleware(RequestMiddleware, metrics=metrics)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app
