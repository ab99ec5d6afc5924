"""A running server swaps in a newer snapshot between queries, without a pause."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from server import walk_snapshots
from walks import graph as walk_graph
from walks.engine import Query, WalkEngine
from walks.graph import WalkGraph

PINS = [f"01J000000000000000000P{n:04d}" for n in range(20)]
BOARDS = [f"01J000000000000000000B{n:04d}" for n in range(4)]


def snapshot(edges: int) -> WalkGraph:
    pins = np.arange(edges) % len(PINS)
    boards = np.arange(edges) % len(BOARDS)
    return walk_graph.build(PINS, BOARDS, pins, boards, [[]] * 4, ["en"] * 4)


async def test_watch_swaps_in_newer_snapshots(tmp_path: Path) -> None:
    directory = tmp_path / "walks"
    first = walk_graph.load(walk_graph.save(snapshot(20), directory))
    engine = WalkEngine(first)
    services = SimpleNamespace(settings=SimpleNamespace(walks_dir=directory), walks=engine)
    watcher = asyncio.create_task(walk_snapshots.watch(services, interval_s=0.05))  # type: ignore[arg-type]
    try:
        newer = walk_graph.save(snapshot(40), directory)
        for _ in range(100):
            result = await engine.run(Query(pins={PINS[0]: 1.0}, steps=500, seed=1))
            if result.graph_version == newer.name:
                break
            await asyncio.sleep(0.02)
        assert engine.graph.version == newer.name
        assert engine.graph.edges == 40
    finally:
        watcher.cancel()
    walk_graph.save(snapshot(30), directory)
    walk_graph.prune_old(directory, keep=2)
    assert len([p for p in directory.iterdir() if (p / "meta.json").exists()]) == 2
