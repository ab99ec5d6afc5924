"""Where a user's feed walk starts: their history, or for a newcomer trending pins."""

from __future__ import annotations

import numpy as np
from ulid import ULID

from graph.repos.feed import Signals
from graph.repos.trending import Ranking
from walks import graph as walk_graph
from walks.engine import Query
from walks.graph import WalkGraph
from walks.personal import feed_query, newcomer_pins, popular_pins

NOBODY = Signals([], [], [])


def graph_of(edges: list[tuple[str, str]]) -> WalkGraph:
    pins = sorted({pin for pin, _ in edges})
    boards = sorted({board for _, board in edges})
    return walk_graph.build(
        pins, boards,
        np.array([pins.index(pin) for pin, _ in edges], dtype=np.int64),
        np.array([boards.index(board) for _, board in edges], dtype=np.int64),
        [[] for _ in boards], ["en" for _ in boards],
    )  # fmt: skip


PINS = sorted(str(ULID()) for _ in range(5))
BOARDS = sorted(str(ULID()) for _ in range(3))
# PINS[0] is on every board (the most saved); PINS[4] is on none (unknown to the walks).
GRAPH = graph_of(
    [(PINS[0], board) for board in BOARDS] + [(PINS[i], BOARDS[i - 1]) for i in (1, 2, 3)]
)
TRENDING = Ranking(
    computed_at=1,
    anchor=1,
    pins=[(PINS[4], 9.0), (PINS[3], 5.0), (PINS[2], 4.0)],
    topics={"cats": [(PINS[2], 4.0)], "dogs": [(PINS[4], 9.0)]},
)


def test_a_newcomer_starts_from_trending_pins_the_walks_know() -> None:
    assert newcomer_pins(NOBODY, GRAPH, TRENDING) == [PINS[3], PINS[2]]
    cat_lover = Signals([], [], ["cats"])
    assert newcomer_pins(cat_lover, GRAPH, TRENDING) == [PINS[2]]
    # Topics without trending pins the walks know: trending overall.
    for topics in (["dogs"], ["birds"]):
        assert newcomer_pins(Signals([], [], topics), GRAPH, TRENDING) == [PINS[3], PINS[2]]


def test_without_trending_pins_a_newcomer_starts_from_the_most_saved() -> None:
    popular = popular_pins(GRAPH)
    assert popular[0] == PINS[0]
    nothing_known = Ranking(1, 1, pins=[(PINS[4], 1.0)])
    for trending in (None, Ranking(1, None), nothing_known):
        assert newcomer_pins(NOBODY, GRAPH, trending) == popular
    empty = graph_of([])
    assert newcomer_pins(NOBODY, empty, TRENDING) == []


def test_feed_query_walks_from_history_or_newcomer_pins() -> None:
    base = Query(pins={}, steps=1000, top_k=30, seed=7, exclude=[PINS[1]])
    newcomer = feed_query(NOBODY, GRAPH, base, TRENDING)
    assert newcomer.pins == {PINS[3]: 1.0, PINS[2]: 1.0}
    assert newcomer.keep_query_pins
    assert (newcomer.steps, newcomer.top_k, newcomer.seed) == (1000, 30, 7)
    assert newcomer.exclude == [PINS[1]]

    saver = Signals([(PINS[1], 1_000)], [(PINS[2], "HIDE", 1_000)], ["cats"])
    walked = feed_query(saver, GRAPH, base, TRENDING)
    assert list(walked.pins) == [PINS[1]]  # their history, not trending
    assert not walked.keep_query_pins
    assert walked.topics == ["cats"]
    assert set(walked.exclude) == {PINS[1], PINS[2]}
