"""Walk snapshots for a running server: load the newest (building one when there is none),
and swap in newer ones as `pingraph walks build` writes them, without a pause."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from server.services import Services
from walks import graph as walk_graph
from walks.build import build_and_save
from walks.engine import Query, WalkEngine

log = structlog.get_logger(__name__)
WATCH_INTERVAL_S = 15.0


async def load_or_build(
    services: Services, progress: Callable[[int, int], None] | None = None
) -> WalkEngine:
    directory = services.settings.walks_dir
    path = walk_graph.newest(directory)
    if path is None:
        path = await build_and_save(services.graph, directory, progress=progress)
    graph = await asyncio.to_thread(walk_graph.load, path)
    engine = WalkEngine(graph)
    await warm_up(engine)
    log.info("walk graph loaded", version=graph.version, pins=graph.pins, edges=graph.edges)
    return engine


async def warm_up(engine: WalkEngine) -> None:
    """Compile (or load the cached) kernel before the first real query arrives."""
    if engine.graph.pins:
        pin = walk_graph.id_strings(engine.graph.pin_ids[:1])[0]
        await engine.run(Query(pins={pin: 1.0}, steps=100, top_k=1, seed=1))


async def watch(services: Services, interval_s: float = WATCH_INTERVAL_S) -> None:
    """Swap in newer snapshots until cancelled."""
    directory = services.settings.walks_dir
    while True:
        await asyncio.sleep(interval_s)
        engine = services.walks
        path = walk_graph.newest(directory)
        if engine is None or path is None or path.name <= engine.graph.version:
            continue
        try:
            graph = await asyncio.to_thread(walk_graph.load, path)
        except (OSError, ValueError) as error:
            log.warning("walk snapshot not loaded", path=str(path), error=str(error))
            continue
        engine.swap(graph)
        log.info("walk graph swapped", version=graph.version, edges=graph.edges)
