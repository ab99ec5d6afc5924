"""What a walk answer means: scores and visits, topic names, and the graph version asked for."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.errors import Conflict
from tests.walks.test_kernels import make_graph, random_graph, ulid
from walks.engine import Query, WalkEngine
from walks.graph import WalkGraph


@pytest.fixture
def topical() -> WalkGraph:
    """Pin 0 on a ceramics board (with pins 1-3) and a cars board (with pins 4-6)."""
    edges = [(p, 0) for p in (0, 1, 2, 3)] + [(p, 1) for p in (0, 4, 5, 6)]
    edges += [(1, 2), (2, 2), (4, 3), (5, 3)]
    topics = {0: ["ceramics"], 1: ["cars"], 2: ["ceramics", "home decor"], 3: ["cars"]}
    return make_graph(edges, topics)


def test_topic_names_match_as_graphql_topic_does(topical: WalkGraph) -> None:
    mask, unknown = topical.topic_bias(["Ceramics", "  HOME   decor ", "zzz_no_such_topic", "<b>"])
    assert mask == topical.topic_mask(["ceramics", "home decor"])
    assert unknown == ["zzz_no_such_topic", "<b>"]  # as sent


def test_a_topic_bias_ignores_case_and_reports_unknown_names(topical: WalkGraph) -> None:
    engine = WalkEngine(topical, threads=1)

    def walk(*topics: str) -> tuple[dict[str, int], list[str]]:
        query = Query(pins={ulid("pin", 0): 1.0}, steps=20_000, seed=3, topics=list(topics))
        result = engine.run_sync(query)
        return {hit.pin_id: hit.visits for hit in result.items}, result.unknown_topics

    plain, _ = walk()
    lower, none_unknown = walk("ceramics")
    assert walk("Ceramics") == walk(" CERAMICS ") == (lower, none_unknown) == (lower, [])
    ceramics = sum(lower[ulid("pin", p)] for p in (1, 2, 3))
    cars = sum(lower[ulid("pin", p)] for p in (4, 5, 6))
    assert ceramics > 3 * cars  # the bias does steer
    assert walk("zzz_no_such_topic") == (plain, ["zzz_no_such_topic"])  # and nothing else
    assert walk("Ceramics", "zzz") == (lower, ["zzz"])
    engine.close()


def test_scores_are_boosted_visits_that_grow_with_steps_not_weights() -> None:
    graph = random_graph(4)
    engine = WalkEngine(graph, threads=1)
    a, b = ulid("pin", 1), ulid("pin", 2)
    assert not graph.pin_index([a, b])[1]

    def walk(pins: dict[str, float], steps: int = 50_000) -> dict[str, tuple[float, int]]:
        result = engine.run_sync(Query(pins=pins, steps=steps, top_k=1000, seed=9))
        return {hit.pin_id: (hit.score, hit.visits) for hit in result.items}

    single = walk({a: 1.0})
    assert all(score == visits for score, visits in single.values())  # one query pin
    pair = walk({a: 2.0, b: 1.0})
    assert all(visits <= score <= 2 * visits for score, visits in pair.values())
    assert walk({a: 20.0, b: 10.0}) == pair  # only the weights' ratio counts
    best = max(single, key=lambda pin: single[pin][0])
    tenfold = walk({a: 1.0}, steps=500_000)[best][0] / single[best][0]
    assert 5 < tenfold < 20  # about linear in the steps
    engine.close()


def test_a_graph_version_other_than_the_walked_one_is_a_conflict() -> None:
    first = random_graph(5)
    engine = WalkEngine(first, threads=1)
    pin = ulid("pin", 1)
    asked = Query(pins={pin: 1.0}, steps=1000, seed=1, graph_version=first.revision)
    assert engine.run_sync(asked).graph_version == first.revision
    engine.swap(replace(first, deltas=2))  # what a merge of two live deltas serves
    with pytest.raises(Conflict) as refused:
        engine.run_sync(asked)
    assert f"'{first.revision}'" in str(refused.value)
    assert f"'{first.revision}+2'" in str(refused.value)
    again = replace(asked, graph_version=f"{first.revision}+2")
    assert engine.run_sync(again).graph_version == f"{first.revision}+2"
    engine.close()
