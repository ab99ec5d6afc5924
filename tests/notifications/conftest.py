from __future__ import annotations

import httpx
import pytest

from graph.repos import Repositories
from server.services import Services
from server.settings import Settings
from tests.utils.graphql import Api


@pytest.fixture
def api(client: httpx.AsyncClient, settings: Settings) -> Api:
    return Api(client, settings)


@pytest.fixture
def repos(services: Services) -> Repositories:
    return services.repos
