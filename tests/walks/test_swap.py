"""A running server swaps in a newer snapshot between queries, without a pause."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import numpy as np

from server.services import Services
from walks import graph as walk_graph
from walks.engine import Query, WalkEngine
from walks.graph import WalkGraph
from walks.live import LiveWalks

PINS = [f"01J000000000000000000P{n:04d}" for n in range(20)]
BOARDS = [f"01J000000000000000000B{n:04d}" for n in range(4)]


def snapshot(edges: int, stream_id: str) -> WalkGraph:
    pins = np.arange(edges) % len(PINS)
    boards = np.arange(edges) % len(BOARDS)
    built = walk_graph.build(PINS, BOARDS, pins, boards, [[]] * 4, ["en"] * 4)
    return replace(built, stream_id=stream_id)


async def test_newer_snapshots_are_swapped_in_while_queries_run(
    services: Services, tmp_path: Path
) -> None:
    directory = tmp_path / "walks"
    position = await services.walk_deltas.position()
    first = walk_graph.load(walk_graph.save(snapshot(20, position), directory))
    engine = WalkEngine(first)
    live = LiveWalks(
        engine, services.walk_deltas, services.graph, directory, snapshot_check_s=0.05,
        poll_ms=20,
    )  # fmt: skip
    follower = asyncio.create_task(live.run())
    try:
        newer = walk_graph.save(snapshot(40, position), directory)
        for _ in range(100):
            result = await engine.run(Query(pins={PINS[0]: 1.0}, steps=500, seed=1))
            if result.graph_version == newer.name:
                break
            await asyncio.sleep(0.02)
        assert engine.graph.version == newer.name
        assert engine.graph.edges == 40
    finally:
        follower.cancel()
    walk_graph.save(snapshot(30, position), directory)
    walk_graph.prune_old(directory, keep=2)
    assert len([p for p in directory.iterdir() if (p / "meta.json").exists()]) == 2
