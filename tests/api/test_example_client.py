"""docs/examples/pingraph_client.py works against the real app."""

import importlib.util
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from graph.repos import Repositories
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "pingraph_client.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pingraph_client", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_example_client_demo(
    api: Api, client: httpx.AsyncClient, repos: Repositories
) -> None:
    example = load_example()
    viewer, friend = await make_user(repos), await make_user(repos)
    pin = await make_pin(repos, friend, await make_board(repos, friend))
    await repos.users.follow(viewer.id, friend.id)
    token = api.token(viewer)
    pingraph = example.PingraphClient("http://testserver", token, http=client)
    feed = await api.data(example.HOME_FEED, token=token)
    shown = [edge["node"]["id"] for edge in feed["homeFeed"]["edges"]]
    assert pin.id in shown  # what the viewer follows, between the walked pins
    assert await example.demo(pingraph) == shown[:1]
    anonymous = example.PingraphClient("http://testserver", http=client)
    with pytest.raises(example.PingraphError, match="UNAUTHENTICATED"):
        await anonymous.execute(example.HOME_FEED)
