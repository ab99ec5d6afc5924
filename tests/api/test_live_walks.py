"""Saves reach the walks live through the Redis delta stream; lost deltas are rebuilt from
the graph store. Real embedded FalkorDB and Redis; mutations go through the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from domain.identity import Role
from graph.model import Privacy, User
from graph.repos import Repositories
from server.services import Services
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api
from walks import graph as walk_graph
from walks.build import build_and_save
from walks.deltas import STREAM, DeltaLog
from walks.engine import Query, WalkEngine
from walks.live import LiveWalks
from walks.overlay import SAVE, Delta
from walks.snapshots import stream_position

SAVE_PIN = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"
UNSAVE_PIN = "mutation($p: ID!, $b: ID!) { unsavePin(pinId: $p, boardId: $b) }"
MAKE_SECRET = "mutation($b: ID!) { updateBoard(id: $b, input: {privacy: SECRET}) { id } }"
DELETE_PIN = "mutation($p: ID!) { deletePin(id: $p) }"


@dataclass
class World:
    owner: User
    token: str
    board: str  # public, pins a and b
    other: str  # public, pin c alone
    secret: str  # secret, pin d alone
    a: str
    b: str
    c: str
    d: str


@pytest.fixture
async def world(repos: Repositories, api: Api) -> World:
    owner = await make_user(repos)
    board, other = await make_board(repos, owner), await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    a, b = await make_pin(repos, owner, board), await make_pin(repos, owner, board)
    c, d = await make_pin(repos, owner, other), await make_pin(repos, owner, secret)
    return World(owner, api.token(owner), board.id, other.id, secret.id, a.id, b.id, c.id, d.id)


@pytest.fixture
async def live(services: Services, world: World, tmp_path: Path) -> AsyncIterator[LiveWalks]:
    """A server's walk graph and its follower, over a snapshot of the store as it is now."""
    directory = tmp_path / "walks"
    position = await stream_position(services.walk_deltas)
    path = await build_and_save(services.graph, directory, stream_id=position)
    engine = WalkEngine(walk_graph.load(path), threads=1)
    yield LiveWalks(
        engine, services.walk_deltas, services.graph, directory, poll_ms=50, snapshot_check_s=0.2
    )
    engine.close()


def related(engine: WalkEngine, pin: str) -> set[str]:
    result = engine.run_sync(Query(pins={pin: 1.0}, steps=4000, seed=5))
    return {hit.pin_id for hit in result.items}


async def settle(live: LiveWalks, rounds: int = 3) -> None:
    """Once the walk consumer has logged every write's delta, merge them."""
    await drained(live.deltas.cache)
    for _ in range(rounds):
        await live.step(block_ms=0)


async def test_a_save_reaches_related_pins_live(
    api: Api, services: Services, live: LiveWalks, world: World
) -> None:
    engine = live.engine
    assert world.c not in related(engine, world.a)
    task = asyncio.create_task(live.run())
    try:
        await api.data(SAVE_PIN, {"p": world.c, "b": world.board}, token=world.token)
        # Only a bound on waiting, not a speed claim: bench/live_walks.py measures that.
        give_up = asyncio.get_running_loop().time() + 60
        while world.c not in related(engine, world.a):
            assert asyncio.get_running_loop().time() < give_up, "the save never arrived"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert engine.graph.deltas >= 1
    # The server's own walk graph follows the same stream.
    served = services.walks
    give_up = asyncio.get_running_loop().time() + 60
    while world.c not in related(served, world.a):
        assert asyncio.get_running_loop().time() < give_up, "the server never merged the save"
        await asyncio.sleep(0.01)
    robot = {"Authorization": f"Bearer {api.token(world.owner, Role.RECOMMENDER)}"}
    answer = (await api.http.get("/walks/graph", headers=robot)).json()
    assert answer["pendingDeltas"] == served.graph.deltas >= 1
    assert answer["version"] == served.graph.version
    metrics = (await api.http.get("/metrics")).text
    assert 'pingraph_walk_deltas_total{event="applied"}' in metrics
    assert f"pingraph_walk_overlay_deltas {float(served.graph.deltas)}" in metrics


async def test_unsave_delete_and_secret_boards_leave_the_walks(
    api: Api, live: LiveWalks, world: World
) -> None:
    engine = live.engine
    await api.data(SAVE_PIN, {"p": world.d, "b": world.board}, token=world.token)
    await settle(live)
    assert world.d in related(engine, world.a)
    await api.data(UNSAVE_PIN, {"p": world.d, "b": world.board}, token=world.token)
    await api.data(SAVE_PIN, {"p": world.a, "b": world.secret}, token=world.token)
    await settle(live)
    assert related(engine, world.a) == {world.b}  # the secret board's pin d never shows
    await api.data(DELETE_PIN, {"p": world.b}, token=world.token)
    await settle(live)
    assert related(engine, world.a) == set()
    await api.data(SAVE_PIN, {"p": world.c, "b": world.board}, token=world.token)
    await settle(live)
    assert related(engine, world.a) == {world.c}
    await api.data(MAKE_SECRET, {"b": world.board}, token=world.token)
    await settle(live)
    assert related(engine, world.a) == set()
    assert related(engine, world.c) == set()


async def test_a_lost_stream_is_rebuilt_from_the_graph_store(
    api: Api, services: Services, live: LiveWalks, world: World
) -> None:
    """The save is in the store, but its delta is evicted with the whole stream."""
    await api.data(SAVE_PIN, {"p": world.c, "b": world.board}, token=world.token)
    await services.cache.delete(STREAM)
    before = live.engine.graph.version
    await settle(live)
    assert live.engine.graph.version > before  # a new snapshot, from the store
    assert world.c in related(live.engine, world.a)
    await api.data(SAVE_PIN, {"p": world.d, "b": world.other}, token=world.token)
    await settle(live)  # the stream starts again; following it goes on
    assert world.d in related(live.engine, world.c)


async def test_a_delta_a_writer_could_not_log_makes_readers_rebuild(
    services: Services, repos: Repositories, live: LiveWalks, world: World
) -> None:
    await repos.pins.save(world.owner.id, world.c, world.board)  # in the store only
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    writer = DeltaLog(dead)
    await writer.append(Delta(SAVE, world.c, world.board))  # Redis away: lost, remembered
    writer.cache = services.cache
    writer._append = services.cache.register_script(writer._append.script)
    before = live.engine.graph.version
    await writer.append(Delta(SAVE, world.a, world.other))  # logs a resync marker first
    await settle(live)
    assert live.engine.graph.version > before
    assert world.c in related(live.engine, world.a)
    await dead.aclose()


async def test_trimmed_deltas_are_noticed(
    services: Services, live: LiveWalks, world: World
) -> None:
    for _ in range(5):
        await services.walk_deltas.append(Delta(SAVE, world.c, world.board))
    await services.cache.xtrim(STREAM, maxlen=1, approximate=False)
    state = await services.walk_deltas.state(live.engine.graph.stream_id)
    assert state.lost
    latest = await services.walk_deltas.position()
    assert not (await services.walk_deltas.state(latest)).lost


async def test_compaction_writes_a_snapshot_other_processes_swap_in(
    api: Api, services: Services, live: LiveWalks, world: World
) -> None:
    first = walk_graph.newest(live.directory)
    assert first is not None
    other = LiveWalks(  # another server process on the same data directory
        WalkEngine(walk_graph.load(first), threads=1), services.walk_deltas, services.graph,
        live.directory,
    )  # fmt: skip
    live.compact_after = 2
    await api.data(SAVE_PIN, {"p": world.c, "b": world.board}, token=world.token)
    await api.data(SAVE_PIN, {"p": world.d, "b": world.board}, token=world.token)
    await settle(live)
    graph = live.engine.graph
    assert graph.deltas == 0  # compacted
    newest = walk_graph.newest(live.directory)
    assert newest is not None
    assert newest.name == graph.version != first.name
    restarted = walk_graph.load(newest)
    assert restarted.stream_id == graph.stream_id
    assert {world.c, world.d} <= related(WalkEngine(restarted, threads=1), world.a)
    await other.check_disk()
    assert other.engine.graph.version == graph.version
    assert {world.c, world.d} <= related(other.engine, world.a)
