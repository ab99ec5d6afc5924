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
    assert progress[-1][1] == built.stats["edges_in"]  # exported; pruning comes after

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


def _topical_args(pin_topics: list[list[str]], edges: list[tuple[int, int]], boards: int) -> dict:
    # Ids in reverse order of position, so that a pin's position is not its rank in the graph.
    pins = len(pin_topics)
    return {
        "pin_ids": [f"01J000000000000000000P{pins - n:04d}" for n in range(pins)],
        "board_ids": [f"01J000000000000000000B{boards - n:04d}" for n in range(boards)],
        "edge_pins": np.array([p for p, _ in edges], dtype=np.int64),
        "edge_boards": np.array([b for _, b in edges], dtype=np.int64),
        "board_topics": [[] for _ in range(boards)],
        "board_langs": ["en"] * boards,
        "pin_topics": pin_topics,
    }


def test_entropy_pruning_drops_catch_all_boards() -> None:
    # Pins 0-7 are about cats, 8-15 about cups. Board 0 holds the cats, board 1 the cups,
    # board 2 four of each (one bit of entropy), board 3 one pin of each of 8 topics (3 bits).
    topics = [["cats"]] * 8 + [["cups"]] * 8 + [[f"t{n}"] for n in range(8)]
    edges = [(p, 0) for p in range(8)] + [(p, 1) for p in range(8, 16)]
    edges += [(p, 2) for p in (0, 1, 2, 3, 8, 9, 10, 11)] + [(p, 3) for p in range(16, 24)]
    args = _topical_args(topics, edges, 4)
    kept_all = walk_graph.build(**args, max_board_entropy=3.0)
    assert kept_all.stats["dropped_diverse_boards"] == 0
    below_three = walk_graph.build(**args, max_board_entropy=2.0)
    assert below_three.stats["dropped_diverse_boards"] == 1
    assert below_three.linked_boards == 3
    below_one = walk_graph.build(**args, max_board_entropy=0.5)
    assert below_one.linked_boards == 2  # the mixed board goes too
    _, unknown = below_one.pin_index(args["pin_ids"][16:])
    assert len(unknown) == 8  # pins only on the catch-all board are left without a board
    untouched = walk_graph.build(**{**args, "pin_topics": None}, max_board_entropy=0.5)
    assert untouched.edges == len(edges)  # without the pins' topics, nothing is judged


def test_pins_with_many_tags_do_not_make_a_board_diverse() -> None:
    # Board 0: ten pins each tagged with the same five topics. Board 1: five pins of five
    # different topics, one each (log2 5 = 2.3 bits).
    five = ["a", "b", "c", "d", "e"]
    topics = [five] * 10 + [[name] for name in five]
    edges = [(p, 0) for p in range(10)] + [(10 + k, 1) for k in range(5)]
    pruned = walk_graph.build(**_topical_args(topics, edges, 2), max_board_entropy=2.0)
    assert pruned.stats["dropped_diverse_boards"] == 1
    assert pruned.edges == 10


def test_delta_pruning_keeps_a_pins_most_similar_boards() -> None:
    # Pin 0 (cats) is on four cat boards and five cup boards; a board where it is alone says
    # nothing about it, so board 9 (pin 0 only) ranks below the cat boards.
    topics = [["cats"]] + [["cats"]] * 20 + [["cups"]] * 20
    edges = [(0, b) for b in range(10)]
    edges += [(1 + 5 * b + k, b) for b in range(4) for k in range(5)]  # boards 0-3: cats
    edges += [(21 + 4 * (b - 4) + k, b) for b in range(4, 9) for k in range(4)]  # 4-8: cups
    args = _topical_args(topics, edges, 10)
    pruned = walk_graph.build(**args, prune_delta=0.6)  # ceil(10 ** 0.6) = 4
    indices, _ = pruned.pin_index([args["pin_ids"][0]])
    pin = int(indices[0])
    boards = pruned.pin_boards[pruned.pin_ptr[pin] : pruned.pin_ptr[pin + 1]]
    kept = walk_graph.id_strings(pruned.board_ids[boards])
    assert sorted(kept) == sorted(args["board_ids"][:4])
    blind = walk_graph.build(**{**args, "pin_topics": None}, prune_delta=0.6, seed=3)
    assert np.diff(blind.pin_ptr)[pin] == 4  # the same count, chosen at random


def test_degree_power_favours_pins_reached_beyond_their_popularity() -> None:
    # Query pin 0 shares board 0 with pin 1 (on no other board) and pin 2, which is also
    # on ten boards of its own that the walk never reaches from pin 0.
    topics = [["a"]] * 13
    edges = [(0, 0), (1, 0), (2, 0)] + [(2, b) for b in range(1, 11)]
    edges += [(3 + b - 1, b) for b in range(1, 11)]
    args = _topical_args(topics, edges, 11)
    graph = walk_graph.build(**args)
    engine = WalkEngine(graph, threads=1)
    pins = args["pin_ids"]
    plain = engine.run_sync(Query(pins={pins[0]: 1.0}, steps=20_000, seed=1, top_k=2))
    scaled = engine.run_sync(
        Query(pins={pins[0]: 1.0}, steps=20_000, seed=1, top_k=2, degree_power=1.0)
    )
    assert plain.items[0].pin_id == pins[2]  # a hub: reached through its many boards too
    assert scaled.items[0].pin_id == pins[1]
    assert scaled.items[0].score > scaled.items[1].score


def test_an_empty_graph_knows_no_pin() -> None:
    empty = walk_graph.build([], [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                             [], [])  # fmt: skip
    pin = "01J000000000000000000P0000"
    indices, unknown = empty.pin_index([pin, "not-an-id"])
    assert len(indices) == 0
    assert unknown == ["not-an-id", pin]
    result = WalkEngine(empty).run_sync(Query(pins={pin: 1.0}, steps=100, seed=1))
    assert result.items == []
    assert result.unknown_pins == [pin]
