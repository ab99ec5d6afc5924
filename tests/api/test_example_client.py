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
    pingraph = example.PingraphClient("http://testserver", api.token(viewer), http=client)
    assert await example.demo(pingraph) == [pin.id]
    anonymous = example.PingraphClient("http://testserver", http=client)
    with pytest.raises(example.PingraphError, match="UNAUTHENTICATED"):
        await anonymous.execute(example.HOME_FEED)
