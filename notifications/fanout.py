"""Topic fan-out: telling a topic's followers about a new pin, a batch at a time.

A topic may have millions of followers, so one new pin becomes a chain of jobs on a stream of
their own (`pg:notify:fanout`, consumer group `notify-fanout`): each job records one batch of
followers, in id order after its cursor, and appends the job for the next batch. Other jobs
and the interaction rules run between batches, so a big fan-out delays nobody else. A job's
id is its (pin, topic, cursor): a batch repeated after a crash is recorded idempotently and
appends a continuation that the consumer then skips as already done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import redis.asyncio as aioredis

from domain.ids import new_id
from events.consumer import Consumer
from graph.repos.notifications import NewNotification, NotificationRepo
from notifications.model import NotificationKind, NotificationSettings

STREAM = "pg:notify:fanout"
GROUP = "notify-fanout"
MAXLEN = 1_000_000  # approximate; a backlog this long would be 500 million notifications
DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class FanoutJob:
    pin: str
    topic: str
    creator: str
    at: int  # when the pin was created
    after: str = ""  # the last follower id done

    @property
    def id(self) -> str:
        return f"{self.pin}:{self.topic}:{self.after}"

    def fields(self) -> dict[str, str]:
        return {"pin": self.pin, "topic": self.topic, "creator": self.creator,
                "at": str(self.at), "after": self.after}  # fmt: skip

    @classmethod
    def from_fields(cls, raw: dict[bytes, bytes]) -> FanoutJob:
        values = {key.decode(): value.decode() for key, value in raw.items()}
        return cls(values["pin"], values["topic"], values["creator"], int(values["at"]),
                   values.get("after", ""))  # fmt: skip


Record = Callable[[list[NewNotification]], Awaitable[None]]


class Fanout:
    def __init__(
        self,
        cache: aioredis.Redis,
        store: NotificationRepo,
        record: Record,
        *,
        batch: int = 500,
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
        followers = await self.store.topic_followers(job.topic, job.after, self.batch, job.creator)
        await self.record(topic_rows(job, followers))
        if len(followers) == self.batch:
            await self.enqueue(replace(job, after=followers[-1][0]))


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
