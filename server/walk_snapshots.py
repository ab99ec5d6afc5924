"""Walk graphs for a running server: load the newest snapshot (building one when there is
none), then keep it current with live deltas and newer snapshots (`walks/live.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from server.services import Services
from walks import graph as walk_graph
from walks.build import build_and_save
from walks.deltas import REDIS_ERRORS, START
from walks.engine import Query, WalkEngine
from walks.live import LiveWalks

log = structlog.get_logger(__name__)


async def load_or_build(
    services: Services, progress: Callable[[int, int], None] | None = None
) -> WalkEngine:
    directory = services.settings.walks_dir
    path = walk_graph.newest(directory)
    if path is None:
        position = await stream_position(services)
        path = await build_and_save(
            services.graph, directory, stream_id=position, progress=progress
        )
    graph = await asyncio.to_thread(walk_graph.load, path)
    engine = WalkEngine(graph)
    await warm_up(engine)
    log.info("walk graph loaded", version=graph.version, pins=graph.pins, edges=graph.edges)
    return engine


async def stream_position(services: Services) -> str:
    """Where a snapshot exported now starts in the delta stream. Without Redis: its start,
    so that every delta still in the stream is merged again later (which is harmless)."""
    try:
        return await services.walk_deltas.position()
    except REDIS_ERRORS:
        return START


async def warm_up(engine: WalkEngine) -> None:
    """Compile (or load the cached) kernel before the first real query arrives."""
    if engine.graph.pins:
        pin = walk_graph.id_strings(engine.graph.pin_ids[:1])[0]
        await engine.run(Query(pins={pin: 1.0}, steps=100, top_k=1, seed=1))


def live_walks(services: Services, engine: WalkEngine) -> LiveWalks:
    settings = services.settings
    return LiveWalks(
        engine,
        services.walk_deltas,
        services.graph,
        settings.walks_dir,
        compact_after=settings.walks_compact_after,
        compact_every_s=settings.walks_compact_every_s,
        poll_ms=settings.walks_poll_ms,
        on_event=lambda event, count: services.walk_events(event, count),
    )
