"""docs/analyst-queries.cypher: every query passes Neo4j's front-end and runs on the demo
graph (FalkorDB here, Neo4j too when configured) with rows to show."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from domain.errors import NotFound
from graph.analyst import sandbox as analyst
from graph.analyst.library import DEFAULT_LIBRARY, LibraryQuery, load_library
from graph.backends.base import GraphBackend
from graph.backends.connect import open_backend
from graph.demo import seed
from graph.migrate import migrate
from graph.repos import Repositories
from server.embedded import Endpoints
from tests.utils.cypherlint import lint
from tests.utils.events import RecordedEvents

QUERIES = load_library(DEFAULT_LIBRARY)


@pytest.fixture(scope="module")
async def demo_graph(embedded: Endpoints) -> AsyncIterator[GraphBackend]:
    """The demo data (`pingraph seed --small`) in a graph of its own."""
    backend = await open_backend(embedded.graph_url, database=f"analyst_{uuid.uuid4().hex[:8]}")
    await migrate(backend)
    demo = seed.generate(seed.Sizes.small())
    await seed.load(backend, demo)
    pins = Repositories.over(backend, RecordedEvents()).pins
    for n, user in enumerate(demo.users[:20]):  # the seed has no engagements
        for kind in ("CLICK", "CLOSEUP", "HIDE")[: 1 + n % 3]:
            with contextlib.suppress(NotFound):  # a pin only on someone's secret board
                await pins.engage(user["id"], demo.pins[n]["id"], kind)
    yield backend
    await backend.close()


def test_the_library_has_the_promised_queries() -> None:
    names = [query.name for query in QUERIES]
    assert len(names) == len(set(names)) >= 12
    for promised in ("top-boards-by-saves", "topic-co-occurrence", "most-followed-users",
                     "pins-across-most-topics", "board-overlap"):  # fmt: skip
        assert promised in names
    assert all(query.description and query.query for query in QUERIES)


def test_every_library_query_passes_neo4j_front_end(linter: Path) -> None:
    diagnostics = lint(linter, [(query.name, query.query) for query in QUERIES])
    assert {name: found for name, found in diagnostics.items() if found} == {}


@pytest.mark.parametrize("query", QUERIES, ids=[query.name for query in QUERIES])
async def test_every_library_query_runs_read_only(
    demo_graph: GraphBackend, query: LibraryQuery
) -> None:
    table = await analyst.explore(
        demo_graph, query.query, query.params, timeout_ms=30_000, analyst="test"
    )
    assert table.rows, f"{query.name} found nothing in the demo graph"
    assert len(table.columns) == len(table.rows[0])
