"""The Redis board cache: never stale after a write, one rebuild per stampede, secret boards
under owner-scoped keys, and the graph store when Redis does not answer."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cache.boards import EPOCH, BoardCache, BoardVersions
from graph.model import Privacy
from graph.repos import Repositories
from server.services import Services
from server.settings import Settings
from tests.utils.apps import client_of, running
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api

PAGE = """
query($id: ID!) { board(id: $id) { pins(first: 10) { totalCount edges { node { id } } } } }
"""


async def test_a_write_is_visible_to_the_next_reader_on_another_connection(
    settings: Settings, services: Services, repos: Repositories, api: Api
) -> None:
    owner, fan = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    first = await make_pin(repos, owner, board)
    other = await make_pin(repos, fan, await make_board(repos, fan))
    owner_token = api.token(owner)
    before = (await api.data(PAGE, {"id": board.id}))["board"]["pins"]  # warms the cache
    assert [e["node"]["id"] for e in before["edges"]] == [first.id]
    # The writer is another server process (a second app over the same stores).
    async with running(settings) as other_app, client_of(other_app) as http:
        writer = Api(http, settings)
        save = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"
        await writer.data(save, {"p": other.id, "b": board.id}, token=owner_token)
    after = (await api.data(PAGE, {"id": board.id}))["board"]["pins"]
    assert [e["node"]["id"] for e in after["edges"]] == [other.id, first.id]
    assert after["totalCount"] == 2
    unsave = "mutation($p: ID!, $b: ID!) { unsavePin(pinId: $p, boardId: $b) }"
    await api.data(unsave, {"p": other.id, "b": board.id}, token=owner_token)
    again = (await api.data(PAGE, {"id": board.id}))["board"]["pins"]
    assert again["totalCount"] == 1
    await api.data("mutation($id: ID!) { deletePin(id: $id) }", {"id": first.id},
                   token=owner_token)  # fmt: skip
    assert (await api.data(PAGE, {"id": board.id}))["board"]["pins"]["edges"] == []


async def test_a_stampede_rebuilds_once(services: Services, repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    await make_pin(repos, owner, board)
    events: list[str] = []
    cache = BoardCache(BoardVersions(services.cache, on_event=events.append), repos.boards)
    pages = await asyncio.gather(*(cache.page(board, None) for _ in range(20)))
    assert events.count("rebuild") == 1
    assert all(page.pin_count == 1 for page in pages)
    await cache.page(board, None)
    assert events[-1] == "hit"


async def test_secret_boards_are_cached_per_member(services: Services, repos: Repositories) -> None:
    owner, member = await make_user(repos), await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    await make_pin(repos, owner, secret)
    await services.board_cache.page(secret, owner.id)
    keys = [key.decode() async for key in services.cache.scan_iter(f"pg:bp:{secret.id}:*")]
    assert keys
    assert all(key.endswith(f":mem:{owner.id}") for key in keys)
    # A collaborator's page is their own, and joining moves the board's version on.
    before = await services.board_cache.versions.key(secret, owner.id)
    invite = await repos.collaborators.invite(owner.id, secret.id, member.id)
    await repos.collaborators.accept(member.id, invite.id)
    assert await services.board_cache.versions.key(secret, owner.id) != before
    page = await services.board_cache.page(secret, member.id)
    assert page.pin_count == 1
    keys = [key.decode() async for key in services.cache.scan_iter(f"pg:bp:{secret.id}:*")]
    assert any(key.endswith(f":mem:{member.id}") for key in keys)


async def test_without_redis_pages_come_from_the_graph(
    services: Services, repos: Repositories
) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    pin = await make_pin(repos, owner, board)
    dead = aioredis.Redis(port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    events: list[str] = []
    versions = BoardVersions(dead, on_event=events.append)
    cache = BoardCache(versions, repos.boards)
    page = await cache.page(board, None)
    assert [p.id for p in page.pins] == [pin.id]
    assert events == ["error"]
    await versions.touched(board.id)  # lost: remembered
    versions.cache = services.cache  # Redis is back
    epoch = int(await services.cache.get(EPOCH) or 0)
    await cache.page(board, None)
    assert int(await services.cache.get(EPOCH) or 0) == epoch + 1  # older entries unreachable
    assert "epoch" in events
    await dead.aclose()


async def test_cache_events_are_metrics(api: Api, repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    for _ in range(2):
        await api.data(PAGE, {"id": board.id})
    text = (await api.http.get("/metrics")).text
    assert 'pingraph_cache_events_total{cache="board",event="rebuild"}' in text
    assert 'pingraph_cache_events_total{cache="board",event="hit"}' in text
