"""Merging live deltas gives exactly the graph a fresh build of the same edges would give."""

from __future__ import annotations

import random

import numpy as np
import pytest
from ulid import ULID

from walks import graph as walk_graph
from walks.engine import Query, WalkEngine
from walks.export import BoardRow
from walks.graph import WalkGraph, id_strings
from walks.overlay import BOARD, DROP_PIN, SAVE, UNSAVE, Delta, fold, merge


def ulids(count: int, rng: random.Random) -> list[str]:
    return sorted(str(ULID.from_bytes(rng.randbytes(16))) for _ in range(count))


def built(edges: set[tuple[str, str]], langs: dict[str, str] | None = None) -> WalkGraph:
    pins = sorted({pin for pin, _ in edges})
    boards = sorted({board for _, board in edges})
    pin_at = {pin: i for i, pin in enumerate(pins)}
    board_at = {board: i for i, board in enumerate(boards)}
    ordered = sorted(edges)
    return walk_graph.build(
        pins, boards,
        np.array([pin_at[p] for p, _ in ordered], dtype=np.int64),
        np.array([board_at[b] for _, b in ordered], dtype=np.int64),
        [["cats"] if i % 2 else [] for i in range(len(boards))],
        [(langs or {}).get(board, "en") for board in boards],
    )  # fmt: skip


def edge_set(graph: WalkGraph) -> set[tuple[str, str]]:
    """Edges read both ways; the two directions must agree."""
    pins, boards = id_strings(graph.pin_ids), id_strings(graph.board_ids)
    forward = {
        (pins[p], boards[b])
        for p in range(graph.pins)
        for b in graph.pin_boards[graph.pin_ptr[p] : graph.pin_ptr[p + 1]]
    }
    backward = {
        (pins[p], boards[b])
        for b in range(graph.boards)
        for p in graph.board_pins[graph.board_ptr[b] : graph.board_ptr[b + 1]]
    }
    assert forward == backward
    assert len(forward) == graph.edges  # no duplicate edges
    return forward


@pytest.mark.parametrize("seed", range(8))
def test_random_batches_match_a_fresh_build(seed: int) -> None:
    rng = random.Random(seed)
    pins, boards = ulids(60, rng), ulids(12, rng)
    edges = {(rng.choice(pins), rng.choice(boards)) for _ in range(200)}
    graph = built(edges)
    truth_edges = set(edges)
    for _ in range(6):
        deltas = []
        for _ in range(rng.randrange(1, 25)):
            pin, board = rng.choice(pins), rng.choice(boards)
            roll = rng.random()
            if roll < 0.5:
                deltas.append(Delta(SAVE, pin, board))
            elif roll < 0.8:
                deltas.append(Delta(UNSAVE, pin, board))
            elif roll < 0.9:
                deltas.append(Delta(DROP_PIN, pin))
            else:
                deltas.append(Delta(BOARD, board=board))
        if rng.random() < 0.7:
            # New ids sorting last (the usual case), or in between the old ones (indices move).
            first = b"\xff" if rng.random() < 0.5 else b""
            pins.append(str(ULID.from_bytes((first + rng.randbytes(16))[:16])))
            boards.append(str(ULID.from_bytes((first + rng.randbytes(16))[:16])))
            deltas.append(Delta(SAVE, pins[-1], boards[-1]))
            deltas.append(Delta(SAVE, pins[-1], rng.choice(boards)))
        folded = fold(deltas)
        for delta in deltas:  # what the store holds after the batch
            if delta.op == SAVE:
                truth_edges.add((delta.pin, delta.board))
            elif delta.op == UNSAVE:
                truth_edges.discard((delta.pin, delta.board))
            elif delta.op == DROP_PIN:
                truth_edges = {e for e in truth_edges if e[0] != delta.pin}
        truth_edges = {e for e in truth_edges if e[0] not in folded.dropped_pins}
        truth = {
            board: BoardRow(board, "en", [], sorted(p for p, b in truth_edges if b == board))
            for board in folded.boards_to_read(graph)
        }
        graph = merge(graph, folded, truth, len(deltas))
        assert edge_set(graph) == truth_edges
        assert list(graph.pin_ids) == sorted(graph.pin_ids)
        assert list(graph.board_ids) == sorted(graph.board_ids)
    assert graph.deltas > 0
    assert graph.revision == f"{graph.version}+{graph.deltas}"


def test_secret_or_deleted_boards_leave_and_new_boards_bring_their_features() -> None:
    rng = random.Random(1)
    pins, boards = ulids(4, rng), ulids(3, rng)
    graph = built({(pins[0], boards[0]), (pins[1], boards[0]), (pins[1], boards[1])})
    fresh = str(ULID())
    secret = str(ULID())
    folded = fold([
        Delta(BOARD, board=boards[0]),  # made secret: the store no longer lists it
        Delta(SAVE, pins[2], fresh),
        Delta(SAVE, pins[3], secret),
    ])  # fmt: skip
    truth = {fresh: BoardRow(fresh, "de", ["cats"], [pins[2], pins[0]])}
    merged = merge(graph, folded, truth, 3)
    assert edge_set(merged) == {(pins[1], boards[1]), (pins[2], fresh), (pins[0], fresh)}
    at = int(np.flatnonzero(merged.board_ids == ULID.from_str(fresh).bytes)[0])
    assert merged.langs[merged.board_lang[at]] == "de"
    assert merged.board_topics[at] == merged.topic_mask(["cats"])
    assert secret not in id_strings(merged.board_ids)


def test_walks_reach_a_pin_only_after_its_save_is_merged() -> None:
    rng = random.Random(2)
    pins, boards = ulids(3, rng), ulids(2, rng)
    graph = built({(pins[0], boards[0]), (pins[1], boards[0]), (pins[2], boards[1])})
    engine = WalkEngine(graph, threads=1)
    query = Query(pins={pins[0]: 1.0}, steps=2000, seed=3)
    assert {hit.pin_id for hit in engine.run_sync(query).items} == {pins[1]}
    engine.swap(merge(graph, fold([Delta(SAVE, pins[2], boards[0])]), {}, 1))
    result = engine.run_sync(query)
    assert {hit.pin_id for hit in result.items} == {pins[1], pins[2]}
    assert result.graph_version == f"{graph.version}+1"


def test_a_save_to_a_board_that_left_is_checked_again() -> None:
    """A board made secret keeps an empty row until the next snapshot; a later save to it
    must not count as a save to a public board (a review found such pins reachable)."""
    rng = random.Random(3)
    p1, p2, hidden = ulids(3, rng)
    b1, b2 = ulids(2, rng)
    graph = built({(p1, b1), (p2, b2), (p1, b2)})
    secret = merge(graph, fold([Delta(BOARD, board=b2)]), {}, 1)  # the store: not public
    assert edge_set(secret) == {(p1, b1)}
    folded = fold([Delta(SAVE, hidden, b2)])
    assert folded.boards_to_read(secret) == {b2}  # asked again, though its id is known
    later = merge(secret, folded, {}, 1)  # still secret
    assert edge_set(later) == {(p1, b1)}
    assert later.pin_index([hidden])[1] == [hidden]  # unknown to walks
    public_again = merge(secret, folded, {b2: BoardRow(b2, "en", [], [hidden, p2])}, 1)
    assert edge_set(public_again) == {(p1, b1), (hidden, b2), (p2, b2)}
