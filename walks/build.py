"""Build a walk snapshot from the graph store (either backend): stream, index, prune, save."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from graph.backends.base import GraphBackend
from walks import graph as walk_graph
from walks.export import pin_topics, public_boards
from walks.graph import WalkGraph

DEFAULT_MAX_BOARD_DEGREE = 50_000
# Chosen on planted-topic graphs (bench/quality.py, docs/walks.md#quality): of the settings
# measured, the best worst case over three popularity buckets, with 10% and with 25%
# off-topic saves.
DEFAULT_MAX_BOARD_ENTROPY = 2.5
DEFAULT_PRUNE_DELTA = 0.8


async def build_from_store(
    backend: GraphBackend,
    *,
    max_board_degree: int | None = DEFAULT_MAX_BOARD_DEGREE,
    max_board_entropy: float | None = DEFAULT_MAX_BOARD_ENTROPY,
    prune_delta: float | None = DEFAULT_PRUNE_DELTA,
    batch: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> WalkGraph:
    """The walk graph of every public save, pruned by the pins' topics (walks/graph.py).
    `progress(boards, edges)` as batches arrive."""
    started = time.perf_counter()
    pin_index: dict[str, int] = {}
    board_ids: list[str] = []
    board_topics: list[list[str]] = []
    board_langs: list[str] = []
    edge_pins: list[int] = []
    edge_boards: list[int] = []
    async for row in public_boards(backend, batch=batch):
        board = len(board_ids)
        board_ids.append(row.board)
        board_topics.append(row.topics)
        board_langs.append(row.lang)
        for pin in row.pins:
            edge_pins.append(pin_index.setdefault(pin, len(pin_index)))
            edge_boards.append(board)
        if progress and board % batch == batch - 1:
            progress(len(board_ids), len(edge_pins))
    if progress:
        progress(len(board_ids), len(edge_pins))
    pins = list(pin_index)
    topics = None
    if max_board_entropy is not None or prune_delta is not None:
        found = await pin_topics(backend, pins)
        topics = [found.get(pin, []) for pin in pins]
    built = await asyncio.to_thread(  # seconds of numpy for large graphs: off the event loop
        walk_graph.build,
        pins,
        board_ids,
        np.array(edge_pins, dtype=np.int64),
        np.array(edge_boards, dtype=np.int64),
        board_topics,
        board_langs,
        pin_topics=topics,
        max_board_degree=max_board_degree,
        max_board_entropy=max_board_entropy,
        prune_delta=prune_delta,
    )
    built.stats["export_s"] = round(time.perf_counter() - started - built.stats["build_s"], 3)
    return built


async def build_and_save(
    backend: GraphBackend, directory: Path, *, stream_id: str = "0-0", **options: object
) -> Path:
    """Build and save a snapshot. `stream_id` is the delta stream's newest entry, read
    before the export started: every change up to it is in the store already."""
    built = await build_from_store(backend, **options)  # type: ignore[arg-type]
    path = walk_graph.save(replace(built, stream_id=stream_id), directory)
    walk_graph.prune_old(directory)
    return path
