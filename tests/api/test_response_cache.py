"""Cached answers to anonymous reads: reused until any API write, never for signed-in users."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from graph.repos import Repositories
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api

PAGE = "query($id: ID!) { board(id: $id) { pins(first: 5) { edges { node { id } } } } }"


@pytest.fixture
async def cached_api(settings: Settings, services: Services) -> AsyncIterator[Api]:
    on = settings.model_copy(update={"response_cache_ttl_s": 30})
    own = dataclasses.replace(services, settings=on)
    transport = httpx.ASGITransport(app=create_app(on, services=own))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
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
