"""Publishing domain events: the effects a writer's next read needs, then the stream.

Every repository write publishes one event after its transaction commits. The bus first runs
its inline effects (board-page versions, the anonymous answer cache), so the writer's own next
read, on any connection, sees the write. Then it appends the event to a Redis Stream that the
consumers (walk deltas, feed refresh, ...) read through their own consumer groups.

Redis being away never fails a write: the event is lost and counted, and the next event that
reaches the stream is preceded by an `EventsLost` marker so that consumers rebuild what they
derive from the stream (docs/operations.md says what that is).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import redis.asyncio as aioredis
import structlog

from cache.errors import REDIS_ERRORS
from events.model import Event, EventType

log = structlog.get_logger(__name__)

STREAM = "pg:events"
MAXLEN = 1_000_000  # approximate: about a day of writes at ten a second, kept for replays

Effect = Callable[[Event], Awaitable[None]]


class EventSink(Protocol):
    async def publish(self, event: Event) -> None: ...


class EventBus:
    def __init__(
        self,
        cache: aioredis.Redis,
        *,
        inline: Sequence[Effect] = (),
        stream: str = STREAM,
        maxlen: int = MAXLEN,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.cache = cache
        self.inline = tuple(inline)
        self.stream = stream
        self.maxlen = maxlen
        self.on_event = on_event or (lambda outcome: None)
        self._lost = False

    async def publish(self, event: Event) -> None:
        """Never raises: the write this event reports has already committed."""
        for effect in self.inline:
            try:
                await effect(event)
            except Exception:  # a bug in an effect must not turn a committed write into an error
                log.exception(
                    "inline event effect failed", event_type=event.type, effect=repr(effect)
                )
                self.on_event("effect_error")
        try:
            async with self.cache.pipeline(transaction=True) as pipe:
                if self._lost:
                    pipe.xadd(self.stream, Event(EventType.EVENTS_LOST).fields(),  # type: ignore[arg-type]
                              maxlen=self.maxlen, approximate=True)  # fmt: skip
                pipe.xadd(self.stream, event.fields(), maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
                await pipe.execute()
        except REDIS_ERRORS as error:
            if not self._lost:
                log.warning("domain event lost: Redis does not answer", event_type=event.type,
                            error=str(error))  # fmt: skip
            self._lost = True
            self.on_event("lost")
            return
        self._lost = False
        self.on_event("published")


class DiscardEvents:
    """For benchmarks that time one layer alone (`bench/graph_layer.py`,
    `bench/media_upload.py`): no stream, no consumers."""

    async def publish(self, event: Event) -> None:
        return None
