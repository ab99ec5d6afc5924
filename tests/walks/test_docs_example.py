"""The early-stopping example of docs/walks.md does stop early on the demo's walk graph."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from graph.demo.seed import Sizes, generate
from walks.build import DEFAULT_MAX_BOARD_ENTROPY, DEFAULT_PRUNE_DELTA
from walks.engine import WalkEngine
from walks.planted import planted
from walks.requests import RelatedRequest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "walks.md"


def endpoints_example() -> RelatedRequest:
    """The body of the first `curl ... -d '{...}'` under "Endpoints"."""
    section = DOCS.read_text().split("## Endpoints", 1)[1]
    found = re.search(r"-d '(\{.*?\})'", section, re.DOTALL)
    assert found, "no curl example under Endpoints"
    return RelatedRequest.model_validate(orjson.loads(found.group(1)))


def test_the_documented_early_stopping_example_stops_early_on_the_demo() -> None:
    wanted = endpoints_example()
    assert wanted.early_stop is not None
    # What `pingraph serve --demo` loads, and `pingraph walks build`'s pruning.
    demo = planted(generate(Sizes.small()))
    graph = demo.build(max_board_entropy=DEFAULT_MAX_BOARD_ENTROPY, prune_delta=DEFAULT_PRUNE_DELTA)
    engine = WalkEngine(graph, threads=1)
    try:
        result = engine.run_sync(wanted.to_query())
    finally:
        engine.close()
    assert result.unknown_pins == []
    assert result.unknown_topics == []
    assert result.stopped_early
    assert result.steps_taken < wanted.steps
    assert len(result.items) == wanted.top_k
