"""Live delivery: a new notification reaches its recipient's open subscriptions, whichever
server process or replica they are connected to.

The process that records a notification publishes (recipient, id) on one Redis pub/sub
channel; every process reads that channel over a single connection and hands the id to its
own subscribers for that recipient. Each subscriber has a bounded queue: one that falls
behind is dropped (its subscription ends with an error saying to reconnect and catch up from
the inbox) instead of growing the process's memory. Pub/sub is fire and forget: what a
subscriber misses while disconnected is in the inbox.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
import structlog

from cache.errors import REDIS_ERRORS
from domain.errors import DomainError, RateLimited

log = structlog.get_logger(__name__)

CHANNEL = "pg:notify:live"
QUEUE_SIZE = 64
MAX_PER_USER = 20  # open subscriptions of one user in one process


class FellBehind(DomainError):
    code = "FELL_BEHIND"
    http_status = 409


class Subscriber:
    def __init__(self, recipient: str, size: int) -> None:
        self.recipient = recipient
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(size)
        # Ids waiting in the queue: a burst of actors on one notification is one message.
        self.waiting: set[str] = set()

    async def next_id(self) -> str:
        """The next notification id; FellBehind once this subscriber has been dropped."""
        item = await self.queue.get()
        self.waiting.discard(item or "")
        if item is None:
            raise FellBehind(
                "this subscription fell too far behind and was closed: subscribe again and "
                "catch up from `me { notifications }`"
            )
        return item

    def drop(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class LiveHub:
    def __init__(
        self,
        cache: aioredis.Redis,
        *,
        channel: str = CHANNEL,
        queue_size: int = QUEUE_SIZE,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.cache = cache
        self.channel = channel
        self.queue_size = queue_size
        self.on_event = on_event or (lambda outcome: None)
        self.subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self.listening = asyncio.Event()

    @property
    def count(self) -> int:
        return sum(len(subs) for subs in self.subscribers.values())

    async def publish(self, recipient: str, notification_id: str) -> None:
        await self.publish_many([(recipient, notification_id)])

    async def publish_many(self, told: list[tuple[str, str]]) -> None:
        """Tell every process, in one round trip; never raises (the inbox has them)."""
        try:
            async with self.cache.pipeline(transaction=False) as pipe:
                for recipient, notification_id in told:
                    pipe.publish(self.channel, f"{recipient} {notification_id}")
                await pipe.execute()
        except REDIS_ERRORS as error:
            self.on_event("publish_error")
            log.warning("live notification not published: Redis does not answer",
                        error=str(error))  # fmt: skip

    @asynccontextmanager
    async def subscribe(self, recipient: str) -> AsyncIterator[Subscriber]:
        mine = self.subscribers[recipient]
        if len(mine) >= MAX_PER_USER:
            raise RateLimited(
                f"at most {MAX_PER_USER} open notification subscriptions per user", retry_after=60
            )
        subscriber = Subscriber(recipient, self.queue_size)
        mine.add(subscriber)
        try:
            yield subscriber
        finally:
            self._forget(subscriber)

    def dispatch(self, recipient: str, notification_id: str) -> None:
        for subscriber in list(self.subscribers.get(recipient, ())):
            if notification_id in subscriber.waiting:
                continue  # it will be read as it is then, new actors and all
            try:
                subscriber.queue.put_nowait(notification_id)
                subscriber.waiting.add(notification_id)
                self.on_event("delivered")
            except asyncio.QueueFull:
                log.info("slow notification subscriber dropped", recipient=recipient)
                self.on_event("dropped")
                self._forget(subscriber)
                subscriber.drop()

    def _forget(self, subscriber: Subscriber) -> None:
        mine = self.subscribers.get(subscriber.recipient)
        if mine is not None:
            mine.discard(subscriber)
            if not mine:
                del self.subscribers[subscriber.recipient]

    async def run(self) -> None:
        """Read the channel until cancelled, reconnecting whenever Redis goes away."""
        while True:
            pubsub = self.cache.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.listening.set()
                while True:
                    message: Any = await pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        recipient, _, notification_id = message["data"].decode().partition(" ")
                        self.dispatch(recipient, notification_id)
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS as error:
                self.listening.clear()
                log.warning("live notifications wait for Redis", error=str(error))
                await asyncio.sleep(1.0)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
