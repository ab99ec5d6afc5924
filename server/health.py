"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cache.errors import REDIS_ERRORS
from domain.errors import NotFound, Unauthenticated, Unavailable
from server.guard import error_response
from server.observability import Metrics
from server.services import Services, check_cache
from server.settings import Settings

READY_TIMEOUT_S = 3.0
DEGRADABLE = ("cache", "analyst")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    checks = {
        "graph": services.graph.ping(),
        "cache": check_cache(services.cache),
        "media": services.media.ping(),
    }
    if services.analyst is not services.graph:  # the analysts' replica
        checks["analyst"] = services.analyst.ping()
    results = await asyncio.gather(
        *(asyncio.wait_for(check, READY_TIMEOUT_S) for check in checks.values()),
        return_exceptions=True,
    )
    parts = {}
    for name, result in zip(checks, results, strict=True):
        if isinstance(result, Unavailable):
            parts[name] = {"ok": False, "error": str(result)}
        elif isinstance(result, TimeoutError):
            parts[name] = {"ok": False, "error": f"no answer within {READY_TIMEOUT_S:.0f}s"}
        elif isinstance(result, BaseException):
            parts[name] = {"ok": False, "error": type(result).__name__}
        else:
            parts[name] = {"ok": True}
    broken = [name for name, part in parts.items() if not part["ok"]]
    # Without the cache the service still reads and writes (from the graph store, with rate
    # limits off), and without the analysts' replica only /cypher is off: degraded, not
    # down. Without the graph store or images it is not ready.
    degraded = [name for name in broken if name in DEGRADABLE]
    failing = [name for name in broken if name not in DEGRADABLE]
    body = {"ready": not failing, "failing": failing, "degraded": degraded, "checks": parts}
    return JSONResponse(body, status_code=503 if failing else 200)


async def metrics(request: Request) -> Response:
    """Prometheus text. It tells who is busy and, through the walk-delta and event counters,
    when saves happen (secret boards' included), so it needs PINGRAPH_METRICS_TOKEN as a
    bearer token when one is set; production without a token does not serve it at all."""
    settings: Settings = request.app.state.settings
    token = settings.metrics_token
    if token is None and not settings.is_dev:
        return error_response(
            NotFound("/metrics is off: set PINGRAPH_METRICS_TOKEN to serve it (as a bearer token)")
        )
    if token is not None and not _bearer_matches(request, token.get_secret_value()):
        refused = error_response(
            Unauthenticated("/metrics needs 'Authorization: Bearer <PINGRAPH_METRICS_TOKEN>'")
        )
        refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    metrics = request.app.state.metrics
    await _count_dead_letters(request.app.state.services, metrics)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def _count_dead_letters(services: Services, metrics: Metrics) -> None:
    """Read at scrape time: they live in Redis, shared by every process."""
    with contextlib.suppress(*REDIS_ERRORS):  # the scrape answers; /readyz says Redis is away
        metrics.push_dead_letters.set(await services.push.queue.dead_count())


def _bearer_matches(request: Request, expected: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Constant time, on bytes: compare_digest refuses non-ASCII str.
    return hmac.compare_digest(given.strip().encode(), expected.encode())
