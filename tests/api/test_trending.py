"""Trending pins and boards, end to end: computed from events, stored in Redis, public only,
and where a newcomer's home feed starts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cache import trending
from cache.responses import VERSION
from cache.trending import TrendingCache, trending_refresh
from events.model import Event, EventType
from graph.model import Privacy, now_ms
from graph.repos import Repositories
from graph.repos.feed import Signals
from graph.repos.trending import DAY_S, Ranking
from server.services import Services
from server.settings import Settings
from tests.server.test_cache_outage import RedisProcess
from tests.utils.apps import client_of, running
from tests.utils.events_drain import trending_settled
from tests.utils.factories import (
    boards_of,
    make_board,
    make_pin,
    make_user,
    saved_to,
    unique_handle,
)
from tests.utils.graphql import Api, code
from walks.personal import newcomer_pins

PINS = "query($topic: String, $first: Int) { trendingPins(topic: $topic, first: $first) { id } }"
BOARDS = "query($first: Int) { trendingBoards(first: $first) { id privacy } }"
FEED = "{ homeFeed(first: 100) { edges { node { id } } } }"
UPDATE = "mutation($id: ID!) { updateBoard(id: $id, input: {privacy: SECRET}) { privacy } }"
BACKDATE = """
MATCH (:Pin {id: $pin})-[s:SAVED_TO]->(:Board {id: $board})
SET s.at = $at
"""
WAIT_S = 30.0


async def pin_ids(api: Api, topic: str | None = None, first: int = 100) -> list[str]:
    data = await api.data(PINS, {"topic": topic, "first": first})
    return [pin["id"] for pin in data["trendingPins"]]


async def board_ids(api: Api) -> list[str]:
    boards = (await api.data(BOARDS, {"first": 100}))["trendingBoards"]
    assert {board["privacy"] for board in boards} <= {"PUBLIC"}
    return [board["id"] for board in boards]


def scores(ranking: Ranking, topic: str) -> dict[str, float]:
    return dict(ranking.topics.get(topic, []))


async def test_a_burst_of_recent_saves_outranks_older_popularity(
    api: Api, repos: Repositories, services: Services
) -> None:
    topic = unique_handle("trend")
    creator, saver = await make_user(repos), await make_user(repos)
    home = await make_board(repos, creator)
    boards = await boards_of(repos, saver, 8)
    old = await make_pin(repos, creator, home, topics=[topic])
    await saved_to(repos, old, boards)  # nine saves, three days ago: 9/8
    three_days_ago = now_ms() - 3 * DAY_S * 1000
    for board in [home, *boards]:
        await services.graph.write(
            BACKDATE, {"pin": old.id, "board": board.id, "at": three_days_ago}
        )
    burst = await make_pin(repos, creator, home, topics=[topic])
    await saved_to(repos, burst, boards[:4])  # five saves now
    await trending_settled(services.cache)

    assert await pin_ids(api, f"  {topic.upper()} ") == [burst.id, old.id]  # as topic(name:)
    assert await pin_ids(api, topic, first=1) == [burst.id]
    overall = await pin_ids(api)
    assert burst.id in overall
    assert old.id not in overall[: overall.index(burst.id)]
    assert scores(await services.trending.ranking(), topic) == pytest.approx(
        {burst.id: 5.0, old.id: 9 / 8}, rel=1e-3
    )


async def test_saves_to_secret_boards_never_feed_trending(
    api: Api, repos: Repositories, services: Services
) -> None:
    topic = unique_handle("trend")
    creator, saver = await make_user(repos), await make_user(repos)
    home = await make_board(repos, creator)
    public_hot = await make_board(repos, saver)
    secret_hot = await make_board(repos, saver, privacy=Privacy.SECRET)
    hideouts = await boards_of(repos, saver, 4, Privacy.SECRET)
    fair = [await make_pin(repos, creator, home, topics=[topic]) for _ in range(10)]
    for pin in fair:  # two public saves each
        await saved_to(repos, pin, [public_hot, secret_hot])
    lifted = await make_pin(repos, creator, home, topics=[topic])  # one public, five secret
    await saved_to(repos, lifted, [secret_hot, *hideouts])
    only_secret = await make_pin(repos, saver, secret_hot, topics=[topic])
    await saved_to(repos, only_secret, hideouts)
    await trending_settled(services.cache)

    shown = await pin_ids(api, topic)
    assert set(shown[:10]) == {pin.id for pin in fair}
    assert shown[10:] == [lifted.id]
    assert only_secret.id not in await pin_ids(api)
    boards = await board_ids(api)
    assert public_hot.id in boards  # ten saves
    assert secret_hot.id not in boards  # twelve, all secret
    ranking = await services.trending.ranking()
    assert scores(ranking, topic)[lifted.id] == pytest.approx(1.0, rel=1e-3)
    assert only_secret.id not in ranking.pin_ids()
    assert not {secret_hot.id, *(board.id for board in hideouts)} & set(ranking.board_ids())


async def test_a_board_made_secret_leaves_trending_and_stops_counting(
    api: Api, repos: Repositories, services: Services
) -> None:
    topic = unique_handle("trend")
    owner, saver = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner)
    elsewhere = await make_board(repos, saver)
    pins = [await make_pin(repos, owner, board, topics=[topic]) for _ in range(12)]
    await saved_to(repos, pins[0], [elsewhere])
    await trending_settled(services.cache)
    assert board.id in await board_ids(api)
    assert scores(await services.trending.ranking(), topic)[pins[0].id] == pytest.approx(2.0, 1e-3)

    made = await api.data(UPDATE, {"id": board.id}, token=api.token(owner))
    assert made["updateBoard"]["privacy"] == "SECRET"
    # Hidden at once: what is shown is checked against what is public now ...
    assert board.id not in await board_ids(api)
    assert await pin_ids(api, topic) == [pins[0].id]
    # ... and the computation the event asks for leaves the board's saves out.
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while board.id in (ranking := await services.trending.ranking()).board_ids():
        assert asyncio.get_running_loop().time() < deadline, "the board is still trending"
        await asyncio.sleep(0.1)
    assert scores(ranking, topic) == pytest.approx({pins[0].id: 1.0}, rel=1e-3)


async def test_first_is_bounded_and_an_unknown_topic_is_empty(api: Api) -> None:
    for query, first in [(PINS, 0), (PINS, 101), (PINS, -1), (BOARDS, 0), (BOARDS, 101)]:
        error = await api.error(query, {"first": first})
        assert code(error) == "BAD_USER_INPUT"
        assert "between 1 and 100" in error["message"]
    assert len(await pin_ids(api, first=100)) <= 100
    for name in (f"never used {unique_handle()}", "!!", ""):
        assert await pin_ids(api, name) == []
        assert (await api.data("query($n: String!) { topic(name: $n) { name } }", {"n": name})) == {
            "topic": None
        }
    nested = "{ trendingPins(first: 100) { boards(first: 100) { edges { node { id } } } } }"
    assert (await api.error(nested))["extensions"]["cost"] > 10_000


async def test_a_newcomers_home_feed_starts_from_trending_pins(
    api: Api, repos: Repositories, services: Services
) -> None:
    topic = unique_handle("trend")
    creator, saver = await make_user(repos), await make_user(repos)
    home = await make_board(repos, creator)
    hot = await make_pin(repos, creator, home, topics=[topic])
    await saved_to(repos, hot, await boards_of(repos, saver, 15))
    await trending_settled(services.cache)
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not services.walks.graph.pin_index([hot.id])[0].size:  # the saves, merged live
        assert asyncio.get_running_loop().time() < deadline, "the saves never reached the walks"
        await asyncio.sleep(0.05)

    ranking = await services.trending.ranking()
    seeds = newcomer_pins(Signals([], [], []), services.walks.graph, ranking)
    assert hot.id in seeds
    assert seeds == [pin for pin in ranking.pin_ids() if pin in seeds]  # trending, in order
    newcomer = await make_user(repos)  # no follows, no saves
    feed = (await api.data(FEED, token=api.token(newcomer)))["homeFeed"]["edges"]
    assert hot.id in [edge["node"]["id"] for edge in feed]


@pytest.fixture
async def own_cache(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """A Redis database of its own: the server's refresher does not touch these keys."""
    url = urlsplit(settings.redis_url)
    cache = aioredis.Redis.from_url(urlunsplit(url._replace(path="/9")))
    await cache.flushdb()
    yield cache
    await cache.flushdb()
    await cache.aclose()


def trending_over(cache: aioredis.Redis, repos: Repositories, events: list[str]) -> TrendingCache:
    return TrendingCache(
        cache, repos.trending, window_s=7 * DAY_S, half_life_s=DAY_S, every_s=300,
        debounce_s=0.2, removed_gap_s=0.2, added_gap_s=1.0, on_event=events.append,
    )  # fmt: skip


async def test_one_process_computes_and_every_process_reads_the_stored_ranking(
    own_cache: aioredis.Redis, repos: Repositories
) -> None:
    events: list[str] = []
    first, second = trending_over(own_cache, repos, events), trending_over(own_cache, repos, [])
    assert await first.current() is None  # a newcomer's feed does not wait for one
    ranking = await first.ranking()  # none stored yet: computed, stored
    assert await first.current() is ranking
    assert events == ["miss", "rebuild"]
    assert await first.ranking() is ranking
    assert await second.ranking() == ranking  # another process reads it
    raw = await own_cache.get(trending.KEY)
    assert raw is not None
    assert trending.decode(raw) == (await own_cache.get(trending.GENERATION), ranking)
    assert await first.refresh() is None  # not due

    # An event asks for a computation; it runs once the debounce has passed.
    handle = trending_refresh(first).handle
    await handle(Event(EventType.USER_FOLLOWED, actor="someone"))
    assert not await own_cache.exists(trending.DUE)
    await handle(Event(EventType.BOARD_UPDATED, actor="someone", board="b"))
    assert await first.refresh() is None  # within the debounce
    await asyncio.sleep(0.25)
    await own_cache.set(trending.LOCK, "another process", px=10_000)
    assert await second.refresh() is None  # that process is at it
    await own_cache.delete(trending.LOCK)
    fresh = await second.refresh()
    assert fresh is not None
    assert not await own_cache.exists(trending.DUE, trending.LOCK)
    assert await first.ranking() == fresh  # read anew: its generation moved on

    # A save to secret boards only does not ask at all: its timing would show.
    owner = await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    public = await make_board(repos, owner)
    for kind in (EventType.PIN_SAVED, EventType.PIN_UNSAVED, EventType.PIN_CREATED):
        await handle(Event(kind, actor=owner.id, pin="p", board=secret.id))
    await handle(Event(EventType.PIN_DELETED, actor=owner.id, pin="p", boards=(secret.id,)))
    assert not await own_cache.exists(trending.DUE, trending.DUE_ADDED)
    # A save to a public board asks, but only once the last computation is `added_gap_s` old.
    await handle(Event(EventType.PIN_SAVED, actor=owner.id, pin="p", board=public.id))
    assert await own_cache.exists(trending.DUE_ADDED)
    assert await first.refresh() is None
    await asyncio.sleep(1.05)
    assert await first.refresh() is not None
    assert not await own_cache.exists(trending.DUE_ADDED)

    # A computation that outlived its lock does not replace a newer stored ranking.
    newest = await own_cache.get(trending.GENERATION)
    await first._store(Ranking(computed_at=1, anchor=None))
    assert await own_cache.get(trending.GENERATION) == newest

    # A ranking `every_s` old is due without any event.
    stale = f"{now_ms() - 301_000}-x"
    await own_cache.set(trending.GENERATION, stale)
    assert await first.refresh() is not None
    # A value of another format is no ranking: the next reader computes one.
    await own_cache.set(trending.KEY, b'{"format": 99}')
    await own_cache.set(trending.GENERATION, stale)
    events.clear()
    assert isinstance(await first.ranking(), Ranking)
    assert events == ["miss", "rebuild"]


async def test_storing_a_ranking_moves_cached_anonymous_answers_on(
    settings: Settings, services: Services
) -> None:
    on = settings.model_copy(update={"response_cache_ttl_s": 30})
    async with running(on) as app, client_of(app) as http:
        api = Api(http, on)
        await trending_settled(services.cache)  # no computation due meanwhile
        body = {"query": "{ trendingBoards(first: 3) { id } }"}
        await http.post("/graphql", json=body)
        assert (await http.post("/graphql", json=body)).headers.get("x-cache") == "hit"
        before = int(await services.cache.get(VERSION) or 0)
        stored = None
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while stored is None:  # the refreshers may hold the lock for a moment
            assert asyncio.get_running_loop().time() < deadline
            stored = await app.state.services.trending.refresh(force=True)
        assert int(await services.cache.get(VERSION) or 0) > before
        assert "x-cache" not in (await http.post("/graphql", json=body)).headers
        assert await api.data(body["query"])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_without_redis_trending_is_computed_in_process_and_kept_a_minute(
    repos: Repositories,
) -> None:
    away = aioredis.Redis(port=closed_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    events: list[str] = []
    cache = trending_over(away, repos, events)
    try:
        ranking = await cache.ranking()
        assert await cache.ranking() is ranking
    finally:
        await away.aclose()
    assert events == ["error", "local", "error"]
    assert ranking.anchor is not None


async def test_the_fields_answer_while_redis_is_away(
    settings: Settings, repos: Repositories, tmp_path: Path
) -> None:
    topic = unique_handle("trend")
    creator = await make_user(repos)
    home = await make_board(repos, creator)
    pin = await make_pin(repos, creator, home, topics=[topic])
    cache_server = RedisProcess(tmp_path)
    cache_server.start()
    own = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{cache_server.port}/0"})
    try:
        async with running(own) as app, client_of(app) as http:
            api = Api(http, own)
            cache_server.stop()
            assert await pin_ids(api, topic) == [pin.id]
            boards: dict[str, Any] = await api.data(BOARDS, {"first": 100})
            assert boards["trendingBoards"]
            newcomer = await make_user(repos)
            await api.data(FEED, token=api.token(newcomer))  # no error
    finally:
        cache_server.stop()
