"""Reading domain events: one Redis consumer group per consumer, at least once.

Each consumer (walk deltas, feed refresh, ...) has its own group on the event stream, so each
sees every event once per group however many server processes run it; within a group the
processes share the work. An entry is acknowledged, and its event id marked done, only after
its handler finished: an event published twice is handled once, while an entry whose process
died between handling and acknowledging is handled again (handlers are idempotent). Entries a
crashed process had read but not acknowledged are reclaimed with XAUTOCLAIM by whichever
process of the group looks next.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog

from cache.errors import REDIS_ERRORS
from domain.errors import Unavailable
from events.bus import STREAM
from events.model import Event

log = structlog.get_logger(__name__)

DONE_TTL_S = 24 * 3600
HANDLER_TRIES = 3


class Entry(Protocol):
    """What a stream entry parses into: something with an id unique to it."""

    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class Consumer[T: Entry]:
    """A named consumer group and what it does with each entry: a domain event, unless
    `parse` reads the stream's entries as something else (a notification fan-out job)."""

    group: str
    handle: Callable[[T], Awaitable[None]]
    parse: Callable[[dict[bytes, bytes]], T] = Event.from_fields  # type: ignore[assignment]
    # Where a new group starts: "$" (the entries published from now on) for derived state
    # that is rebuilt anyway, "0" for a stream of work that must all be done.
    start: str = "$"
    stream: str = STREAM
    # Entries of a batch handled at once: 1 keeps their order (the walk deltas need it);
    # handlers that only wait on the stores go faster with more.
    concurrency: int = 1


class ConsumerRunner:
    """Runs one consumer in this process: `run()` until cancelled, or `step()` in tests."""

    def __init__(
        self,
        cache: aioredis.Redis,
        consumer: Consumer[Any],
        *,
        name: str | None = None,
        stream: str | None = None,  # the consumer's own by default
        batch: int = 100,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        self.cache = cache
        self.consumer = consumer
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.stream = stream or consumer.stream
        self.batch = batch
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.on_event = on_event or (lambda group, outcome: None)
        self._group_ready = False
        self._group_from = consumer.start

    @property
    def group(self) -> str:
        return self.consumer.group

    async def run(self) -> None:
        """Consume until cancelled. Nothing stops it for good: Redis away, a failover, a
        stream lost with a Redis restart are waited out."""
        while True:
            try:
                await self.step(self.block_ms)
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS as error:
                log.warning("event consumer waits for Redis", group=self.group, error=str(error))
                await asyncio.sleep(1.0)
            except Unavailable as error:
                log.warning("event consumer waits for the graph store", group=self.group,
                            error=str(error))  # fmt: skip
                await asyncio.sleep(1.0)
            except Exception as error:
                if isinstance(error, aioredis.ResponseError) and "NOGROUP" in str(error):
                    # The stream was lost (Redis restarted empty) and has started again: its
                    # first entries, an EventsLost marker among them, are for us too.
                    self._group_ready, self._group_from = False, "0"
                    continue
                log.exception("event consumer failed; retrying", group=self.group)
                self.on_event(self.group, "error")
                await asyncio.sleep(1.0)

    async def leave(self) -> None:
        """On a clean shutdown: drop this consumer's name from the group, or, when it stopped
        in the middle of a batch, hand its pending entries over: they are marked idle for as
        long as reclaiming waits, so another process of the group takes them at its next
        step instead of 30 s later."""
        try:
            pending: Any = await self.cache.xpending_range(
                self.stream, self.group, min="-", max="+", count=self.batch,
                consumername=self.name,
            )  # fmt: skip
            if not pending:
                await self.cache.xgroup_delconsumer(self.stream, self.group, self.name)
                return
            await self.cache.xclaim(
                self.stream, self.group, self.name, min_idle_time=0,
                message_ids=[entry["message_id"] for entry in pending],
                idle=self.claim_idle_ms, justid=True,
            )  # fmt: skip
        except (*REDIS_ERRORS, aioredis.ResponseError):
            pass  # the group or Redis is gone: nothing to tidy

    async def step(self, block_ms: int | None = None) -> int:
        """Handle one batch: reclaimed entries of crashed consumers first, then new ones.
        Returns how many entries were handled."""
        await self._ensure_group()
        entries = await self._reclaim()
        if not entries:
            answer: Any = await self.cache.xreadgroup(
                self.group, self.name, {self.stream: ">"}, count=self.batch, block=block_ms or None
            )
            entries = [entry for _, items in answer or [] for entry in items]
        width = self.consumer.concurrency
        for at in range(0, len(entries), width):
            await asyncio.gather(*(self._handle(entry_id, fields)
                                   for entry_id, fields in entries[at : at + width]))  # fmt: skip
        return len(entries)

    async def read_only(self, count: int) -> list[str]:
        """Read entries without handling or acknowledging them, as a consumer that crashes
        right after reading would (for tests of reclaiming)."""
        await self._ensure_group()
        answer: Any = await self.cache.xreadgroup(
            self.group, self.name, {self.stream: ">"}, count=count
        )
        return [entry_id.decode() for _, items in answer or [] for entry_id, _ in items]

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.cache.xgroup_create(
                self.stream, self.group, id=self._group_from, mkstream=True
            )
        except aioredis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    async def _reclaim(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        answer: Any = await self.cache.xautoclaim(
            self.stream, self.group, self.name, min_idle_time=self.claim_idle_ms,
            start_id="0-0", count=self.batch,
        )  # fmt: skip
        claimed = [(entry_id, fields) for entry_id, fields in answer[1] if fields]
        for entry_id in answer[2] if len(answer) > 2 else []:  # trimmed away while pending
            await self.cache.xack(self.stream, self.group, entry_id)
        if claimed:
            self.on_event(self.group, "reclaimed")
        return claimed

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            event = self.consumer.parse(fields)
        except (KeyError, ValueError, UnicodeDecodeError):
            log.error("unreadable event skipped", group=self.group, entry=entry_id)
            await self.cache.xack(self.stream, self.group, entry_id)
            return
        done = f"pg:events:done:{self.group}:{event.id}"
        if await self.cache.exists(done):
            await self.cache.xack(self.stream, self.group, entry_id)
            return
        outcome = "handled"
        for attempt in range(1, HANDLER_TRIES + 1):
            try:
                await self.consumer.handle(event)
                break
            except (asyncio.CancelledError, Unavailable, *REDIS_ERRORS):
                raise  # not acknowledged: handled again once the stores answer
            except Exception:
                log.exception("event handler failed", group=self.group, entry=repr(event),
                              attempt=attempt)  # fmt: skip
                if attempt == HANDLER_TRIES:
                    outcome = "failed"  # given up on: a bug or bad data, not a Redis outage
                else:
                    await asyncio.sleep(0.1 * attempt)
        async with self.cache.pipeline(transaction=True) as pipe:
            pipe.set(done, b"1", ex=DONE_TTL_S)
            pipe.xack(self.stream, self.group, entry_id)
            await pipe.execute()
        self.on_event(self.group, outcome)
