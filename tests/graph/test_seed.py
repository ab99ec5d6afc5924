from collections import Counter

import pytest

from graph.demo.seed import Sizes, generate


def test_same_seed_same_graph() -> None:
    a, b = generate(Sizes.small(), seed=3), generate(Sizes.small(), seed=3)
    assert a.users == b.users
    assert a.saves == b.saves
    assert generate(Sizes.small(), seed=4).saves != a.saves


def test_sizes_and_integrity() -> None:
    graph = generate(Sizes(users=300, pins=3_000, saves=12_000))
    assert len(graph.users) == 300
    assert len(graph.pins) == 3_000
    assert len(graph.saves) == 12_000
    pairs = [(s["pin"], s["board"]) for s in graph.saves]
    assert len(set(pairs)) == len(pairs), "at most one save per pin and board"
    handles = [u["handle"] for u in graph.users]
    assert len(set(handles)) == len(handles)
    assert handles[0] == "demo"
    board_ids = {b["id"] for b in graph.boards}
    assert {s["board"] for s in graph.saves} <= board_ids


def test_degrees_are_heavy_tailed() -> None:
    graph = generate(Sizes(users=500, pins=5_000, saves=30_000))
    pin_degree = sorted(Counter(s["pin"] for s in graph.saves).values(), reverse=True)
    board_size = sorted(Counter(s["board"] for s in graph.saves).values(), reverse=True)
    # The top 1% of pins and boards hold far more than 1% of the saves.
    assert sum(pin_degree[: len(pin_degree) // 100]) > 0.08 * len(graph.saves)
    assert sum(board_size[: len(board_size) // 100]) > 0.08 * len(graph.saves)


def test_refuses_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="saves >= pins"):
        generate(Sizes(users=10, pins=100, saves=50))
