"""The log of live walk-graph changes: a Redis Stream every API process writes and reads.

Writers append after their graph write has committed, so a snapshot that records the
stream's last id before exporting holds every change up to that id; replaying later
entries is harmless because applying a delta twice changes nothing.

The stream is a cache, like the rest of Redis here: it can be evicted, trimmed or lost in
a restart, and a write can fail while Redis is down. Each of those is noticed and answered
by a rebuild from the graph store, the source of truth:
- a stream is always created with a `genesis` entry first (atomically, in a script), so a
  reader that followed an older stream sees that it started again;
- a writer that could not append remembers it and writes a `resync` entry next time;
- a reader whose next entry was trimmed away sees it in `XINFO STREAM`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog

from walks.overlay import Delta

log = structlog.get_logger(__name__)

STREAM = "pg:walks:deltas"
MAXLEN = 1_000_000  # approximate; a reader this far behind rebuilds instead
GENESIS, RESYNC = "genesis", "resync"
START = "0-0"

APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'op', 'genesis')
end
if ARGV[2] == '1' then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'op', 'resync')
end
if ARGV[3] == '' then return '' end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                  'op', ARGV[3], 'pin', ARGV[4], 'board', ARGV[5])
"""


def stream_id(value: str | bytes) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class StreamState:
    last_id: str  # START when there is no stream
    lag_s: float  # how far the newest entry is ahead of the reader's position
    lost: bool  # entries after the reader's position are gone


class DeltaLog:
    def __init__(
        self,
        cache: aioredis.Redis,
        *,
        maxlen: int = MAXLEN,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.cache = cache
        self.maxlen = maxlen
        self.on_event = on_event or (lambda event: None)
        self._append = cache.register_script(APPEND)
        self._missed = False

    async def append(self, delta: Delta) -> None:
        """Log one change. Never raises: when Redis does not answer, the change is lost
        and the next append that succeeds asks every reader to rebuild."""
        await self._log([self.maxlen, int(self._missed), delta.op, delta.pin, delta.board])

    async def resync(self) -> None:
        """Ask every reader to rebuild from the graph store (changes were lost upstream)."""
        await self._log([self.maxlen, 1, "", "", ""])

    async def _log(self, args: list[str | int]) -> None:
        try:
            await self._append(keys=[STREAM], args=args)
        except (aioredis.RedisError, OSError) as error:  # never fail the write itself
            if not self._missed:
                log.warning("walk delta not logged; readers rebuild when Redis answers",
                            error=str(error))  # fmt: skip
            self._missed = True
            self.on_event("error")
            return
        self._missed = False

    async def read(
        self, after: str, *, count: int = 10_000, block_ms: int | None = None
    ) -> list[tuple[str, Delta]]:
        """Entries after `after`, oldest first (waiting up to `block_ms` for one)."""
        # BLOCK 0 would wait forever: 0 and None both mean "do not wait".
        answer: Any = await self.cache.xread({STREAM: after}, count=count, block=block_ms or None)
        entries = []
        for _, items in answer:
            for entry_id, fields in items:
                op = fields.get(b"op", b"").decode()
                pin = fields.get(b"pin", b"").decode()
                board = fields.get(b"board", b"").decode()
                entries.append((entry_id.decode(), Delta(op, pin, board)))
        return entries

    async def state(self, after: str) -> StreamState:
        """Where the stream is, seen from a reader at `after`.

        Trimming is detected by the first entry: when entries were trimmed and the first
        one left is beyond the reader, what came between is gone. (If the reader had read
        exactly up to the last trimmed entry this rebuilds once for nothing.)
        """
        try:
            info = await self.cache.xinfo_stream(STREAM)
        except aioredis.ResponseError:  # no such key
            return StreamState(START, 0.0, lost=after != START)
        last = info["last-generated-id"].decode()
        first = info.get("first-entry")
        trimmed = int(info["entries-added"]) > int(info["length"])
        lost = trimmed and first is not None and stream_id(first[0]) > stream_id(after)
        lag_ms = max(0, stream_id(last)[0] - stream_id(after)[0]) if after != START else 0
        return StreamState(last, lag_ms / 1000, lost)

    async def position(self) -> str:
        """The id of the newest entry: a snapshot exported now includes everything up to
        it. START when there is no stream yet."""
        return (await self.state(START)).last_id
