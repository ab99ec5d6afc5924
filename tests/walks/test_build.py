"""Snapshots built from the graph store: public saves only, features, pruning, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from graph.model import Privacy
from graph.repos import Repositories
from tests.utils.factories import make_board, make_pin, make_user
from walks import graph as walk_graph
from walks.build import build_and_save, build_from_store
from walks.engine import Query, WalkEngine


async def test_snapshot_holds_public_saves_only(repos: Repositories, tmp_path: Path) -> None:
    owner = await make_user(repos, lang="de")
    public = await make_board(repos, owner, topics=["Gardens"])
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    shared = await make_pin(repos, owner, public)
    only_secret = await make_pin(repos, owner, secret)
    await repos.pins.save(owner.id, shared.id, secret.id)
    progress: list[tuple[int, int]] = []
    built = await build_from_store(
        repos.backend, batch=3, progress=lambda b, e: progress.append((b, e))
    )
    indices, unknown = built.pin_index([shared.id, only_secret.id])
    assert unknown == [only_secret.id]  # saved only to a secret board: not in the walk graph
    pin = int(indices[0])
    boards = built.pin_boards[built.pin_ptr[pin] : built.pin_ptr[pin + 1]]
    assert walk_graph.id_strings(built.board_ids[boards]) == [public.id]
    board = int(boards[0])
    assert built.board_topics[board] & np.uint64(built.topic_mask(["gardens"]))
    assert built.langs[built.board_lang[board]] == "de"
    assert progress
    assert progress[-1][1] == built.edges

    path = await build_and_save(repos.backend, tmp_path)
    loaded = walk_graph.load(path)
    assert walk_graph.newest(tmp_path) == path
    assert loaded.edges == built.edges
    assert isinstance(loaded.pin_boards, np.memmap)
    result = WalkEngine(loaded).run_sync(Query(pins={shared.id: 1.0}, steps=5000, seed=1))
    assert only_secret.id not in {h.pin_id for h in result.items}


def test_pruning() -> None:
    pins = [f"01J000000000000000000P{n:04d}" for n in range(60)]
    boards = [f"01J000000000000000000B{n:04d}" for n in range(3)]
    # Board 0 holds every pin (a catch-all); boards 1 and 2 hold ten each.
    edges = [(p, 0) for p in range(60)] + [(p, 1) for p in range(10)] + [(p, 2) for p in range(10)]
    args = (
        pins, boards,
        np.array([p for p, _ in edges], dtype=np.int64),
        np.array([b for _, b in edges], dtype=np.int64),
        [[], [], []], ["en"] * 3,
    )  # fmt: skip
    full = walk_graph.build(*args)
    assert full.edges == 80
    capped = walk_graph.build(*args, max_board_degree=20)
    assert capped.edges == 20
    assert capped.stats["dropped_boards"] == 1
    pruned = walk_graph.build(*args, prune_delta=0.5)
    degrees = np.diff(pruned.pin_ptr)
    assert degrees.min() >= 1  # every pin keeps a board
    assert degrees.max() == 2  # ceil(3 ** 0.5)
    assert pruned.edges < full.edges
