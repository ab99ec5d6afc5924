"""Every door a write can come in by (GraphQL, REST, the CLI) has the same effects, because
they follow from the write's domain event: the board page, the cached anonymous answers and
the walk graph of a running server all see it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

from events.consumer import Consumer, ConsumerRunner
from events.model import Event, EventType
from graph.model import User
from graph.repos import Repositories
from server.services import Services
from server.settings import Settings
from tests.utils import images
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api
from walks.engine import Query

PINGRAPH = str(Path(sys.executable).with_name("pingraph"))
PAGE = "query($id: ID!) { board(id: $id) { pins(first: 10) { edges { node { id } } } } }"
SAVE = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"


async def page(api: Api, board: str) -> list[str]:
    data = await api.data(PAGE, {"id": board})
    return [edge["node"]["id"] for edge in data["board"]["pins"]["edges"]]


async def walked(services: Services, pin: str, want: str, *, present: bool) -> None:
    """Wait (bounded) until the server's walk graph does, or no longer does, relate them."""
    await drained(services.cache)
    give_up = asyncio.get_running_loop().time() + 30
    while True:
        result = await services.walks.run(Query(pins={pin: 1.0}, steps=2000, seed=3))
        if (want in {hit.pin_id for hit in result.items}) == present:
            return
        assert asyncio.get_running_loop().time() < give_up, "the walk graph never followed"
        await asyncio.sleep(0.02)


async def world(repos: Repositories) -> tuple[User, str, str, str]:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    a, b = await make_pin(repos, owner, board), await make_pin(repos, owner, board)
    return owner, board.id, a.id, b.id


async def test_a_graphql_write_reaches_the_board_cache_and_the_walks(
    api: Api, services: Services, repos: Repositories
) -> None:
    owner, board, a, _ = await world(repos)
    lone = await make_pin(repos, owner, await make_board(repos, owner))
    assert lone.id not in await page(api, board)  # the page is cached now
    await api.data(SAVE, {"p": lone.id, "b": board}, token=api.token(owner))
    assert (await page(api, board))[0] == lone.id  # at once: before the answer came
    await walked(services, a, lone.id, present=True)


async def test_a_cli_write_reaches_the_board_cache_and_the_walks(
    api: Api, services: Services, repos: Repositories, settings: Settings
) -> None:
    _, board, a, b = await world(repos)
    await walked(services, a, b, present=True)
    assert b in await page(api, board)  # cached
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGRAPH_")}
    env.update(
        PINGRAPH_DATA_DIR=str(settings.data_dir),
        PINGRAPH_GRAPH_URL=settings.graph_url,
        PINGRAPH_REDIS_URL=settings.redis_url,
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [PINGRAPH, "pins", "take-down", b],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"pin {b} taken down" in done.stderr
    assert b not in await page(api, board)
    await walked(services, a, b, present=False)
    missing = await asyncio.to_thread(
        subprocess.run, [PINGRAPH, "pins", "take-down", b], env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 1
    assert f"no pin '{b}'" in missing.stderr


async def test_a_rest_upload_publishes_its_event(
    api: Api, services: Services, repos: Repositories
) -> None:
    seen: list[Event] = []

    async def handle(event: Event) -> None:
        seen.append(event)

    group = f"test-{uuid.uuid4().hex[:8]}"
    runner = ConsumerRunner(services.cache, Consumer(group, handle))
    await runner.step(block_ms=0)
    user = await make_user(repos)
    data = images.jpeg(64, 48, color=(3, 141, 59))
    response = await api.http.post(
        "/media",
        files={"file": ("p.jpg", data, "image/jpeg")},
        headers={"Authorization": f"Bearer {api.token(user)}"},
    )
    assert response.status_code in (200, 201), response.text
    key = response.json()["imageKey"]
    while await runner.step(block_ms=0):
        pass
    await services.cache.xgroup_destroy("pg:events", group)
    stored = [event for event in seen if event.type is EventType.IMAGE_STORED]
    if response.status_code == 201:
        assert [(event.image, event.actor) for event in stored] == [(key, user.id)]
    else:  # the same bytes were stored before: nothing new, no event
        assert stored == []
