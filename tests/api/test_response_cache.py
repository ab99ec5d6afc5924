"""Cached answers to anonymous reads: reused until any API write, never for signed-in users."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from graph.repos import Repositories
from server.settings import Settings
from tests.utils.apps import client_of, running
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api

PAGE = "query($id: ID!) { board(id: $id) { pins(first: 5) { edges { node { id } } } } }"


@pytest.fixture
async def cached_api(settings: Settings) -> AsyncIterator[Api]:
    on = settings.model_copy(update={"response_cache_ttl_s": 30})
    async with running(on) as app, client_of(app) as http:
        yield Api(http, on)


def ids(response: httpx.Response) -> list[str]:
    edges = response.json()["data"]["board"]["pins"]["edges"]
    return [edge["node"]["id"] for edge in edges]


async def test_anonymous_reads_are_reused_until_a_write(
    cached_api: Api, repos: Repositories
) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    first = await make_pin(repos, owner, board)
    miss = await cached_api.post(PAGE, {"id": board.id})
    hit = await cached_api.post(PAGE, {"id": board.id})
    assert "x-cache" not in miss.headers
    assert hit.headers["x-cache"] == "hit"
    assert (
        hit.json()
        == miss.json()
        == {"data": {"board": {"pins": {"edges": [{"node": {"id": first.id}}]}}}}
    )
    other = await make_pin(repos, owner, await make_board(repos, owner))
    save = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"
    await cached_api.data(save, {"p": other.id, "b": board.id}, token=cached_api.token(owner))
    after = await cached_api.post(PAGE, {"id": board.id})
    assert "x-cache" not in after.headers
    assert ids(after) == [other.id, first.id]


async def test_signed_in_and_failing_requests_are_not_cached(
    cached_api: Api, repos: Repositories
) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    token = cached_api.token(owner)
    for _ in range(2):
        signed_in = await cached_api.post(PAGE, {"id": board.id}, token=token)
        assert "x-cache" not in signed_in.headers
    for _ in range(2):
        failing = await cached_api.post("{ nope }")
        assert "x-cache" not in failing.headers


async def test_a_write_through_another_door_is_seen_at_once(
    cached_api: Api, repos: Repositories
) -> None:
    """A write that does not come through GraphQL (here the repositories, as the CLI and
    REST doors use them) moves the answer-cache version through its domain event."""
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    first = await make_pin(repos, owner, board)
    await cached_api.post(PAGE, {"id": board.id})
    assert (await cached_api.post(PAGE, {"id": board.id})).headers["x-cache"] == "hit"
    await repos.pins.delete(owner.id, first.id)
    after = await cached_api.post(PAGE, {"id": board.id})
    assert "x-cache" not in after.headers
    assert ids(after) == []
