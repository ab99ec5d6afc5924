"""Walk graphs for a running server: load the newest snapshot (the newest published one,
downloaded, when snapshots are shared through the image store; building one when there is
none), then keep it current with live deltas and newer snapshots (`walks/live.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import structlog

from cache.errors import REDIS_ERRORS
from graph.backends.base import GraphBackend
from walks import graph as walk_graph
from walks.build import build_and_save
from walks.deltas import START, DeltaLog
from walks.engine import Query, WalkEngine
from walks.publish import PublishedSnapshots

log = structlog.get_logger(__name__)


async def load_or_build(
    backend: GraphBackend,
    deltas: DeltaLog,
    directory: Path,
    progress: Callable[[int, int], None] | None = None,
    shelf: PublishedSnapshots | None = None,
) -> WalkEngine:
    """The engine on the newest snapshot. With a `shelf`, a published snapshot newer than
    the local ones is downloaded first (a failed download is logged, and the local newest,
    or a build, is used instead), and a snapshot built here is published."""
    if shelf is not None:
        local = walk_graph.newest(directory)
        await shelf.try_pull(newer_than=local.name if local else "")
    path = walk_graph.newest(directory)
    if path is None:
        position = await stream_position(deltas)
        path = await build_and_save(backend, directory, stream_id=position, progress=progress)
        if shelf is not None:
            await shelf.try_publish(path)
    graph = await asyncio.to_thread(walk_graph.load, path)
    engine = WalkEngine(graph)
    await warm_up(engine)
    log.info("walk graph loaded", version=graph.version, pins=graph.pins, edges=graph.edges)
    return engine


async def stream_position(deltas: DeltaLog) -> str:
    """Where a snapshot exported now starts in the delta stream. Without Redis: its start,
    so that every delta still in the stream is merged again later (which is harmless)."""
    try:
        return await deltas.position()
    except REDIS_ERRORS:
        return START


async def warm_up(engine: WalkEngine) -> None:
    """Compile (or load the cached) kernel before the first real query arrives."""
    if engine.graph.pins:
        pin = walk_graph.id_strings(engine.graph.pin_ids[:1])[0]
        await engine.run(Query(pins={pin: 1.0}, steps=100, top_k=1, seed=1))
