"""The durable queue of Web Push deliveries, in Redis, with back-off and dead letters.

`<prefix>:queue` is a sorted set of job ids by due time (epoch seconds), `<prefix>:jobs` maps
ids to jobs, and `<prefix>:dead` lists the dead letters, newest first. Claiming a job leases
it: a worker that dies mid-send leaves the job to whoever claims after the lease.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from redis.exceptions import WatchError

from domain.ids import new_id

log = structlog.get_logger(__name__)

MAX_DEAD_LETTERS = 10_000
MAX_ERROR_CHARS = 500
JITTER = 0.1  # up to 10 % added to a back-off, so failed bursts do not retry in lockstep


@dataclass(frozen=True)
class PushJob:
    """One delivery: a notification to one subscription. The subscription is named by its
    `ref` (`notifications/subscriptions.py`) and its push service's `host`, never by its
    endpoint URL, which is a capability. `attempt` counts the sends that failed so far;
    `created_at` is epoch milliseconds."""

    id: str
    recipient: str
    notification_id: str
    subscription: str
    host: str
    attempt: int = 0
    created_at: int = 0

    @classmethod
    def new(cls, recipient: str, notification_id: str, subscription: str, host: str) -> PushJob:
        now = time.time_ns() // 1_000_000
        return cls(new_id(), recipient, notification_id, subscription, host, 0, now)

    def where(self) -> dict[str, str]:
        """What logs and the CLI show of the subscription."""
        return {"host": self.host, "subscription": self.subscription[:12]}

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> PushJob:
        fields = orjson.loads(data)
        return cls(
            id=str(fields["id"]),
            recipient=str(fields["recipient"]),
            notification_id=str(fields["notification_id"]),
            subscription=str(fields["subscription"]),
            host=str(fields["host"]),
            attempt=int(fields.get("attempt", 0)),
            created_at=int(fields.get("created_at", 0)),
        )


# Due ids get a lease: their score moves to now + lease, so a worker that dies mid-send leaves
# them to whoever claims after the lease. A queued id without its job is dropped.
CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  local job = redis.call('HGET', KEYS[2], id)
  if job then
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    out[#out + 1] = id
    out[#out + 1] = job
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""
# Only a job still queued is rescheduled or buried: one finished by another worker (after
# this one's lease ran out) is not brought back.
RESCHEDULE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""
BURY = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return 1
"""


class PushQueue:
    """Durable retry queue in Redis: `<prefix>:queue` (a sorted set of job ids by due time,
    epoch seconds), `<prefix>:jobs` (id -> job JSON) and `<prefix>:dead` (a list of dead
    letters, newest first, at most 10,000).

    Redis errors propagate from every method: the sender's loop waits Redis out. `on_event`
    hears "enqueued" and "requeued" per job; the sender reports what happens on delivery."""

    def __init__(
        self,
        cache: aioredis.Redis,
        *,
        prefix: str = "pg:push",
        tries: int = 6,
        backoff_s: float = 2.0,
        lease_s: float = 60.0,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.cache = cache
        self.prefix = prefix
        self.queue_key = f"{prefix}:queue"
        self.jobs_key = f"{prefix}:jobs"
        self.dead_key = f"{prefix}:dead"
        self.tries = tries
        self.backoff_s = backoff_s
        self.lease_s = lease_s
        self.on_event = on_event or (lambda outcome: None)
        self._claim = cache.register_script(CLAIM)
        self._reschedule = cache.register_script(RESCHEDULE)
        self._bury = cache.register_script(BURY)

    async def enqueue(self, jobs: Sequence[PushJob], now: float | None = None) -> None:
        """Queue jobs, due at once (or at `now`)."""
        if not jobs:
            return
        due = time.time() if now is None else now
        async with self.cache.pipeline(transaction=True) as pipe:
            pipe.hset(self.jobs_key, mapping={job.id: job.to_json() for job in jobs})
            pipe.zadd(self.queue_key, {job.id: due for job in jobs})
            await pipe.execute()
        for _ in jobs:
            self.on_event("enqueued")

    async def first_in(self, notification_ids: list[str], seconds: int) -> set[str]:
        """Those of the notifications not pushed within `seconds`: a burst of actors on one
        notification makes one push, not one per actor (the push reads it when sent)."""
        async with self.cache.pipeline(transaction=False) as pipe:
            for notification_id in notification_ids:
                pipe.set(f"{self.prefix}:recent:{notification_id}", b"1", nx=True, ex=seconds)
            fresh = await pipe.execute()
        return {n for n, new in zip(notification_ids, fresh, strict=True) if new}

    async def claim(self, now: float, limit: int) -> list[PushJob]:
        """Take up to `limit` jobs due by `now`, leasing them until `now + lease_s`."""
        answer: Any = await self._claim(
            keys=[self.queue_key, self.jobs_key], args=[now, limit, now + self.lease_s]
        )
        jobs = []
        for job_id, data in zip(answer[::2], answer[1::2], strict=True):
            try:
                jobs.append(PushJob.from_json(data))
            except (ValueError, KeyError, TypeError):
                log.error("unreadable push job dropped", job=job_id.decode(errors="replace"))
                await self._forget(job_id)
        return jobs

    async def done(self, job: PushJob) -> None:
        await self._forget(job.id)

    async def retry(self, job: PushJob, error: str, now: float | None = None) -> str:
        """Count a failed send: reschedule after `backoff_s * 2**(attempt-1)` (plus a little
        jitter), or bury the job once it has had `tries` sends. Returns "retried" or "dead"."""
        failed = replace(job, attempt=job.attempt + 1)
        if failed.attempt >= self.tries:
            await self.dead(failed, error)
            return "dead"
        delay = self.backoff_s * 2 ** (failed.attempt - 1) * (1 + random.uniform(0, JITTER))
        due = (time.time() if now is None else now) + delay
        await self._reschedule(
            keys=[self.queue_key, self.jobs_key], args=[job.id, failed.to_json(), due]
        )
        return "retried"

    async def dead(self, job: PushJob, error: str) -> None:
        """Move a job to the dead letters now: retrying it would not help. Its `attempt`
        is kept as the caller counts it: the sends made."""
        record = {**asdict(job), "error": error[:MAX_ERROR_CHARS], "at": _now_ms()}
        await self._bury(
            keys=[self.queue_key, self.jobs_key, self.dead_key],
            args=[job.id, orjson.dumps(record), MAX_DEAD_LETTERS],
        )

    async def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest dead letters first: the job's fields, `error` and `at` (epoch ms)."""
        if limit <= 0:
            return []
        raw: Any = await self.cache.lrange(self.dead_key, 0, limit - 1)
        letters = []
        for item in raw:
            try:
                letters.append(dict(orjson.loads(item)))
            except (orjson.JSONDecodeError, TypeError, ValueError):
                continue
        return letters

    async def dead_count(self) -> int:
        count: Any = await self.cache.llen(self.dead_key)
        return int(count)

    async def depth(self) -> int:
        """Jobs queued or in flight."""
        count: Any = await self.cache.zcard(self.queue_key)
        return int(count)

    async def requeue_dead(self, limit: int = 1000) -> int:
        """Put up to `limit` of the oldest dead letters back as fresh jobs (attempts start
        again), due now; returns how many. Atomic: a letter is either still dead or queued."""
        if limit <= 0:
            return 0
        async with self.cache.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.dead_key)
                    records: Any = await pipe.lrange(self.dead_key, -limit, -1)
                    if not records:
                        return 0
                    jobs = [job for job in map(_fresh_job, records) if job is not None]
                    pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    if jobs:
                        pipe.hset(self.jobs_key, mapping={job.id: job.to_json() for job in jobs})
                        pipe.zadd(self.queue_key, {job.id: time.time() for job in jobs})
                    pipe.ltrim(self.dead_key, 0, -len(records) - 1)
                    await pipe.execute()
                except WatchError:
                    continue  # a letter was added or removed meanwhile: read again
                for _ in jobs:
                    self.on_event("requeued")
                return len(jobs)

    async def _forget(self, job_id: str | bytes) -> None:
        async with self.cache.pipeline(transaction=True) as pipe:
            pipe.hdel(self.jobs_key, job_id)
            pipe.zrem(self.queue_key, job_id)
            await pipe.execute()


def _fresh_job(record: bytes) -> PushJob | None:
    try:
        fields = orjson.loads(record)
        return PushJob.new(
            str(fields["recipient"]),
            str(fields["notification_id"]),
            str(fields["subscription"]),
            str(fields["host"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        log.warning("unreadable push dead letter discarded")
        return None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
