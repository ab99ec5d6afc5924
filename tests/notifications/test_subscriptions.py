"""notificationAdded over a real WebSocket (graphql-transport-ws), and the live hub."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import websockets
from starlette.applications import Starlette

from domain.identity import Role
from graph.repos import Repositories
from notifications.live import FellBehind, LiveHub
from server.auth import issue_token
from server.services import Services
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api
from tests.utils.live_server import NOTIFICATION_ADDED, PROTOCOL, serving, subscribed

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "notifications.py"


@pytest.fixture(scope="module")
async def ws_url(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


async def closed_with(url: str, init: dict[str, object]) -> int | None:
    async with websockets.connect(f"{url}/graphql", subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps(init))
        async with asyncio.timeout(20):
            await socket.wait_closed()
        return socket.close_code


async def test_a_save_arrives_live_and_the_socket_cleans_up(
    ws_url: str, api: Api, repos: Repositories, services: Services
) -> None:
    creator, saver = await make_user(repos), await make_user(repos)
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    hub = services.notifications.live
    before = hub.count
    async with subscribed(ws_url, api.token(creator)) as subscription:
        await until(lambda: hub.count == before + 1)
        board = await make_board(repos, saver)
        await repos.pins.save(saver.id, pin.id, board.id)
        async with asyncio.timeout(20):
            payload = await subscription.next()
        added = payload["data"]["notificationAdded"]
        assert added["kind"] == "PIN_SAVED"
        assert added["actors"] == [{"handle": saver.handle}]
        assert (added["pin"]["id"], added["board"]["id"], added["read"]) == (
            pin.id,
            board.id,
            False,
        )
    await until(lambda: hub.count == before)  # the disconnect unsubscribed


async def test_connection_init_needs_a_user_token(
    ws_url: str, api: Api, repos: Repositories
) -> None:
    user = await make_user(repos)
    init = {"type": "connection_init"}
    assert await closed_with(ws_url, init) == 4403
    assert await closed_with(ws_url, {**init, "payload": {"Authorization": "Bearer nope"}}) == 4403
    robot = api.token(user, Role.RECOMMENDER)
    assert (
        await closed_with(ws_url, {**init, "payload": {"Authorization": f"Bearer {robot}"}}) == 4403
    )
    forged = issue_token("another-secret-of-at-least-32-bytes!", user.id, [Role.USER])
    assert (
        await closed_with(ws_url, {**init, "payload": {"Authorization": f"Bearer {forged}"}})
        == 4403
    )


async def test_only_subscriptions_run_over_the_socket(
    ws_url: str, api: Api, repos: Repositories
) -> None:
    user = await make_user(repos)
    async with subscribed(ws_url, api.token(user), "{ me { handle } }") as subscription:
        async with asyncio.timeout(20):
            message = await subscription.message()
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_slow_subscriber_is_dropped_not_the_process(services: Services) -> None:
    hub = LiveHub(services.cache, channel="pg:test-live", queue_size=2)
    async with hub.subscribe("u1") as slow, hub.subscribe("u1") as keeping_up:
        for n in range(3):
            hub.dispatch("u1", f"n{n}")
            if n < 2:
                assert await keeping_up.next_id() == f"n{n}"
        with pytest.raises(FellBehind):
            await slow.next_id()
        assert await keeping_up.next_id() == "n2"
        assert hub.count == 1
    assert hub.count == 0


async def test_publishing_without_redis_never_raises() -> None:
    dead = aioredis.Redis(port=1, socket_connect_timeout=0.5)
    outcomes: list[str] = []
    await LiveHub(dead, on_event=outcomes.append).publish("u1", "n1")
    assert outcomes == ["publish_error"]
    await dead.aclose()


async def test_the_documented_python_example_receives_notifications(
    ws_url: str, api: Api, repos: Repositories, services: Services
) -> None:
    spec = importlib.util.spec_from_file_location("notifications_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    creator, fan = await make_user(repos), await make_user(repos)
    hub = services.notifications.live
    before = hub.count
    stream = example.notifications(f"{ws_url}/graphql", api.token(creator))
    first = asyncio.ensure_future(anext(stream))
    await until(lambda: hub.count == before + 1)
    await repos.users.follow(fan.id, creator.id)
    async with asyncio.timeout(20):
        notification = await first
    assert example.describe(notification) == f"USER_FOLLOWED: {fan.handle}"
    await stream.aclose()


async def test_malformed_and_excess_subscriptions_are_refused_with_codes(
    ws_url: str, api: Api, repos: Repositories
) -> None:
    user = await make_user(repos)
    async with subscribed(ws_url, api.token(user)) as subscription:
        socket = subscription.socket
        for n in range(2, 6):  # up to the fifth: accepted
            await socket.send(json.dumps({"id": str(n), "type": "subscribe",
                                          "payload": {"query": NOTIFICATION_ADDED}}))  # fmt: skip
        await socket.send(json.dumps({"id": "6", "type": "subscribe",
                                      "payload": {"query": NOTIFICATION_ADDED}}))  # fmt: skip
        async with asyncio.timeout(20):
            refused = await subscription.message()
        assert (refused["id"], refused["type"]) == ("6", "error")
        assert refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        await socket.send(json.dumps({"id": "7", "type": "subscribe", "payload": "nonsense"}))
        async with asyncio.timeout(20):
            await socket.wait_closed()
        assert socket.close_code == 4400


async def test_a_subscription_ends_when_its_token_expires(
    ws_url: str,
    api: Api,
    repos: Repositories,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("server.auth.LEEWAY_S", 0)
    creator, fan = await make_user(repos), await make_user(repos)
    hub = services.notifications.live
    before = hub.count
    async with subscribed(ws_url, api.token(creator, ttl=2)) as subscription:
        await until(lambda: hub.count == before + 1)
        await asyncio.sleep(2.5)  # past the token's expiry
        await repos.users.follow(fan.id, creator.id)
        async with asyncio.timeout(20):
            ended = await subscription.message()
    assert ended["type"] == "next"
    assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_burst_on_one_notification_waits_as_one_message(services: Services) -> None:
    hub = LiveHub(services.cache, channel="pg:test-live", queue_size=2)
    async with hub.subscribe("u1") as subscriber:
        for _ in range(5):
            hub.dispatch("u1", "n1")  # five new actors before the client reads
        hub.dispatch("u1", "n2")
        assert [await subscriber.next_id(), await subscriber.next_id()] == ["n1", "n2"]
        hub.dispatch("u1", "n1")  # read already: a new actor is news again
        assert await subscriber.next_id() == "n1"
