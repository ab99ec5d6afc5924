"""Topic fan-out: telling a topic's followers about a new pin, a batch at a time.

A topic may have millions of followers, so one new pin becomes a chain of jobs on a stream of
their own (`pg:notify:fanout`, consumer group `notify-fanout`). The first job reads the
topic's followers once and keeps their ids in a Redis list; each later job records one batch
of them, from its cursor (an offset into that list), and appends the job for the next batch.
Other jobs and the interaction rules run between batches, and a batch waits (two seconds at
most) while the interaction rules' group has events to handle, so a big fan-out delays
nobody's "someone saved your pin". A job's id is its (pin, topic, cursor): a batch repeated
after a crash is recorded idempotently, and the continuation it appends again is skipped as
already done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import redis.asyncio as aioredis
import structlog

from domain.ids import new_id
from events.bus import STREAM as EVENTS
from events.consumer import Consumer
from graph.repos.notifications import NewNotification, NotificationRepo
from notifications.model import NotificationKind, NotificationSettings

log = structlog.get_logger(__name__)

STREAM = "pg:notify:fanout"
GROUP = "notify-fanout"
INTERACTIONS = b"notifications"  # the rules' consumer group on the event stream
MAXLEN = 1_000_000  # approximate; a backlog this long would be 500 million notifications
DAY_MS = 24 * 3600 * 1000
FOLLOWERS_TTL_S = 24 * 3600  # a fan-out's follower list, should its chain be stuck that long
CHUNK = 10_000  # follower ids per RPUSH
YIELD_S = 2.0  # longest a batch waits for the interaction rules to catch up
SNAPSHOT = -1  # the cursor of the job that reads the followers


@dataclass(frozen=True)
class FanoutJob:
    pin: str
    topic: str
    creator: str
    at: int  # when the pin was created
    start: int = SNAPSHOT  # the offset of this job's batch in the follower list

    @property
    def id(self) -> str:
        return f"{self.pin}:{self.topic}:{self.start}"

    def fields(self) -> dict[str, str]:
        return {"pin": self.pin, "topic": self.topic, "creator": self.creator,
                "at": str(self.at), "start": str(self.start)}  # fmt: skip

    @classmethod
    def from_fields(cls, raw: dict[bytes, bytes]) -> FanoutJob:
        values = {key.decode(): value.decode() for key, value in raw.items()}
        return cls(values["pin"], values["topic"], values["creator"], int(values["at"]),
                   int(values.get("start", SNAPSHOT)))  # fmt: skip


Record = Callable[[list[NewNotification]], Awaitable[None]]


class Fanout:
    def __init__(
        self,
        cache: aioredis.Redis,
        store: NotificationRepo,
        record: Record,
        *,
        batch: int = 250,
        stream: str = STREAM,
    ) -> None:
        self.cache = cache
        self.store = store
        self.record = record
        self.batch = batch
        self.stream = stream

    def consumer(self) -> Consumer[FanoutJob]:
        return Consumer(GROUP, self.handle, FanoutJob.from_fields, start="0", stream=self.stream)

    async def enqueue(self, job: FanoutJob) -> None:
        await self.cache.xadd(self.stream, job.fields(), maxlen=MAXLEN, approximate=True)  # type: ignore[arg-type]

    async def handle(self, job: FanoutJob) -> None:
        followers = f"{self.stream}:followers:{job.pin}:{job.topic}"
        if job.start == SNAPSHOT:
            await self._snapshot(job, followers)
            await self.enqueue(replace(job, start=0))
            return
        await self._after_interactions()
        raw: list[bytes] = await self.cache.lrange(  # type: ignore[assignment]
            followers, job.start, job.start + self.batch - 1
        )
        ids = [item.decode() for item in raw]
        settings = await self.store.settings_of(ids)
        await self.record(topic_rows(job, [(i, settings[i]) for i in ids if i in settings]))
        if len(ids) == self.batch:
            await self.enqueue(replace(job, start=job.start + self.batch))
        else:
            await self.cache.delete(followers)

    async def _after_interactions(self) -> None:
        """Give way while the `notifications` group (in any process) has events pending or
        unread: they share the graph's single writer with the fan-out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + YIELD_S
        while loop.time() < deadline:
            try:
                groups: Any = await self.cache.xinfo_groups(EVENTS)
            except aioredis.ResponseError:
                return  # no event stream yet
            if not any(g["name"] == INTERACTIONS and (int(g["pending"]) or g.get("lag"))
                       for g in groups):  # fmt: skip
                return
            await asyncio.sleep(0.02)

    async def _snapshot(self, job: FanoutJob, followers: str) -> None:
        """Keep the topic's followers in `followers`, unless a run that crashed after
        keeping them did already: the cursors of its later jobs point into that list."""
        if await self.cache.exists(followers):
            return
        ids = await self.store.topic_follower_ids(job.topic, job.creator)
        building = f"{followers}:building"
        async with self.cache.pipeline(transaction=True) as pipe:
            pipe.delete(building)
            for at in range(0, len(ids), CHUNK):
                pipe.rpush(building, *ids[at : at + CHUNK])
            if ids:
                pipe.expire(building, FOLLOWERS_TTL_S)
                pipe.rename(building, followers)
            await pipe.execute()
        log.info("topic fan-out started", topic=job.topic, followers=len(ids))


def topic_rows(
    job: FanoutJob, followers: list[tuple[str, NotificationSettings]]
) -> list[NewNotification]:
    """The notifications one batch makes: one per pin, or one a day per topic for those who
    chose the digest; none for those who muted the kind."""
    rows = []
    for follower, settings in followers:
        if NotificationKind.NEW_PIN_IN_TOPIC in settings.muted:
            continue
        if settings.topic_digest:
            key = f"{follower}:NEW_PIN_IN_TOPIC:topic:{job.topic}:{job.at // DAY_MS}"
        else:
            key = f"{follower}:NEW_PIN_IN_TOPIC:{job.pin}"
        rows.append(
            NewNotification(
                key=key, id=new_id(), recipient=follower,
                kind=NotificationKind.NEW_PIN_IN_TOPIC.value, actor=job.creator, at=job.at,
                pin=job.pin, topic=job.topic, digest=settings.topic_digest,
            )
        )  # fmt: skip
    return rows
