"""No N+1: a page costs the same number of graph queries whatever its size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from graph.backends.connect import open_backend
from graph.repos import Repositories
from server.services import Services
from server.settings import Settings
from tests.utils.apps import client_of, running
from tests.utils.backends import CountingBackend
from tests.utils.events_drain import trending_settled
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api

BOARD_PAGE = """
query($id: ID!, $first: Int!) {
  board(id: $id) {
    name owner { handle } topics { name } pinCount
    pins(first: $first) {
      totalCount
      edges { node {
        id title saveCount
        creator { handle followerCount }
        topics { name }
        boards(first: 5) { totalCount edges { node { name owner { handle } } } }
      } }
    }
  }
}
"""


@pytest.fixture
async def counted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Api, CountingBackend]]:
    """An app whose graph backend counts the statements it runs."""
    opened: list[CountingBackend] = []

    async def counting(url: str, **options: Any) -> CountingBackend:
        opened.append(CountingBackend(await open_backend(url, **options)))
        return opened[-1]

    monkeypatch.setattr("server.services.open_backend", counting)
    async with running(settings) as app, client_of(app) as http:
        yield Api(http, settings), opened[0]


async def test_board_page_queries_do_not_grow_with_page_size(
    counted: tuple[Api, CountingBackend], repos: Repositories, services: Services
) -> None:
    api, counter = counted
    owner = await make_user(repos)
    creators = [await make_user(repos) for _ in range(5)]
    board = await make_board(repos, owner, topics=["Hallways"])
    elsewhere = [await make_board(repos, creator) for creator in creators]
    for i in range(50):
        creator = creators[i % 5]
        pin = await make_pin(repos, creator, elsewhere[i % 5], topics=["Tiles", f"t{i % 3}"])
        await repos.pins.save(owner.id, pin.id, board.id)

    await api.data(BOARD_PAGE, {"id": board.id, "first": 50})  # the board cache is warm now
    statements = {}
    for first in (5, 50):
        await trending_settled(services.cache)  # the consumers' reads are not the page's
        counter.statements = 0
        data = await api.data(BOARD_PAGE, {"id": board.id, "first": first})
        edges = data["board"]["pins"]["edges"]
        assert len(edges) == first
        assert all(len(edge["node"]["boards"]["edges"]) == 2 for edge in edges)
        assert all(edge["node"]["creator"]["handle"] for edge in edges)
        statements[first] = counter.statements
    assert statements[5] == statements[50]
    # board, owner+creators, board topics, pin count, pins, pin topics, save counts,
    # boards of pins, their owners, follower counts: about one statement per kind of data.
    assert statements[50] <= 12, statements
