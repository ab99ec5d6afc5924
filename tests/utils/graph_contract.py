"""Fixtures shared by the suites that run over every graph backend (tests/graph,
tests/walks): FalkorDB always, Neo4j when PINGRAPH_TEST_NEO4J_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.backends.base import GraphBackend
from graph.backends.connect import open_backend
from graph.migrate import migrate
from graph.repos import Repositories
from server.embedded import Endpoints
from tests.utils import cypherlint
from tests.utils.events import RecordedEvents

NEO4J_URL = os.environ.get("PINGRAPH_TEST_NEO4J_URL")


@pytest.fixture(
    scope="session",
    params=[
        "falkordb",
        pytest.param(
            "neo4j",
            marks=[
                pytest.mark.neo4j,
                pytest.mark.skipif(not NEO4J_URL, reason="PINGRAPH_TEST_NEO4J_URL is not set"),
            ],
        ),
    ],
)
async def backend(
    request: pytest.FixtureRequest, embedded: Endpoints
) -> AsyncIterator[GraphBackend]:
    if request.param == "falkordb":
        # A graph of its own, so the contract suite never sees other tests' data.
        opened = await open_backend(embedded.graph_url, database=f"contract_{uuid.uuid4().hex[:8]}")
    else:
        assert NEO4J_URL is not None
        opened = await open_backend(NEO4J_URL)
    await migrate(opened)
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def recorded() -> RecordedEvents:
    """Every event the contract suite's repositories publish, in order."""
    return RecordedEvents()


@pytest.fixture(scope="session")
def repos(backend: GraphBackend, recorded: RecordedEvents) -> Repositories:
    return Repositories.over(backend, recorded)


@pytest.fixture(scope="session")
def linter() -> Path:
    return cypherlint.install()
