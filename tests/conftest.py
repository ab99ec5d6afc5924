"""Session-wide real services: the embedded FalkorDB and Redis, started like the app does."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette

from server.embedded import EmbeddedServices, Endpoints
from server.services import Services
from server.settings import Settings
from tests.utils.apps import client_of, running
from tests.utils.demo_server import DemoServer, start_demo_server

pytest_plugins = ["tests.utils.graph_contract"]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pingraph-data")


@pytest.fixture(scope="session")
def embedded(data_dir: Path) -> Iterator[Endpoints]:
    with EmbeddedServices(data_dir, fsync="everysec") as services:
        assert services.endpoints is not None
        yield services.endpoints


@pytest.fixture(scope="session")
def settings(embedded: Endpoints, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        graph_url=embedded.graph_url,
        analyst_graph_url=embedded.analyst_graph_url,
        redis_url=embedded.redis_url,
        media_url="embedded",
        log_level="warning",
        # Generous: the whole suite shares one client address. tests/api tests the limits.
        rate_limit_user="100000/minute",
        rate_limit_anonymous="100000/minute",
        # Per address too; per handle the default holds (tests/api/test_accounts.py).
        sign_in_failures_per_address="100000/15 minutes",
        sign_ups_per_address="100000/hour",
        # Off: tests change data through the repositories too; tests/api/test_response_cache.py
        # turns it on.
        response_cache_ttl_s=0,
        # Trending is recomputed after writes only, never on a timer in the middle of a test
        # (tests/api/test_trending.py).
        trending_every_s=24 * 3600,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app as `pingraph serve` runs it: its lifespan opens every service."""
    async with running(settings) as started:
        yield started


@pytest.fixture(scope="session")
def services(app: Starlette) -> Services:
    opened: Services = app.state.services
    return opened


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as http:
        yield http


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


def pytest_report_header(config: pytest.Config) -> str:
    import os

    if os.environ.get("PINGRAPH_TEST_NEO4J_URL"):
        return "graph contract suite: FalkorDB and Neo4j (PINGRAPH_TEST_NEO4J_URL)"
    return (
        "graph contract suite: FalkorDB only; Neo4j cases are skipped (set PINGRAPH_TEST_NEO4J_URL)"
    )


@pytest.fixture(scope="session")
def demo_server(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[DemoServer]:
    """`pingraph serve --demo` in a fresh data directory on a free loopback port, ready."""
    yield from start_demo_server(tmp_path_factory, pytestconfig)
