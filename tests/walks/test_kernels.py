"""The numba kernel against its plain-Python reference, and the walk's statistical claims."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from walks import graph as walk_graph
from walks.engine import Query, WalkEngine
from walks.graph import WalkGraph
from walks.kernels import walk_counts, walk_counts_reference

ULID_BASE = "01J000000000000000000"


def ulid(kind: str, number: int) -> str:
    """A valid ULID per (kind, number): 'P' pins, 'B' boards."""
    return f"{ULID_BASE}{'P' if kind == 'pin' else 'B'}{number:04d}"


def make_graph(
    edges: list[tuple[int, int]], topics: dict[int, list[str]] | None = None
) -> WalkGraph:
    pins = sorted({p for p, _ in edges})
    boards = sorted({b for _, b in edges})
    pin_pos = {p: i for i, p in enumerate(pins)}
    board_pos = {b: i for i, b in enumerate(boards)}
    return walk_graph.build(
        [ulid("pin", p) for p in pins],
        [ulid("board", b) for b in boards],
        np.array([pin_pos[p] for p, _ in edges], dtype=np.int64),
        np.array([board_pos[b] for _, b in edges], dtype=np.int64),
        [(topics or {}).get(b, []) for b in boards],
        ["en"] * len(boards),
    )


def random_graph(seed: int, pins: int = 400, boards: int = 80, edges: int = 3000) -> WalkGraph:
    rng = np.random.default_rng(seed)
    pairs = {(int(p), int(b)) for p, b in zip(
        rng.zipf(1.6, edges) % pins, rng.integers(0, boards, edges), strict=True)}  # fmt: skip
    topics = {b: [f"t{b % 5}"] for b in range(boards)}
    return make_graph(sorted(pairs), topics)


def run(kernel, graph: WalkGraph, queries: list[int], steps: list[int], **options):  # type: ignore[no-untyped-def]
    settings = {"restart": 0.5, "seed": 11, "topic_mask": 0, "lang": -1, "bias_tries": 1,
                "early_np": 0, "early_nv": 0, **options}  # fmt: skip
    counts = np.zeros(graph.pins, np.int32)
    boost = np.zeros(graph.pins)
    visits = np.zeros(graph.pins, np.int32)
    touched = np.zeros(2 * graph.pins, np.int32)
    n, taken, stopped = kernel(
        graph.pin_ptr, graph.pin_boards, graph.board_ptr, graph.board_pins, graph.board_topics,
        graph.board_lang, np.array(queries, np.int32), np.array(steps, np.int64),
        settings["restart"], settings["seed"], settings["topic_mask"], settings["lang"],
        settings["bias_tries"], settings["early_np"], settings["early_nv"],
        counts, boost, visits, touched,
    )  # fmt: skip
    assert not counts.any(), "the kernel must leave its counters at zero"
    return n, taken, stopped, touched[:n].tolist(), boost, visits


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"restart": 0.1, "seed": 3},
        {"topic_mask": 0b101, "bias_tries": 4},
        {"lang": 0, "topic_mask": 1, "bias_tries": 3},
        {"early_np": 15, "early_nv": 3},
    ],
    ids=["plain", "long-walks", "topic-bias", "lang-bias", "early-stop"],
)
@pytest.mark.parametrize("graph_seed", [1, 2])
def test_numba_and_reference_agree_exactly(graph_seed: int, options: dict[str, int]) -> None:
    graph = random_graph(graph_seed)
    queries, steps = [0, 5, 17], [3000, 1500, 701]
    fast = run(walk_counts, graph, queries, steps, **options)
    slow = run(walk_counts_reference, graph, queries, steps, **options)
    assert fast[:4] == slow[:4]
    np.testing.assert_allclose(fast[4], slow[4])
    np.testing.assert_array_equal(fast[5], slow[5])
    assert fast[1] <= sum(steps)


def test_same_seed_same_answer_and_other_seed_differs() -> None:
    engine = WalkEngine(random_graph(4))
    pin = walk_graph.id_strings(engine.graph.pin_ids[:1])[0]
    first = engine.run_sync(Query(pins={pin: 1.0}, steps=20_000, seed=5))
    again = engine.run_sync(Query(pins={pin: 1.0}, steps=20_000, seed=5))
    other = engine.run_sync(Query(pins={pin: 1.0}, steps=20_000, seed=6))
    assert first.items == again.items
    assert [h.visits for h in first.items] != [h.visits for h in other.items]


def test_top20_agrees_with_personalized_pagerank() -> None:
    """Hypothesis: on a small random bipartite graph, the walk's top 20 pins (a million steps,
    restart 0.5 per pin-board-pin hop) share at least 14 with networkx's personalised
    PageRank on the same graph, whose damping sqrt(0.5) per edge gives the same restart
    rate per hop. Seeded, so it is deterministic."""
    graph = random_graph(7, pins=300, boards=60, edges=2500)
    bipartite = nx.Graph()
    for pin in range(graph.pins):
        for board in graph.pin_boards[graph.pin_ptr[pin] : graph.pin_ptr[pin + 1]]:
            bipartite.add_edge(("p", pin), ("b", int(board)))
    query = int(np.argmax(np.diff(graph.pin_ptr) == 3))  # an ordinary pin
    ranks = nx.pagerank(bipartite, alpha=math.sqrt(0.5), personalization={("p", query): 1})
    ppr = [node[1] for node, _ in sorted(ranks.items(), key=lambda kv: -kv[1])
           if node[0] == "p" and node[1] != query][:20]  # fmt: skip
    engine = WalkEngine(graph)
    pin_id = walk_graph.id_strings(graph.pin_ids[[query]])[0]
    result = engine.run_sync(Query(pins={pin_id: 1.0}, steps=1_000_000, top_k=20, seed=1))
    walk = set(graph.pin_index([h.pin_id for h in result.items])[0].tolist())
    assert len(walk & set(ppr)) >= 14


def test_boosting_favours_pins_reached_from_several_query_pins() -> None:
    # q1 (pin 1) is on boards 10 {q1, B} and 11 {q1, B, A}; q2 (pin 2) on board 12 {q2, A, C, D}.
    # B is reached more often in all, but only from q1; A from both, so boosting ranks it first.
    edges = [(1, 10), (5, 10), (1, 11), (5, 11), (4, 11), (2, 12), (4, 12), (6, 12), (7, 12)]
    graph = make_graph(edges)
    engine = WalkEngine(graph)
    a, b = ulid("pin", 4), ulid("pin", 5)
    result = engine.run_sync(
        Query(pins={ulid("pin", 1): 1.0, ulid("pin", 2): 1.0}, steps=400_000, seed=3)
    )
    hits = {h.pin_id: h for h in result.items}
    assert hits[b].visits > hits[a].visits
    assert hits[a].score > hits[b].score
    assert result.items[0].pin_id == a


def test_early_stopping_stops_and_keeps_the_top() -> None:
    engine = WalkEngine(random_graph(9, pins=2000, boards=300, edges=20_000))
    pin = walk_graph.id_strings(engine.graph.pin_ids[:1])[0]
    full = engine.run_sync(Query(pins={pin: 1.0}, steps=200_000, top_k=10, seed=2))
    early = engine.run_sync(
        Query(pins={pin: 1.0}, steps=200_000, top_k=10, seed=2, early_np=200, early_nv=4)
    )
    assert early.stopped_early
    assert not full.stopped_early
    assert early.steps_taken < full.steps_taken / 2
    overlap = {h.pin_id for h in full.items} & {h.pin_id for h in early.items}
    assert len(overlap) >= 6


def test_bias_raises_the_share_of_target_topic_results() -> None:
    """Like Pixie's Table 3: a topic bias moves results towards boards about that topic."""
    rng = np.random.default_rng(5)
    edges = set()
    for board in range(200):
        for pin in rng.choice(1500, size=20, replace=False):
            edges.add((int(pin), board))
    topics = {b: ["gardening" if b % 4 == 0 else "cars"] for b in range(200)}
    graph = make_graph(sorted(edges), topics)
    engine = WalkEngine(graph)
    gardening = {
        int(p)
        for b in range(graph.boards)
        if graph.board_topics[b] & np.uint64(graph.topic_mask(["gardening"]))
        for p in graph.board_pins[graph.board_ptr[b] : graph.board_ptr[b + 1]]
    }

    def share(result_topics: list[str]) -> float:
        pins = {ulid("pin", p): 1.0 for p in range(0, 1500, 150)}
        result = engine.run_sync(
            Query(pins=pins, steps=300_000, top_k=100, seed=8, topics=result_topics)
        )
        found = graph.pin_index([h.pin_id for h in result.items])[0]
        return float(np.mean([int(p) in gardening for p in found]))

    plain, biased = share([]), share(["gardening"])
    assert biased > plain + 0.2, (plain, biased)


def test_unknown_and_excluded_pins() -> None:
    engine = WalkEngine(random_graph(3))
    ids = walk_graph.id_strings(engine.graph.pin_ids[:3])
    result = engine.run_sync(
        Query(
            pins={ids[0]: 1.0, "nonsense": 1.0, ulid("pin", 999): 1.0},
            exclude=[ids[1]],
            steps=20_000,
            seed=1,
        )
    )
    assert set(result.unknown_pins) == {"nonsense", ulid("pin", 999)}
    returned = {h.pin_id for h in result.items}
    assert ids[0] not in returned  # the query pin itself
    assert ids[1] not in returned
