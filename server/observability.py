"""Structured logs with a request id, and Prometheus metrics per route."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# The password in a URL's user info: `redis://:secret@host`, `neo4j://neo4j:secret@host`.
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*):[^@/\s]+@")


def redact_urls(
    logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """A log processor: passwords in URLs (the embedded stores' URLs carry one) become ***."""
    for key, value in event.items():
        if isinstance(value, str) and "://" in value:
            event[key] = URL_PASSWORD.sub(r"\g<head>:***@", value)
    return event


def configure_logging(*, json: bool, level: str = "info") -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_urls,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


class Metrics:
    """The app's own registry, so two apps in one process (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pingraph_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pingraph_http_request_duration_seconds",
            "HTTP request latency by route",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self.cache_events = Counter(
            "pingraph_cache_events",
            "Cache hits, misses, rebuilds, errors and epoch changes, by cache",
            ["cache", "event"],
            registry=self.registry,
        )
        self.walk_deltas = Counter(
            "pingraph_walk_deltas",
            "Live walk-graph deltas merged (applied), rebuilds after lost deltas (resync), "
            "compactions, and errors reading or writing the delta stream",
            ["event"],
            registry=self.registry,
        )
        self.events = Counter(
            "pingraph_events",
            "Domain events: published to or lost on the way to the stream (consumer "
            "'stream'), and handled, failed or reclaimed by each consumer group",
            ["consumer", "outcome"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "pingraph_notifications",
            "Notifications created, aggregated into an existing one, or capped; live "
            "deliveries (live_delivered, live_dropped for slow subscribers, live_publish_error)",
            ["outcome"],
            registry=self.registry,
        )
        self.live_subscribers = Gauge(
            "pingraph_live_subscribers",
            "Open notificationAdded subscriptions in this process",
            registry=self.registry,
        )
        self.walk_stream_lag = Gauge(
            "pingraph_walk_stream_lag_seconds",
            "How far the newest walk delta in Redis is ahead of what this process merged",
            registry=self.registry,
        )
        self.walk_overlay = Gauge(
            "pingraph_walk_overlay_deltas",
            "Live deltas merged into the walk graph since its snapshot (the overlay)",
            registry=self.registry,
        )
        self.walk_edges = Gauge(
            "pingraph_walk_graph_edges", "Edges in the walk graph served", registry=self.registry
        )
        self.push_deliveries = Counter(
            "pingraph_push_deliveries",
            "Web Push deliveries by outcome: enqueued, sent, retried, dead (given up: a dead "
            "letter), gone (the subscription expired), dropped (nothing to send), requeued",
            ["outcome"],
            registry=self.registry,
        )
        self.visual = Counter(
            "pingraph_visual_images",
            "Visual search: images run through the model (embedded), pins given an embedding "
            "(indexed), and pins whose image could not be read (unreadable)",
            ["outcome"],
            registry=self.registry,
        )
        self.push_dead_letters = Gauge(
            "pingraph_push_dead_letters",
            "Web Push deliveries that failed for good and wait in the dead letters",
            registry=self.registry,
        )


class RequestMiddleware:
    """Gives every request an id (X-Request-ID in and out), logs it, and records metrics;
    every response says `X-Content-Type-Options: nosniff`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = structlog.get_logger("pingraph.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"x-content-type-options"
                ]
                message["headers"] = [
                    *headers,
                    (b"x-request-id", request_id.encode()),
                    # Browsers must take images (and everything else) for the type declared,
                    # never sniff an upload into HTML or script.
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            label = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(label, scope["method"], str(status)).inc()
            self.metrics.latency.labels(label, scope["method"]).observe(elapsed)
            self.log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")
