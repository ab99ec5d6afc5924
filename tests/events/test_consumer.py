"""Consumer groups over the real event stream: at least once, once per event id, and what a
crashed consumer had read is reclaimed by the next one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from events.bus import EventBus
from events.consumer import HANDLER_TRIES, Consumer, ConsumerRunner
from events.model import Event, EventType
from server.services import Services


def group_name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def stream() -> str:
    """A stream of the test's own: the server's consumers never see these events."""
    return f"test:events:{uuid.uuid4().hex[:8]}"


async def drain(runner: ConsumerRunner) -> None:
    while await runner.step(block_ms=0):
        pass


def recording[T](what: Callable[[Event], T]) -> tuple[list[T], Consumer[Event]]:
    """A consumer of a group of its own that records `what` of each event it handles."""
    seen: list[T] = []

    async def handle(event: Event) -> None:
        seen.append(what(event))

    return seen, Consumer(group_name(), handle)


async def test_killing_a_consumer_mid_batch_loses_nothing(services: Services, stream: str) -> None:
    handled, consumer = recording(lambda event: event.id)
    crashed = ConsumerRunner(services.cache, consumer, stream=stream, name="crashed", batch=10)
    await crashed.step(block_ms=0)  # the group starts here
    bus = EventBus(services.cache, stream=stream)
    published = [Event(EventType.PIN_SAVED, actor="u", pin=f"p{i}", board="b") for i in range(6)]
    for event in published:
        await bus.publish(event)
    taken = await crashed.read_only(4)  # read, then died before handling or acknowledging
    assert len(taken) == 4
    survivor = ConsumerRunner(
        services.cache, consumer, stream=stream, name="survivor", claim_idle_ms=50
    )
    await drain(survivor)  # the two it reads itself; the crashed one's are not idle long yet
    assert sorted(handled) == sorted(e.id for e in published[4:])
    await asyncio.sleep(0.1)
    await drain(survivor)
    assert sorted(handled) == sorted(e.id for e in published)  # all six, each once
    pending = await services.cache.xpending(stream, consumer.group)
    assert pending["pending"] == 0


async def test_a_consumer_that_stops_mid_batch_hands_its_entries_over_at_once(
    services: Services, stream: str
) -> None:
    handled, consumer = recording(lambda event: event.id)
    stopping = ConsumerRunner(services.cache, consumer, stream=stream, name="stopping")
    await stopping.step(block_ms=0)  # the group starts here
    bus = EventBus(services.cache, stream=stream)
    published = [Event(EventType.PIN_SAVED, actor="u", pin=f"p{i}", board="b") for i in range(3)]
    for event in published:
        await bus.publish(event)
    assert len(await stopping.read_only(3)) == 3  # in flight when its server shut down
    await stopping.leave()
    other = ConsumerRunner(services.cache, consumer, stream=stream, name="other")  # 30 s wait
    await drain(other)
    assert sorted(handled) == sorted(e.id for e in published)  # at once, not 30 s later
    idle = ConsumerRunner(services.cache, consumer, stream=stream, name="idle")
    await idle.step(block_ms=0)
    await idle.leave()
    consumers = await services.cache.xinfo_consumers(stream, consumer.group)
    names = {bytes(c["name"]).decode() for c in consumers}
    assert "idle" not in names  # nothing was pending: its name is gone
    assert "other" in names


async def test_an_event_delivered_twice_is_handled_once(services: Services, stream: str) -> None:
    handled, consumer = recording(lambda event: event.id)
    runner = ConsumerRunner(services.cache, consumer, stream=stream)
    await runner.step(block_ms=0)
    bus = EventBus(services.cache, stream=stream)
    twice = Event(EventType.BOARD_UPDATED, actor="u", board="b")
    await bus.publish(twice)
    await bus.publish(twice)  # as a publisher retrying after a lost answer would
    await drain(runner)
    assert handled == [twice.id]


async def test_a_failing_handler_is_retried_then_given_up(services: Services, stream: str) -> None:
    calls: list[str] = []

    async def handle(event: Event) -> None:
        calls.append(event.pin)
        if event.pin == "bad":
            raise ValueError("a bug")

    consumer = Consumer(group_name(), handle)
    outcomes: list[str] = []
    runner = ConsumerRunner(
        services.cache,
        consumer,
        stream=stream,
        on_event=lambda group, outcome: outcomes.append(outcome),
    )
    await runner.step(block_ms=0)
    bus = EventBus(services.cache, stream=stream)
    await bus.publish(Event(EventType.PIN_SAVED, pin="bad", board="b"))
    await bus.publish(Event(EventType.PIN_SAVED, pin="good", board="b"))
    await drain(runner)
    assert calls == ["bad"] * HANDLER_TRIES + ["good"]
    assert outcomes == ["failed", "handled"]


async def test_lost_events_are_announced_when_redis_answers_again(
    services: Services, stream: str
) -> None:

    seen, consumer = recording(lambda event: event.type)
    runner = ConsumerRunner(services.cache, consumer, stream=stream)
    await runner.step(block_ms=0)
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    outcomes: list[str] = []
    bus = EventBus(dead, stream=stream, on_event=outcomes.append)
    await bus.publish(Event(EventType.PIN_SAVED, pin="p", board="b"))  # lost: Redis away
    assert outcomes == ["lost"]
    bus.cache = services.cache
    await bus.publish(Event(EventType.PIN_UNSAVED, pin="p", board="b"))
    await drain(runner)
    assert seen == [EventType.EVENTS_LOST, EventType.PIN_UNSAVED]
    await dead.aclose()


@pytest.mark.parametrize("broken", [b"", b"\xff\xfe"])
async def test_an_unreadable_entry_is_skipped(
    services: Services, stream: str, broken: bytes
) -> None:
    handled, consumer = recording(lambda event: event.pin)
    runner = ConsumerRunner(services.cache, consumer, stream=stream)
    await runner.step(block_ms=0)
    await services.cache.xadd(stream, {"type": broken or b"NoSuchType"})
    await EventBus(services.cache, stream=stream).publish(
        Event(EventType.PIN_SAVED, pin="after", board="b")
    )
    await drain(runner)
    assert handled == ["after"]


async def test_a_stream_lost_with_redis_is_followed_again_from_its_start(
    services: Services, stream: str
) -> None:
    """Redis restarted empty: the next publish starts the stream again with an EventsLost
    marker first, and the consumer, finding its group gone, reads that new stream whole."""
    seen, consumer = recording(lambda event: event.type)
    runner = ConsumerRunner(services.cache, consumer, stream=stream, block_ms=50)
    await runner.step(block_ms=0)  # the group starts here
    task = asyncio.create_task(runner.run())
    try:
        bus = EventBus(services.cache, stream=stream)
        await bus.publish(Event(EventType.PIN_SAVED, pin="p", board="b"))
        await _until(lambda: len(seen) == 1)
        await services.cache.delete(stream)  # what a restart of the embedded cache does
        bus._lost = True  # the write that failed meanwhile
        await bus.publish(Event(EventType.PIN_UNSAVED, pin="p", board="b"))
        await _until(lambda: len(seen) == 3)
        assert seen == [EventType.PIN_SAVED, EventType.EVENTS_LOST, EventType.PIN_UNSAVED]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _until(condition: Callable[[], bool]) -> None:
    give_up = asyncio.get_running_loop().time() + 20
    while not condition():
        assert asyncio.get_running_loop().time() < give_up, "the consumer never got there"
        await asyncio.sleep(0.02)
